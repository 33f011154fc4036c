"""agentkit-web: web_fetch (SSRF-safe) and web_search (SearXNG or any registered backend).

::

    from agentkit_web import web_tools
    agent = Agent("openai/gpt-4o-mini", tools=web_tools(searxng_url="http://localhost:8888"))

By name: ``tools=["web"]`` (or ``"web_fetch"``, ``"web_search"``); settings go in
``tool_settings={"web": {...}}``. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SearchBackend": "agentkit_web.search",
    "SearchBackendRegistrar": "agentkit_web.search",
    "SearchResult": "agentkit_web.search",
    "SearxngBackend": "agentkit_web.search",
    "WebSettings": "agentkit_web.settings",
    "check_address": "agentkit_web.addresses",
    "search_backends": "agentkit_web.search",
    "web_tools": "agentkit_web.toolset",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from .addresses import check_address  # noqa: F401
    from .search import (  # noqa: F401
        SearchBackend,
        SearchBackendRegistrar,
        SearchResult,
        SearxngBackend,
        search_backends,
    )
    from .settings import WebSettings  # noqa: F401
    from .toolset import web_tools  # noqa: F401
