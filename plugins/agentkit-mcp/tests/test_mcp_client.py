"""MCPServer as a toolset: the demo server (written with the official SDK) over stdio and
Streamable HTTP, driven by agents with a scripted model."""

from __future__ import annotations

import asyncio
import base64
import json
import sys

import pytest

from agentkit import Agent, ImagePart, ToolProgress
from agentkit.errors import ConfigError
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit_mcp import MCPServer, MCPToolError

# the demo server's 1x1 PNG (tests/servers/demo.py)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def agent_for(server: MCPServer, *script: object, **options: object) -> tuple[Agent, ScriptedProvider]:
    provider = ScriptedProvider(list(script))
    return Agent("scripted/test", provider=provider, tools=[server], **options), provider  # type: ignore[arg-type]


def test_an_agent_calls_a_stdio_servers_tool(demo: MCPServer) -> None:
    agent, provider = agent_for(demo, tool_calls(("add", {"a": 2, "b": 3})), "It is 5.")
    result = agent.run("2 + 3?")
    assert result.text == "It is 5."
    assert result.messages[2].content == "5" and not result.messages[2].is_error
    spec = next(t for t in provider.requests[0].tools if t.name == "add")
    assert spec.parameters["required"] == ["a", "b"] and spec.description == "Add two integers."
    assert "dotted_name" in {t.name for t in provider.requests[0].tools}  # 'dotted.name', as providers accept


def test_one_process_for_the_agents_lifetime_closed_by_close(demo: MCPServer, h) -> None:
    agent, _ = agent_for(demo, tool_calls(("pid", {})), "a", tool_calls(("pid", {})), "b")
    first = agent.run("pid?").messages[2].content
    second = agent.run("pid again?").messages[2].content
    assert first == second and h.alive(int(first))
    # sync runs keep the connection in this thread's loop for sync calls: no thread hop per call
    assert demo._sync_home and demo._conn is not None and demo._conn._task is not None
    assert demo._conn._task.get_loop() is demo._home
    agent.close()
    assert h.wait_dead(int(first))


def test_a_server_of_sync_runs_used_from_another_loop_moves_to_the_mcp_loop(demo: MCPServer, h) -> None:
    agent, _ = agent_for(demo, tool_calls(("pid", {})), "a", tool_calls(("pid", {})), "b", tool_calls(("pid", {})), "c")
    first = int(agent.run("pid?").messages[2].content)
    second = int(asyncio.run(agent.arun("pid from async code")).messages[2].content)
    assert second != first and h.alive(second)  # started again on agentkit's MCP loop
    third = int(agent.run("pid from sync code again").messages[2].content)
    assert third == second and not demo._sync_home  # it stays there: one process for both
    assert h.wait_dead(first)  # the old process ended (when this thread's loop ran again)
    agent.close()
    assert h.wait_dead(second)


def test_streamable_http(demo_http_url: str) -> None:
    async def main() -> None:
        server = MCPServer.http(demo_http_url, name="web-demo")
        async with Agent(
            "scripted/test",
            provider=ScriptedProvider([tool_calls(("echo", {"text": "over http"})), "ok"]),
            tools=[server],
        ) as agent:
            result = await agent.arun("echo")
        assert result.messages[2].content == "over http"
        assert server._conn is None  # closed by the agent

    asyncio.run(main())


def test_streamable_http_in_sync_runs(demo_http_url: str) -> None:
    server = MCPServer.http(demo_http_url, name="web-demo")
    agent, _ = agent_for(server, tool_calls(("echo", {"text": "one"})), "a", tool_calls(("echo", {"text": "two"})), "b")
    with agent:
        assert agent.run("echo").messages[2].content == "one"
        assert agent.run("echo again").messages[2].content == "two"  # the session outlived the first run
        assert server._sync_home
    assert server._conn is None


def test_include_exclude_and_prefix(h) -> None:
    only = MCPServer.stdio(sys.executable, [str(h.demo)], include=["add", "echo"], prefix="d1_")
    without = MCPServer.stdio(sys.executable, [str(h.demo)], exclude=["crash", "fail"], prefix="d2_")
    try:
        agent, provider = agent_for(only, tool_calls(("d1_add", {"a": 1, "b": 1})), "two")
        agent = Agent("scripted/test", provider=provider, tools=[only, without])
        assert agent.run("1 + 1").messages[2].content == "2"
        names = {t.name for t in provider.requests[0].tools}
        assert {"d1_add", "d1_echo"} <= names and "d1_pid" not in names
        assert "d2_add" in names and "d2_crash" not in names and "d2_fail" not in names
    finally:
        only.close()
        without.close()


