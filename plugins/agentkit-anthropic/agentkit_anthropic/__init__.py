"""agentkit-anthropic: Claude through Anthropic's native Messages API, as the ``anthropic`` provider.

``Agent("anthropic/claude-sonnet-4-5")`` reads ``ANTHROPIC_API_KEY``. Extended thinking (its
blocks and signatures kept in the history), prompt caching on by default, cache usage and
costs, tools, images, streaming. Names are imported on first access, so importing this
package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AnthropicProvider": "agentkit_anthropic.provider",
    "AnthropicTokenCounter": "agentkit_anthropic.tokens",
    "DEFAULT_MAX_TOKENS": "agentkit_anthropic.wire",
    "StreamAssembler": "agentkit_anthropic.streaming",
    "WireOptions": "agentkit_anthropic.wire",
}

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicProvider",
    "AnthropicTokenCounter",
    "StreamAssembler",
    "WireOptions",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from .provider import AnthropicProvider
    from .streaming import StreamAssembler
    from .tokens import AnthropicTokenCounter
    from .wire import DEFAULT_MAX_TOKENS, WireOptions
