"""Real third-party servers: the reference Python server ``mcp-server-time`` (PyPI) over
stdio, and the protocol's conformance server ``@modelcontextprotocol/server-everything``
(npm, run with Node) over stdio and Streamable HTTP.

tox installs server-everything under ``$AGENTKIT_MCP_NPM_PREFIX``; in CI (``CI`` set) a
missing server is a failure, elsewhere the tests say how to install it and skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from agentkit import Agent, ImagePart, ToolProgress
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit_mcp import Elicitation, MCPServer

EVERYTHING = "node_modules/@modelcontextprotocol/server-everything/dist/index.js"


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: {how}")
    pytest.skip(f"{what} is not installed: {how}")


@pytest.fixture(scope="module")
def everything() -> Path:
    prefix = os.environ.get("AGENTKIT_MCP_NPM_PREFIX")
    node = shutil.which("node")
    script = Path(prefix) / EVERYTHING if prefix else None
    if node is None or script is None or not script.is_file():
        _missing(
            "@modelcontextprotocol/server-everything",
            "npm install --prefix DIR @modelcontextprotocol/server-everything, then AGENTKIT_MCP_NPM_PREFIX=DIR "
            "(tox does this)",
        )
    assert script is not None
    return script


@pytest.fixture
def time_server() -> Iterator[MCPServer]:
    try:
        import mcp_server_time  # noqa: F401
    except ImportError:
        _missing("mcp-server-time", "pip install mcp-server-time (requirements-dev.txt has it)")
    server = MCPServer.stdio(sys.executable, ["-m", "mcp_server_time", "--local-timezone", "UTC"], name="time")
    try:
        yield server
    finally:
        server.close()


# -- mcp-server-time ---------------------------------------------------------------------------


def test_mcp_server_time_over_stdio(time_server: MCPServer) -> None:
    provider = ScriptedProvider(
        [
            tool_calls(("get_current_time", {"timezone": "UTC"})),
            tool_calls(("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})),
            "done",
        ]
    )
    result = Agent("scripted/test", provider=provider, tools=[time_server]).run("time?")
    assert {"get_current_time", "convert_time"} <= {t.name for t in provider.requests[0].tools}
    now = json.loads(result.messages[2].content)
    assert now["timezone"] == "UTC"
    assert abs((datetime.fromisoformat(now["datetime"]) - datetime.now().astimezone()).total_seconds()) < 300
    converted = json.loads(result.messages[4].content)
    assert converted["target"]["timezone"] == "Asia/Tokyo" and converted["target"]["datetime"].endswith("21:00:00+09:00")
    bad = Agent(
        "scripted/test", provider=ScriptedProvider([tool_calls(("get_current_time", {"timezone": "Mars/Olympus"})), "x"]),
        tools=[time_server],
    ).run("?")
    assert bad.messages[2].is_error and "Mars/Olympus" in bad.messages[2].content


# -- server-everything -------------------------------------------------------------------------


def _everything_stdio(script: Path, **options: object) -> MCPServer:
    return MCPServer.stdio("node", [str(script), "stdio"], name="everything", **options)  # type: ignore[arg-type]


def test_everything_over_stdio_tools_images_structured_progress(everything: Path) -> None:
    server = _everything_stdio(everything)
    provider = ScriptedProvider(
        [
            tool_calls(("get-sum", {"a": 2, "b": 40})),
            tool_calls(("get-tiny-image", {})),
            tool_calls(("get-structured-content", {"location": "New York"})),
            tool_calls(("trigger-long-running-operation", {"duration": 1, "steps": 4})),
            "done",
        ]
    )
    with Agent("scripted/test", provider=provider, tools=[server]) as agent:
        events = list(agent.stream("everything"))
    result = events[-1].result
    assert result.messages[2].content == "The sum of 2 and 40 is 42."
    image_result = result.messages[4]
    assert "Here's the image you requested:" in image_result.content
    assert image_result.images is not None and image_result.images[0].media_type == "image/png"
    weather = json.loads(result.messages[6].content)
    assert set(weather) == {"temperature", "conditions", "humidity"}
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert [p.progress for p in progress] == [1.0, 2.0, 3.0, 4.0] and progress[0].total == 4
    assert "Long running operation completed" in result.messages[8].content


def test_everything_image_content_is_an_image(everything: Path) -> None:
    with _everything_stdio(everything) as server:
        value = asyncio.run(server.call_tool("get-tiny-image"))
    images = [v for v in value if isinstance(v, ImagePart)]
    assert len(images) == 1 and images[0].load()[0].startswith(b"\x89PNG")


def test_everything_sampling_elicitation_roots_and_list_changed(everything: Path, tmp_path: Path) -> None:
    model = ScriptedProvider(["a haiku about tests"])
    asked: list[Elicitation] = []

    def answer(request: Elicitation) -> dict[str, object]:
        asked.append(request)
        return {"name": "Ada Lovelace"}

    server = _everything_stdio(
        everything, sampling_model="scripted/poet", sampling_provider=model, elicitation=answer, roots=[tmp_path]
    )
    with server:

        async def main() -> tuple[str, str, str]:
            names = {t.name for t in await server.list_tools()}
            for _ in range(100):  # the capability-dependent tools arrive with tools/list_changed
                if "trigger-sampling-request" in names:
                    break
                await asyncio.sleep(0.05)
                names = {t.name for t in await server.list_tools()}
            assert {"trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"} <= names
            sampled = await server.call_tool("trigger-sampling-request", {"prompt": "Write a haiku"})
            elicited = await server.call_tool("trigger-elicitation-request")
            roots = await server.call_tool("get-roots-list")
            return sampled, elicited, roots

        sampled, elicited, roots = asyncio.run(main())
    assert server.tools_changed >= 1
    assert "a haiku about tests" in sampled and "scripted/poet" in sampled
    assert model.requests[0].messages[-1].text.endswith("Write a haiku")
    assert "Ada Lovelace" in elicited and asked[0].schema["required"] == ["name"]
    assert tmp_path.as_uri() in roots


def test_without_sampling_the_server_offers_no_sampling_tool(everything: Path) -> None:
    with _everything_stdio(everything) as server:
        names = {t.name for t in asyncio.run(server.list_tools())}
    assert "trigger-sampling-request" not in names and "trigger-elicitation-request" not in names


@pytest.fixture(scope="module")
def everything_http(everything: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from socket import socket

    with socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("everything-http") / "server.log"
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    with open(log, "wb") as out:
        process = subprocess.Popen(["node", str(everything), "streamableHttp"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        import time
        from socket import create_connection

        deadline = time.monotonic() + 60
        while True:
            try:
                with create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server-everything did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_everything_over_streamable_http(everything_http: str) -> None:
    server = MCPServer.http(everything_http, name="everything-http")
    provider = ScriptedProvider(
        [
            tool_calls(("echo", {"message": "over HTTP"})),
            tool_calls(("get-tiny-image", {})),
            tool_calls(("trigger-long-running-operation", {"duration": 1, "steps": 2})),
            "done",
        ]
    )
    with Agent("scripted/test", provider=provider, tools=[server]) as agent:
        events = list(agent.stream("go"))
    result = events[-1].result
    assert result.messages[2].content == "Echo: over HTTP"
    assert "Here's the image you requested:" in result.messages[4].content
    assert [e.progress for e in events if isinstance(e, ToolProgress)] == [1.0, 2.0]