def test_an_unknown_included_tool_lists_the_servers_tools(h) -> None:
    with (
        MCPServer.stdio(sys.executable, [str(h.demo)], include=["nope"]) as server,
        pytest.raises(ConfigError, match=r"has no tool 'nope'; its tools: add, ask_model"),
    ):
        asyncio.run(server.list_tools())


def test_arguments_are_checked_against_the_input_schema_before_the_call(demo: MCPServer) -> None:
    agent, _ = agent_for(demo, tool_calls(("add", {"a": "two", "b": 3})), "sorry")
    error = agent.run("add").messages[2]
    assert error.is_error and "'two' is not of type 'integer' @ $.a" in error.content


def test_results_text_images_structured_and_errors(demo: MCPServer) -> None:
    async def main() -> None:
        picture = await demo.call_tool("picture")
        assert picture[0] == "a red pixel" and isinstance(picture[1], ImagePart)
        assert picture[1].media_type == "image/png" and picture[1].load()[0].startswith(b"\x89PNG")
        assert json.loads(await demo.call_tool("weather", {"city": "Rome"})) == {"city": "Rome", "celsius": 21.5}
        assert await demo.call_tool("add", {"a": 1, "b": 2}) == "3"  # the text repeating {"result": 3} is not doubled
        with pytest.raises(MCPToolError) as info:
            await demo.call_tool("fail", {"reason": "x"})
        assert info.value.server == "demo"

    asyncio.run(main())


def test_embedded_resources_become_their_text(demo: MCPServer) -> None:
    agent, _ = agent_for(demo, tool_calls(("document", {})), "read")
    content = agent.run("the document").messages[2].content
    assert content.split("\n") == [
        "the notes' text",
        f"[binary resource demo://logo.png (image/png, {len(PNG)} bytes)]",
        "[resource link demo://more more]",
    ]


