"""web_search's backends: the interface, SearXNG, and the registry plugins fill.

A backend is a :class:`SearchBackend`; plugins register factories through the
``register_search_backends`` hook (:mod:`agentkit_web.hookspecs`). The registry is built
once per plugin host, the first time web_search needs it; the first registration of a name
wins and a clash is reported as a :class:`~agentkit.PluginWarning`, as in the core registries.
"""

from __future__ import annotations

import abc
import os
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from agentkit.errors import PluginError, ToolError, snippet
from agentkit.registry import PluginWarning

if TYPE_CHECKING:
    from agentkit.plugins import PluginHost

__all__ = [
    "SearchBackend",
    "SearchBackendEntry",
    "SearchBackendRegistrar",
    "SearchResult",
    "SearxngBackend",
    "format_results",
    "search_backends",
]


@attrs.frozen
class SearchResult:
    """One hit: title, URL and a short snippet."""

    title: str
    url: str
    snippet: str = ""


class SearchBackend(abc.ABC):
    """Something that answers a query with results. Raise ToolError with a readable message."""

    name: str = "search"

    @abc.abstractmethod
    async def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        """At most ``max_results`` results for ``query``, best first."""

    async def aclose(self) -> None:
        """Release resources (called when the tool's backend is dropped; optional)."""


class SearxngBackend(SearchBackend):
    """SearXNG's JSON API (``GET {url}/search?q=...&format=json``).

    The instance is the operator's choice, so its URL is not subject to web_fetch's address
    checks; it is often on localhost. The JSON format must be enabled in SearXNG's
    ``settings.yml`` (``search.formats: [html, json]``).
    """

    name = "searxng"

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = 15.0,
        language: str | None = None,
        categories: str | None = None,
        safesearch: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get("SEARXNG_URL") or "").rstrip("/") or None
        self.timeout = timeout
        self.language = language
        self.categories = categories
        self.safesearch = safesearch
        self._transport = transport

    def __repr__(self) -> str:
        from .fetch import redact_url

        return f"SearxngBackend(url={redact_url(self.url or '')!r})"

    async def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        if self.url is None:
            raise ToolError(
                "web_search has no search backend: set SEARXNG_URL (or tool_settings.web.searxng_url) "
                "to a SearXNG instance, or choose another search_backend"
            )
        params: dict[str, str | int] = {"q": query, "format": "json"}
        if self.language:
            params["language"] = self.language
        if self.categories:
            params["categories"] = self.categories
        if self.safesearch is not None:
            params["safesearch"] = self.safesearch
        from .fetch import redact_url

        where = f"the search backend (SearXNG at {redact_url(self.url)})"
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, trust_env=False, transport=self._transport, follow_redirects=True
            ) as client:
                response = await client.get(
                    self.url + "/search", params=params, headers={"Accept": "application/json"}
                )
        except httpx.TimeoutException:
            raise ToolError(f"{where} did not answer within {self.timeout:g} s; try again later") from None
        except httpx.HTTPError as exc:
            raise ToolError(
                f"{where} is unreachable ({type(exc).__name__}: {exc or 'connection failed'}); "
                "web search is unavailable right now"
            ) from None
        if response.status_code == 403:
            raise ToolError(
                f"{where} refused the JSON API (HTTP 403): enable 'json' in search.formats of its settings.yml"
            )
        if response.status_code >= 400:
            raise ToolError(f"{where} failed: HTTP {response.status_code}: {snippet(response.text, 200)}")
        try:
            data = response.json()
            items = data.get("results", [])
        except (ValueError, AttributeError):
            raise ToolError(f"{where} did not answer with JSON: {snippet(response.text, 200)}") from None
        results = []
        for item in items:
            if not isinstance(item, Mapping) or not item.get("url"):
                continue
            results.append(
                SearchResult(
                    title=str(item.get("title") or item["url"]).strip(),
                    url=str(item["url"]),
                    snippet=" ".join(str(item.get("content") or "").split()),
                )
            )
            if len(results) >= max_results:
                break
        return results


