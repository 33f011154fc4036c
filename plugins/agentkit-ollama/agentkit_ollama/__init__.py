"""agentkit-ollama: local models through Ollama's native HTTP API.

``Agent("ollama/qwen3:8b")`` talks to the Ollama server at ``OLLAMA_HOST`` (default
``http://localhost:11434``). Names are imported on first access, so loading the plugin
costs nothing until a provider is built.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "DEFAULT_HOST": "agentkit_ollama.host",
    "OllamaProvider": "agentkit_ollama.provider",
    "OllamaResponseInfo": "agentkit_ollama.wire",
    "resolve_host": "agentkit_ollama.host",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
