"""The web tools as agents get them: by name from the plugin, or from web_tools()."""

from __future__ import annotations

import pytest

from agentkit.errors import ToolError
from agentkit.plugins import PluginHost
from agentkit.testing.servers import LoopbackServer, Reply
from agentkit.tools import resolve_tools
from agentkit_web import plugin as web_plugin
from agentkit_web import web_tools

PAGE = (
    "<html><head><title>Hello page</title></head><body><h2>Hi</h2><p>" + "word " * 50 + "</p></body></html>"
)


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost(entry_points=False, defaults=False)
    host.register(web_plugin, name="agentkit-web")
    return host


def test_registered_names(host: PluginHost) -> None:
    assert [t.name for t in resolve_tools(["web"], host=host)] == ["web_fetch", "web_search"]
    assert host.registry("tool").get("web_fetch").extra["settings_key"] == "web"


async def test_private_hosts_only_when_allowed_in_settings(host: PluginHost) -> None:
    with LoopbackServer([Reply(200, PAGE, {"content-type": "text/html"})]) as server:
        (refusing,) = resolve_tools(["web_fetch"], host=host, settings={"web": {}})
        with pytest.raises(ToolError, match="refusing to fetch"):
            await refusing.invoke(refusing.validate({"url": server.url + "/"}))
        assert server.requests == []
        (allowed,) = resolve_tools(["web_fetch"], host=host, settings={"web": {"allow_private_hosts": True}})
        text = await allowed.invoke(allowed.validate({"url": server.url + "/", "mode": "markdown"}))
        assert len(server.requests) == 1
        assert text.startswith(f"URL: {server.url}/\n")
    header, body = text.split("\n\n", 1)
    assert "Content-Type: text/html" in header and "Title: Hello page" in header
    assert body.startswith("## Hi")


async def test_output_cap_and_download_cap_are_marked() -> None:
    fetch_tool = web_tools(allow_private_hosts=True, max_chars=60, max_bytes=150)[0]
    with LoopbackServer([Reply(200, PAGE, {"content-type": "text/html"})]) as server:
        text = await fetch_tool.invoke({"url": server.url + "/", "mode": "text"})
    assert "[truncated: the page text was cut at 60 characters]" in text
    assert "[truncated: only the first 150 bytes of the page were downloaded]" in text


def test_settings_are_checked(host: PluginHost) -> None:
    with pytest.raises(ToolError, match=r"unknown web setting\(s\) 'allow_private'"):
        resolve_tools(["web_fetch"], host=host, settings={"web": {"allow_private": True}})
    with pytest.raises(ToolError, match="allow_private_hosts must be true or false"):
        resolve_tools(["web_fetch"], host=host, settings={"web": {"allow_private_hosts": "yes"}})
    with pytest.raises(ValueError, match="max_bytes must be a positive number"):
        web_tools(max_bytes=0)


def test_mode_is_an_enum_in_the_schema() -> None:
    fetch_tool = web_tools()[0]
    assert fetch_tool.parameters["properties"]["mode"]["enum"] == ["markdown", "text", "raw"]
    with pytest.raises(ToolError):
        fetch_tool.validate({"url": "http://x/", "mode": "pdf"})


async def test_allow_private_hosts_from_config_in_an_agent_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agentkit import ToolMessage
    from agentkit.config import load_config
    from agentkit.testing.scripted import ScriptedProvider, tool_calls

    (tmp_path / "agentkit.toml").write_text(
        """
[agents.open]
model = "scripted/test"
tools = ["web_fetch"]

[agents.open.tool_settings.web]
allow_private_hosts = true

[agents.closed]
model = "scripted/test"
tools = ["web_fetch"]
"""
    )
    host = PluginHost(entry_points=False)
    host.register(web_plugin, name="agentkit-web")
    config = load_config(tmp_path / "agentkit.toml", host=host, environ={})
    with LoopbackServer([Reply(200, PAGE, {"content-type": "text/html"})]) as server:
        results = {}
        for name in ("closed", "open"):
            provider = ScriptedProvider(
                [tool_calls(("web_fetch", {"url": server.url + "/", "mode": "text"})), "ok"]
            )
            run = await config.agent(name, provider=provider).arun("fetch")
            (results[name],) = [m for m in run.messages if isinstance(m, ToolMessage)]
        assert len(server.requests) == 1
    assert results["closed"].is_error and "refusing to fetch" in results["closed"].content
    assert not results["open"].is_error and "Title: Hello page" in results["open"].content


async def test_no_secret_in_reprs_or_errors(recorder, resolver) -> None:  # type: ignore[no-untyped-def]
    from agentkit_web.fetch import fetch
    from agentkit_web.search import SearxngBackend
    from agentkit_web.settings import WebSettings

    settings = WebSettings(
        headers={"Authorization": "Bearer SECRET-TOKEN"},
        searxng_url="http://admin:SECRET-PW@127.0.0.1:1",
        search_settings={"api_key": "SECRET-KEY"},
    )
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in repr(SearxngBackend("http://admin:SECRET-PW@127.0.0.1:1"))
    resolver.table["slow.test"] = ["127.0.0.1"]
    messages = []
    for url in ("http://u:SECRET-PW@10.0.0.1/", "ftp://u:SECRET-PW@x/", "http://u:SECRET-PW@"):
        with pytest.raises(ToolError) as exc:
            await fetch(url, WebSettings(resolver=resolver, transport=recorder))
        messages.append(str(exc.value))
    search = web_tools(searxng_url="http://admin:SECRET-PW@127.0.0.1:1")[1]
    with pytest.raises(ToolError) as exc:
        await search.invoke({"query": "x"})
    messages.append(str(exc.value))
    assert all("SECRET" not in m for m in messages), messages