def test_stdio_cwd_env_and_http_headers(h, tmp_path, demo_http_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEMO_HEADER_TOKEN", "t0ken")
    with MCPServer.stdio(sys.executable, [str(h.demo)], cwd=tmp_path, env={"DEMO_NAMED": "yes"}) as server:

        async def ask() -> list[str]:
            return [
                await server.call_tool("cwd"),
                await server.call_tool("getenv", {"name": "DEMO_NAMED"}),
                await server.call_tool("getenv", {"name": "DEMO_HEADER_TOKEN"}),
            ]

        assert asyncio.run(ask()) == [str(tmp_path), "yes", ""]  # only the keys named reach the server
    (tmp_path / "agentkit.toml").write_text(
        f'[mcp.servers.web]\nurl = "{demo_http_url}"\nheaders = {{ X-Demo-Token = "${{DEMO_HEADER_TOKEN}}" }}\n'
        'include = ["header", "echo"]\nexclude = ["echo"]\nprefix = "web_"\n'
        '[agents.a]\nmodel = "scripted/x"\ntools = ["mcp:web"]\n'
    )
    from agentkit.config import load_config

    config = load_config(tmp_path / "agentkit.toml")
    provider = ScriptedProvider([tool_calls(("web_header", {"name": "X-Demo-Token"})), "ok"])
    with config.agent("a", provider=provider) as agent:
        assert agent.run("token?").messages[2].content == "t0ken"  # ${VAR} filled, sent as a header
    assert {t.name for t in provider.requests[0].tools} == {"web_header"}  # include, exclude, prefix


def test_image_content_reaches_the_model_as_an_image(demo: MCPServer) -> None:
    agent, provider = agent_for(demo, tool_calls(("picture", {})), "a red pixel")
    result = agent.run("draw")
    message = result.messages[2]
    assert message.content == "a red pixel" and message.images is not None
    assert message.images[0].media_type == "image/png" and message.images[0].load()[0].startswith(b"\x89PNG")
    assert provider.requests[1].messages[-1].images == message.images  # what the provider is given


def test_is_error_is_an_error_result_the_model_reads(demo: MCPServer) -> None:
    agent, _ = agent_for(demo, tool_calls(("fail", {"reason": "no disk"})), "it failed")
    message = agent.run("try").messages[2]
    assert message.is_error and message.content.startswith("Error: MCPToolError:")


def test_list_changed_refreshes_the_tools_before_the_next_model_call(demo: MCPServer) -> None:
    agent, provider = agent_for(demo, tool_calls(("grow", {})), tool_calls(("extra", {})), "done")
    result = agent.run("grow")
    assert "extra" not in {t.name for t in provider.requests[0].tools}
    assert "extra" in {t.name for t in provider.requests[1].tools}
    assert result.messages[4].content == "extra!"


def test_progress_notifications_become_stream_events(demo: MCPServer) -> None:
    agent, _ = agent_for(demo, tool_calls(("slow", {"seconds": 0.3})), "done")
    events = list(agent.stream("wait"))
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert [p.progress for p in progress] == [float(i) for i in range(1, 11)]
    assert progress[0].total == 10 and progress[0].message == "tick 1" and progress[0].name == "slow"
    kinds = [e.type for e in events]
    assert kinds.index("tool_progress") < kinds.index("tool_result")


def test_resources_and_prompts(demo: MCPServer) -> None:
    async def main() -> None:
        resources = await demo.list_resources()
        assert [str(r.uri) for r in resources] == ["demo://greeting"]
        assert await demo.read_resource("demo://greeting") == "hello from a resource"
        prompts = await demo.list_prompts()
        assert [p.name for p in prompts] == ["review"]
        messages = await demo.get_prompt("review", {"code": "x = 1"})
        assert messages[0].role == "user" and messages[0].text == "Please review:\nx = 1"

    asyncio.run(main())


def test_resources_as_tools(h) -> None:
    with MCPServer.stdio(sys.executable, [str(h.demo)], include=["echo"], resources_as_tools=True) as server:
        agent, _provider = agent_for(
            server, tool_calls(("list_resources", {})), tool_calls(("read_resource", {"uri": "demo://greeting"})), "hi"
        )
        result = agent.run("read")
        assert json.loads(result.messages[2].content)[0]["uri"] == "demo://greeting"
        assert result.messages[4].content == "hello from a resource"


def test_async_with_keeps_the_connection_in_the_callers_loop(h) -> None:
    async def main() -> None:
        server = MCPServer.stdio(sys.executable, [str(h.demo)])
        provider = ScriptedProvider([tool_calls(("slow", {"seconds": 0.2})), "done"])
        async with Agent("scripted/test", provider=provider, tools=[server]) as agent:
            events = [e async for e in agent.astream("go")]
            assert server._home is asyncio.get_running_loop()
            assert server._conn is not None and server._conn._task is not None
            assert server._conn._task.get_loop() is asyncio.get_running_loop()  # no thread hop per call
        assert [e.progress for e in events if isinstance(e, ToolProgress)] == [float(i) for i in range(1, 11)]
        assert server._conn is None and server._home is None  # closed, and unbound, at the end of the block

    asyncio.run(main())


def test_a_sync_run_inside_the_loop_that_holds_the_server_fails_clearly(h) -> None:
    async def main() -> None:
        async with MCPServer.stdio(sys.executable, [str(h.demo)]) as server:
            agent = Agent("scripted/test", provider=ScriptedProvider(["x"]), tools=[server])
            with pytest.raises(RuntimeError, match=r"open in the event loop that this synchronous call blocks"):
                agent.run("go")  # would wait forever for this very loop

    asyncio.run(main())


def test_a_sync_stream_inside_the_loop_that_holds_the_server_fails_clearly(h) -> None:
    async def main() -> None:
        async with MCPServer.stdio(sys.executable, [str(h.demo)]) as server:
            agent = Agent("scripted/test", provider=ScriptedProvider(["x"]), tools=[server])
            with pytest.raises(RuntimeError, match=r"open in the event loop that this synchronous call blocks"):
                list(agent.stream("go"))  # each step waits, blocking this loop, for work sent to it
            assert await server.call_tool("echo", {"text": "still fine"}) == "still fine"

    asyncio.run(asyncio.wait_for(main(), 60))
