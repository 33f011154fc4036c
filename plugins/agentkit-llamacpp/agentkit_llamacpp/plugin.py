"""agentkit-llamacpp's hook implementations (the heavy code loads on first use)."""

from __future__ import annotations

from typing import Any

import agentkit


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    registry.add(
        "llamacpp",
        _factory,
        description="GGUF models in-process via llama-cpp-python (aliases: smollm2, gemma3-270m, or a .gguf path)",
        options="agentkit_llamacpp.provider:LlamaCppProvider",  # its settings get a "did you mean"
    )


def _factory(**settings: Any) -> Any:
    from .provider import LlamaCppProvider

    return LlamaCppProvider(**settings)
