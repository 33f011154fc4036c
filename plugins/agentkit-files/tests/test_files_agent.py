"""The file tools inside a real agent loop, from Python and from agentkit.toml."""

from __future__ import annotations

from pathlib import Path

import agentkit_files.plugin
from agentkit import Agent, ToolMessage
from agentkit.config import load_config
from agentkit.plugins import PluginHost
from agentkit.testing.scripted import ScriptedProvider, tool_calls
from agentkit_files import file_tools


def tool_results(messages: list) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


async def test_the_model_gets_refusals_as_error_results(tree: Path) -> None:
    provider = ScriptedProvider(
        [
            tool_calls(("read", {"path": "../outside/secret.txt"}), ("read", {"path": "notes.txt"})),
            tool_calls(("write", {"path": "x.txt", "content": "hi"})),
            "done",
        ]
    )
    agent = Agent("scripted/test", provider=provider, tools=file_tools(root=tree))
    result = await agent.arun("look around")
    refused, ok, unknown = tool_results(result.messages)
    assert refused.is_error and "'..' is not allowed" in refused.content
    assert "OUTSIDE" not in refused.content
    assert not ok.is_error and "two" in ok.content
    assert unknown.is_error and "write" in unknown.content  # read-only: write is not there
    assert not (tree / "x.txt").exists()


async def test_tool_settings_from_config(tmp_path: Path, tree: Path) -> None:
    (tmp_path / "agentkit.toml").write_text(
        f"""
[agents.reader]
model = "scripted/test"
tools = ["files-readonly"]

[agents.reader.tool_settings.files]
root = "{tree}"
max_read_lines = 1
"""
    )
    host = PluginHost(entry_points=False)
    host.register(agentkit_files.plugin, name="agentkit-files")
    config = load_config(tmp_path / "agentkit.toml", host=host, environ={})
    provider = ScriptedProvider([tool_calls(("read", {"path": "notes.txt"})), "ok"])
    agent = config.agent("reader", provider=provider)
    result = await agent.arun("read")
    (read,) = tool_results(result.messages)
    assert read.content.startswith("     1\tone\n[truncated: showing lines 1-1")
