"""agentkit-ollama's hook implementations. The provider code is imported on first use."""

from __future__ import annotations

from typing import Any

import agentkit

__all__ = ["register_providers"]


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    registry.add(
        "ollama",
        _factory,
        description="local models through Ollama's native API (OLLAMA_HOST, default http://localhost:11434)",
        base_url="http://localhost:11434",
    )


def _factory(**settings: Any) -> Any:
    from .provider import OllamaProvider

    return OllamaProvider(**settings)
