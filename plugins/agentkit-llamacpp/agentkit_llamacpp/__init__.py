"""agentkit-llamacpp: run GGUF models in-process through llama-cpp-python.

``Agent("llamacpp/smollm2")`` answers with no API key, no server and no network.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ALIASES", "LlamaCppProvider", "resolve_model_path"]


def __getattr__(name: str) -> Any:
    if name == "LlamaCppProvider":
        from .provider import LlamaCppProvider

        return LlamaCppProvider
    if name in ("ALIASES", "resolve_model_path"):
        from . import models

        return getattr(models, name)
    raise AttributeError(name)