def format_results(query: str, results: list[SearchResult], *, max_snippet: int = 300) -> str:
    """Results as the model reads them: numbered title, URL and snippet."""
    if not results:
        return f"no results for {query!r}"
    lines = []
    for number, result in enumerate(results, start=1):
        lines.append(f"{number}. {result.title}")
        lines.append(f"   {result.url}")
        if result.snippet:
            text = (
                result.snippet
                if len(result.snippet) <= max_snippet
                else result.snippet[: max_snippet - 1] + "…"
            )
            lines.append(f"   {text}")
    return "\n".join(lines)


# -- the registry --------------------------------------------------------------------------------


@attrs.frozen
class SearchBackendEntry:
    """A registered backend: its factory and the plugin that registered it."""

    name: str
    factory: Callable[..., SearchBackend]
    plugin: str
    description: str = ""


class SearchBackendRegistrar:
    """Given to ``register_search_backends``."""

    def __init__(self, entries: dict[str, SearchBackendEntry], plugin: str) -> None:
        self._entries = entries
        self.plugin = plugin

    def add(self, name: str, factory: Callable[..., SearchBackend], *, description: str = "") -> None:
        """Register search backend ``name``; ``factory(**search_settings)`` returns a SearchBackend."""
        if not isinstance(name, str) or not name or name != name.strip():
            raise PluginError(
                f"plugin {self.plugin!r} registered a search backend with an invalid name {name!r}"
            )
        existing = self._entries.get(name)
        if existing is not None and existing.plugin != self.plugin:
            warnings.warn(
                f"search backend {name!r} is registered by both {existing.plugin!r} and {self.plugin!r}; "
                f"keeping the one from {existing.plugin!r}",
                PluginWarning,
                stacklevel=2,
            )
            return
        self._entries[name] = SearchBackendEntry(name, factory, self.plugin, description)


_cache: weakref.WeakKeyDictionary[Any, dict[str, SearchBackendEntry]] = weakref.WeakKeyDictionary()


def search_backends(host: PluginHost | None = None) -> dict[str, SearchBackendEntry]:
    """Every registered search backend, by name (built once per plugin host)."""
    if host is None:
        from agentkit.plugins import get_host

        host = get_host()
    cached = _cache.get(host)
    if cached is not None:
        return cached
    from . import hookspecs

    caller = getattr(host.pm.hook, "register_search_backends", None)
    if caller is None or not caller.has_spec():
        host.pm.add_hookspecs(hookspecs)
        caller = host.pm.hook.register_search_backends
    entries: dict[str, SearchBackendEntry] = {}
    for impl in caller.get_hookimpls():  # registration order: the first registration wins
        shown = host.display_name(impl.plugin_name)
        try:
            impl.function(registry=SearchBackendRegistrar(entries, shown))
        except Exception as exc:
            warnings.warn(
                f"agentkit plugin {shown!r} failed in register_search_backends ({type(exc).__name__}: {exc}); "
                "its search backends are left out",
                PluginWarning,
                stacklevel=2,
            )
    _cache[host] = entries
    return entries


def make_backend(
    name: str, search_settings: Mapping[str, Any], *, host: PluginHost | None = None
) -> SearchBackend:
    """Build registered backend ``name`` with ``factory(**search_settings)``."""
    entries = search_backends(host)
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(f"{n} ({e.plugin})" for n, e in sorted(entries.items())) or "none"
        raise ToolError(f"unknown search backend {name!r}; installed: {known}")
    try:
        backend = entry.factory(**search_settings)
    except Exception as exc:
        raise ToolError(
            f"search backend {name!r} (plugin {entry.plugin}) could not be built: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(backend, SearchBackend):
        raise ToolError(f"search backend {name!r} (plugin {entry.plugin}) did not build a SearchBackend")
    return backend
