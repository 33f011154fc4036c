"""agentkit-openai: OpenAI Chat Completions and every OpenAI-compatible server, as agentkit providers.

``Agent("openai/gpt-4o-mini")`` reads ``OPENAI_API_KEY``; ``Agent("groq/...")``,
``Agent("lmstudio/...")`` and the other :data:`PROFILES` are the same provider with another
base URL and key variable. Names are imported on first access, so importing this package
costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "OpenAIProvider": "agentkit_openai.provider",
    "PROFILES": "agentkit_openai.profiles",
    "Profile": "agentkit_openai.profiles",
    "StreamAssembler": "agentkit_openai.streaming",
    "WireOptions": "agentkit_openai.wire",
    "factory_for": "agentkit_openai.profiles",
    "is_strict_compatible": "agentkit_openai.wire",
}

__all__ = [
    "PROFILES",
    "OpenAIProvider",
    "Profile",
    "StreamAssembler",
    "WireOptions",
    "factory_for",
    "is_strict_compatible",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from .profiles import PROFILES, Profile, factory_for
    from .provider import OpenAIProvider
    from .streaming import StreamAssembler
    from .wire import WireOptions, is_strict_compatible
