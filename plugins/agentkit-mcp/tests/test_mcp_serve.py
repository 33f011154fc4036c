"""``agentkit mcp serve``: agentkit tools served over stdio and Streamable HTTP, used by
agentkit's own MCP client in an agent (the round trip), progress and images included."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit import Agent, ImagePart, ToolProgress
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit_mcp import MCPServer

TOOLS_MODULE = '''
import asyncio
from agentkit import ImagePart, RunContext, tool

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005050200"
    "5fc8f1d20000000049454e44ae426082"
)

@tool
async def count(to: int, ctx: RunContext) -> str:
    """Count slowly, reporting progress."""
    for i in range(1, to + 1):
        await asyncio.sleep(0.01)
        await ctx.report_progress(i, total=to, message=f"at {i}")
    return f"counted to {to}"

@tool
def pixel() -> list:
    """A caption and an image."""
    return ["one pixel", ImagePart(data=PNG, media_type="image/png")]
'''


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "guide.md").write_text("# Guide\nMCP is served here.\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    (tmp_path / "served_tools.py").write_text(TOOLS_MODULE)
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), PYTHONPATH=str(tmp_path))
    return env


def test_file_tools_served_over_stdio_in_an_agent(docs: Path, tmp_path: Path) -> None:
    served = MCPServer.stdio(
        sys.executable,
        ["-m", "agentkit", "mcp", "serve", "--tools", "read,grep", "--tool-setting", f"files.root={docs}"],
        env=_env(tmp_path),
        name="agentkit-files",
        prefix="docs_",
    )
    provider = ScriptedProvider(
        [
            tool_calls(("docs_read", {"path": "guide.md"})),
            tool_calls(("docs_grep", {"pattern": "served", "files_with_matches": True})),
            tool_calls(("docs_read", {"path": "../outside.txt"})),
            "done",
        ]
    )
    with Agent("scripted/test", provider=provider, tools=[served]) as agent:
        result = agent.run("read the guide")
    specs = {t.name: t for t in provider.requests[0].tools}
    assert set(specs) == {"docs_read", "docs_grep"}
    assert specs["docs_read"].parameters["required"] == ["path"]  # the tool's own JSON Schema
    assert "1\t# Guide" in result.messages[2].content
    assert result.messages[4].content.strip() == "guide.md"
    refused = result.messages[6]
    assert refused.is_error and "secret" not in refused.content


@pytest.fixture
def http_server(docs: Path, tmp_path: Path, h) -> Iterator[str]:  # type: ignore[no-untyped-def]
    (tmp_path / "agentkit.toml").write_text(
        f'[agents.docs]\nmodel = "scripted/x"\ntools = ["read", "served_tools:count", "served_tools:pixel"]\n'
        f'[agents.docs.tool_settings.files]\nroot = "{docs}"\n'
    )
    port = h.free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "mcp", "serve", "-a", "docs", "--http", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        h.wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(20)
    assert "serving 3 tool(s) at http://127.0.0.1:" in log.read_text()


def test_an_agents_tools_served_over_streamable_http(http_server: str) -> None:
    served = MCPServer.http(http_server, name="served")
    provider = ScriptedProvider(
        [tool_calls(("read", {"path": "guide.md"})), tool_calls(("count", {"to": 3})), "done"]
    )
    with Agent("scripted/test", provider=provider, tools=[served]) as agent:
        events = list(agent.stream("go"))
    result = events[-1].result
    assert "MCP is served here." in result.messages[2].content
    assert result.messages[4].content == "counted to 3"
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert [(p.progress, p.total, p.message) for p in progress] == [(1, 3, "at 1"), (2, 3, "at 2"), (3, 3, "at 3")]


def test_images_and_argument_errors_through_the_server(http_server: str) -> None:
    import asyncio

    async def main() -> None:
        async with MCPServer.http(http_server) as served:
            value = await served.call_tool("pixel")
            assert value[0] == "one pixel" and isinstance(value[1], ImagePart)
            data, media_type = value[1].load()
            assert data.startswith(b"\x89PNG") and media_type == "image/png"
            from agentkit_mcp import MCPToolError

            with pytest.raises(MCPToolError, match=r"invalid arguments:\n- 'path' is a required property @ \$"):
                await served.call_tool("read", {})
            with pytest.raises(MCPToolError, match="unknown tool 'nope'; the tools: count, pixel, read"):
                await served.call_tool("nope", {})

    asyncio.run(main())
