"""agentkit-anthropic's hook implementations: the ``anthropic`` provider and Claude's token counter.

Registering imports nothing heavy; httpx and the provider load when the factory is called.
``anthropic`` is also a fallback name of agentkit-openai (its OpenAI-compatible profile,
``anthropic-openai``): a fallback gives way to this registration, whatever the load order.
"""

from __future__ import annotations

from typing import Any

import agentkit

__all__ = ["register_providers", "register_token_counters"]


def anthropic_provider(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> Any:
    """Build the ``anthropic`` provider (the Messages API)."""
    from .provider import AnthropicProvider

    return AnthropicProvider(base_url=base_url, api_key=api_key, **settings)


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    registry.add(
        "anthropic",
        anthropic_provider,
        description="Anthropic Claude through the native Messages API (thinking, prompt caching, cache usage)",
        env_var="ANTHROPIC_API_KEY",
        base_url="https://api.anthropic.com",
    )


@agentkit.hookimpl
def register_token_counters(registry: Any) -> None:
    from .tokens import AnthropicTokenCounter

    registry.add(
        "anthropic",
        AnthropicTokenCounter(),
        models="anthropic/*|claude-*",
        description="Claude: an offline estimate, or the count_tokens endpoint when AGENTKIT_ANTHROPIC_COUNT_TOKENS is set",
    )
