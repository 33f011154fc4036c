"""web_search: SearXNG over a real loopback server, readable failures, pluggable backends."""

from __future__ import annotations

import socket
import warnings

import pytest

from agentkit import hookimpl
from agentkit.errors import ToolError
from agentkit.plugins import PluginHost, set_host
from agentkit.registry import PluginWarning
from agentkit.testing.servers import LoopbackServer, Reply, json_reply
from agentkit.tools import resolve_tools
from agentkit_web import plugin as web_plugin
from agentkit_web import web_tools
from agentkit_web.search import SearchBackend, SearchResult, SearxngBackend, make_backend, search_backends

RESULTS = {
    "results": [
        {"title": "First", "url": "https://one.example/", "content": "the   first\nresult"},
        {"title": "Second", "url": "https://two.example/", "content": ""},
        {"title": "No URL"},
        {"title": "Third", "url": "https://three.example/", "content": "x" * 1000},
    ]
}


def _search_tool(**settings):  # type: ignore[no-untyped-def]
    return {t.name: t for t in web_tools(**settings)}["web_search"]


async def test_searxng_json_api() -> None:
    with LoopbackServer([json_reply(RESULTS)]) as server:
        search = _search_tool(searxng_url=server.url + "/")
        text = await search.invoke(search.validate({"query": "agent frameworks", "max_results": 3}))
        request = server.requests[0]
    assert (
        request.path.startswith("/search?")
        and "q=agent+frameworks" in request.path
        and "format=json" in request.path
    )
    lines = text.splitlines()
    assert lines[:5] == [
        "1. First",
        "   https://one.example/",
        "   the first result",
        "2. Second",
        "   https://two.example/",
    ]
    assert lines[5] == "3. Third" and lines[7].endswith("…") and len(lines[7]) < 310


async def test_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer([json_reply({"results": []})]) as server:
        monkeypatch.setenv("SEARXNG_URL", server.url)
        search = _search_tool()
        assert await search.invoke(search.validate({"query": "nothing"})) == "no results for 'nothing'"
        assert len(server.requests) == 1


async def test_missing_backend_url_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARXNG_URL", raising=False)
    search = _search_tool()
    with pytest.raises(ToolError, match="set SEARXNG_URL"):
        await search.invoke({"query": "x"})


async def test_backend_down_gives_a_readable_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    search = _search_tool(searxng_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ToolError, match=r"search backend \(SearXNG at http://127.0.0.1:\d+\) is unreachable"):
        await search.invoke({"query": "x"})


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(403, "Forbidden"), "enable 'json' in search.formats"),
        (Reply(500, "boom"), "HTTP 500: boom"),
        (Reply(200, "<html>not json</html>", {"content-type": "text/html"}), "did not answer with JSON"),
    ],
)
async def test_backend_failures_are_readable(reply: Reply, message: str) -> None:
    with LoopbackServer([reply]) as server:
        search = _search_tool(searxng_url=server.url)
        with pytest.raises(ToolError, match=message):
            await search.invoke({"query": "x"})


async def test_slow_backend_times_out() -> None:
    from agentkit.testing.servers import Pause

    slow = Reply(200, headers={"content-type": "application/json"}, chunks=[Pause(3), b"{}"])
    with LoopbackServer([slow]) as server:
        search = _search_tool(searxng_url=server.url, search_timeout=0.3)
        with pytest.raises(ToolError, match=r"did not answer within 0.3 s"):
            await search.invoke({"query": "x"})


class FakeBackend(SearchBackend):
    name = "fake"

    def __init__(self, prefix: str = "hit") -> None:
        self.prefix = prefix

    async def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        return [SearchResult(f"{self.prefix} {i}", f"https://example.test/{i}") for i in range(max_results)]


class FakeBackendPlugin:
    @hookimpl(optionalhook=True)
    def register_search_backends(self, registry) -> None:  # type: ignore[no-untyped-def]
        registry.add("fake", FakeBackend, description="test backend")


async def test_a_ready_backend_object() -> None:
    search = _search_tool(search_backend=FakeBackend("obj"), max_results=3)
    text = await search.invoke({"query": "q", "max_results": 50})
    assert text.count("obj ") == 3  # capped at the settings' max_results


def _host(*plugins: object) -> PluginHost:
    host = PluginHost(entry_points=False, defaults=False)
    for index, plugin in enumerate(plugins):
        host.register(plugin, name=f"p{index}-{getattr(plugin, '__name__', type(plugin).__name__)}")
    return host


def test_plugins_register_backends_through_the_hook() -> None:
    # the third-party plugin is registered before agentkit-web: optionalhook keeps it valid
    host = _host(FakeBackendPlugin(), web_plugin)
    host.pm.check_pending()
    backends = search_backends(host)
    assert sorted(backends) == ["fake", "searxng"]
    assert backends["searxng"].factory is SearxngBackend
    assert isinstance(make_backend("fake", {"prefix": "p"}, host=host), FakeBackend)
    assert host.pm.hook.register_search_backends.has_spec()
    with pytest.raises(ToolError, match=r"unknown search backend 'nope'; installed: fake .*searxng"):
        make_backend("nope", {}, host=host)


def test_hookspec_added_through_the_historic_add_hookspecs_hook() -> None:
    host = _host(web_plugin)
    host.pm.hook.add_hookspecs.call_historic(kwargs={"plugin_manager": host.pm})
    assert host.pm.hook.register_search_backends.has_spec()

    class Strict:  # no optionalhook: fine once the spec exists
        @hookimpl
        def register_search_backends(self, registry) -> None:  # type: ignore[no-untyped-def]
            registry.add("strict", FakeBackend)

    host.register(Strict(), name="strict")
    host.pm.check_pending()
    assert "strict" in search_backends(host)


def test_clashes_and_failures_are_reported_by_plugin_name() -> None:
    class Clash:
        @hookimpl(optionalhook=True)
        def register_search_backends(self, registry) -> None:  # type: ignore[no-untyped-def]
            registry.add("searxng", FakeBackend)

    class Broken:
        @hookimpl(optionalhook=True)
        def register_search_backends(self, registry) -> None:  # type: ignore[no-untyped-def]
            raise RuntimeError("no luck")

    host = _host(web_plugin, Clash(), Broken())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backends = search_backends(host)
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert any("search backend 'searxng' is registered by both" in m for m in messages)
    assert any("failed in register_search_backends (RuntimeError: no luck)" in m for m in messages)
    assert backends["searxng"].factory is SearxngBackend


async def test_registered_backend_by_name_through_the_tool() -> None:
    host = _host(web_plugin, FakeBackendPlugin())
    old = set_host(host)
    try:
        (search,) = resolve_tools(["web_search"], host=host, settings={"web": {"search_backend": "fake"}})
        assert search.plugin == "p0-agentkit_web.plugin"
        text = await search.invoke({"query": "q", "max_results": 2})
    finally:
        set_host(old)
    assert text.splitlines()[0] == "1. hit 0"
