"""agentkit-llamacpp: run GGUF models in-process through llama-cpp-python.

``Agent("llamacpp/smollm2")`` answers with no API key, no server and no network.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ALIASES": "agentkit_llamacpp.models",
    "LlamaCppProvider": "agentkit_llamacpp.provider",
    "resolve_model_path": "agentkit_llamacpp.models",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
