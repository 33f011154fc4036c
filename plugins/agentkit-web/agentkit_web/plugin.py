"""agentkit-web's hook implementations (the ``agentkit`` entry point). Code lives beside it."""

from __future__ import annotations

from typing import Any

from agentkit import hookimpl

__all__ = ["add_hookspecs", "register_search_backends", "register_tools"]


@hookimpl
def add_hookspecs(plugin_manager: Any) -> None:
    """Add ``register_search_backends`` (agentkit_web.hookspecs) for search-backend plugins."""
    caller = getattr(plugin_manager.hook, "register_search_backends", None)
    if caller is None or not caller.has_spec():
        from . import hookspecs

        plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def register_tools(registry: Any) -> None:
    """web_fetch and web_search (settings key "web"), and the set "web" holding both."""
    from .toolset import factory

    registry.add_factory(
        "web_fetch",
        factory("web_fetch"),
        settings_key="web",
        description="fetch a public web page (SSRF-safe)",
    )
    registry.add_factory(
        "web_search",
        factory("web_search"),
        settings_key="web",
        description="search the web (SearXNG or a plugin)",
    )
    registry.add_set("web", ("web_fetch", "web_search"), description="web_fetch and web_search")


@hookimpl(optionalhook=True)
def register_search_backends(registry: Any) -> None:
    """The built-in backend: SearXNG's JSON API."""
    from .search import SearxngBackend

    registry.add("searxng", SearxngBackend, description="SearXNG JSON API (url or SEARXNG_URL)")
