"""web_fetch and web_search as :class:`agentkit.Tool` objects bound to settings."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Literal

from agentkit.errors import ToolError
from agentkit.tools import Tool, tool

from .settings import WebSettings

__all__ = ["build_tool", "factory", "web_tools"]


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[truncated: the page text was cut at {limit} characters]"


def _fetch_tool(settings: WebSettings) -> Tool:
    async def web_fetch(url: str, mode: Literal["markdown", "text", "raw"] = "markdown") -> str:
        """Fetch a web page.

        Args:
            url: The http(s) URL to fetch.
            mode: 'markdown' keeps headings, lists and links; 'text' is plain text; 'raw' is the page source.
        """
        from .extract import extract, page_title
        from .fetch import fetch

        page = await fetch(url, settings)
        text = await asyncio.to_thread(extract, page, mode)
        lines = [f"URL: {page.final_url}"]
        if page.redirects:
            lines.append(f"Redirected from: {page.url}")
        lines.append(f"Content-Type: {page.content_type or 'unknown'}")
        if page.content_type in ("text/html", "application/xhtml+xml", ""):
            title = page_title(page.body[:100_000].decode("utf-8", "replace"))
            if title:
                lines.append(f"Title: {title}")
        body = _cap(text, settings.max_chars)
        if page.truncated:
            body += f"\n[truncated: only the first {settings.max_bytes} bytes of the page were downloaded]"
        return "\n".join(lines) + "\n\n" + body

    return tool(
        web_fetch,
        name="web_fetch",
        timeout=settings.timeout + 10,
        description=(
            "Fetch an http(s) URL and return its content as markdown (default), plain text, or raw. "
            f"Reads at most {settings.max_bytes} bytes and returns at most {settings.max_chars} characters. "
            + ("" if settings.allow_private_hosts else "Only public internet addresses can be fetched. ")
            + "Text content types only (HTML, JSON, XML, plain text)."
        ),
    )


def _search_tool(settings: WebSettings) -> Tool:
    backend_holder: list[Any] = []

    def backend() -> Any:
        if not backend_holder:
            from .search import SearchBackend, make_backend

            choice = settings.search_backend
            if isinstance(choice, SearchBackend):
                backend_holder.append(choice)
            elif isinstance(choice, str):
                options = dict(settings.search_settings)
                if choice == "searxng" and settings.searxng_url and "url" not in options:
                    options["url"] = settings.searxng_url
                backend_holder.append(make_backend(choice, options))
            else:
                raise ToolError(f"search_backend must be a backend name or a SearchBackend, got {choice!r}")
        return backend_holder[0]

    async def web_search(query: str, max_results: int = 5) -> str:
        """Search the web.

        Args:
            query: What to search for.
            max_results: How many results to return.
        """
        from .search import format_results

        if not isinstance(query, str) or not query.strip():
            raise ToolError("query must not be empty")
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ToolError(f"max_results must be a number >= 1, got {max_results!r}")
        count = min(max_results, settings.max_results)
        engine = backend()
        try:
            async with asyncio.timeout(settings.search_timeout):
                results = await engine.search(query.strip(), max_results=count)
        except TimeoutError:
            raise ToolError(
                f"the search backend ({getattr(engine, 'name', 'search')}) did not answer within "
                f"{settings.search_timeout:g} s; try again later"
            ) from None
        return format_results(query, list(results)[:count])

    return tool(
        web_search,
        name="web_search",
        timeout=settings.search_timeout + 5,
        description=(
            f"Search the web; returns up to {settings.max_results} results, each with title, URL and snippet. "
            "Use web_fetch to read a result."
        ),
    )


_BUILDERS: dict[str, Callable[[WebSettings], Tool]] = {"web_fetch": _fetch_tool, "web_search": _search_tool}


def build_tool(name: str, settings: WebSettings) -> Tool:
    """Tool ``name`` bound to ``settings``."""
    return _BUILDERS[name](settings)


def _from_settings(name: str, **settings: Any) -> Tool:
    return build_tool(name, WebSettings.from_mapping(settings))


def factory(name: str) -> Callable[..., Tool]:
    """The registry factory of tool ``name``: ``factory(**tool_settings["web"])``."""
    if name not in _BUILDERS:
        raise KeyError(name)
    return functools.partial(_from_settings, name)


def web_tools(
    *, allow_private_hosts: bool = False, searxng_url: str | None = None, **settings: Any
) -> list[Tool]:
    """web_fetch and web_search. ``settings`` are :class:`WebSettings` fields.

    ``allow_private_hosts=True`` lets web_fetch reach private, loopback and link-local
    addresses (never cloud-metadata ones); ``searxng_url`` defaults to ``$SEARXNG_URL``.
    """
    resolved = WebSettings.from_mapping(
        settings, allow_private_hosts=allow_private_hosts, searxng_url=searxng_url
    )
    return [build_tool(name, resolved) for name in _BUILDERS]
