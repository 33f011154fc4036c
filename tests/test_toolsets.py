"""Toolsets: several tools behind one object with a lifecycle (an MCP server's shape), asked
for their tools before every model call, resolved from ``"prefix:spec"`` by plugin tool
sources, and closed by ``agent.close()`` / ``await agent.aclose()`` / ``with agent:``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import agentkit
from agentkit import Agent, Tool
from agentkit.config import load_config
from agentkit.errors import ConfigError, ToolDefinitionError
from agentkit.plugins import PluginHost
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import resolve_tool_items, resolve_tools
from agentkit.toolsets import SourceContext, Toolset, ToolsetContext


class Counter(Toolset):
    """A toolset whose tool list grows each time it is asked; it records closes and contexts."""

    def __init__(self, name: str = "counter") -> None:
        self.name = name
        self.asked: list[ToolsetContext] = []
        self.closed = 0

    async def list_tools(self, ctx: ToolsetContext) -> Sequence[Tool]:
        self.asked.append(ctx)
        return [self._tool(f"count_{i}") for i in range(len(self.asked))]

    def _tool(self, name: str) -> Tool:
        async def call(arguments: dict[str, Any], ctx: Any) -> str:
            await asyncio.sleep(0)
            return f"{name} got {arguments['n']}"

        return Tool.from_schema(
            name, "count", {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, call
        )

    async def aclose(self) -> None:
        self.closed += 1


def test_the_loop_asks_toolsets_before_every_model_call() -> None:
    toolset = Counter()
    provider = ScriptedProvider([tool_calls(("count_0", {"n": 7})), "done"])
    agent = Agent("scripted/test", provider=provider, tools=[toolset], tool_settings={"files": {"root": "/srv"}})
    result = agent.run("go")
    assert result.text == "done"
    assert [sorted(t.name for t in r.tools) for r in provider.requests] == [["count_0"], ["count_0", "count_1"]]
    assert result.messages[2].content == "count_0 got 7"
    assert toolset.asked[0].agent is agent and toolset.asked[0].tool_settings == {"files": {"root": "/srv"}}
    assert toolset.asked[0].run is not None


def test_arguments_are_checked_against_the_toolsets_schema() -> None:
    provider = ScriptedProvider([tool_calls(("count_0", {"n": "seven"})), "done"])
    result = Agent("scripted/test", provider=provider, tools=[Counter()]).run("go")
    error = result.messages[2]
    assert error.is_error and "'seven' is not of type 'integer' @ $.n" in error.content


def test_a_toolset_tool_named_like_an_agent_tool_is_an_error() -> None:
    @agentkit.tool
    def count_0(n: int) -> int:
        """Count."""
        return n

    agent = Agent("scripted/test", provider=ScriptedProvider(["x"]), tools=[count_0, Counter("mcp:demo")])
    with pytest.raises(ToolDefinitionError, match=r"two tools are named 'count_0'.*mcp:demo.*prefix"):
        agent.run("go")


def test_close_aclose_and_with_close_the_agents_toolsets() -> None:
    toolset = Counter()
    agent = Agent("scripted/test", provider=ScriptedProvider(["a", "b", "c"]), tools=[toolset])
    agent.run("one")
    agent.run("two")
    assert toolset.closed == 0  # stays open across runs
    agent.close()
    assert toolset.closed == 1
    with agent:
        pass
    assert toolset.closed == 2

    async def main() -> None:
        async with agent:
            await agent.arun("three")
        assert toolset.closed == 3

    asyncio.run(main())
    with Counter() as own:
        pass
    assert own.closed == 1


def test_resolve_tools_refuses_toolsets_and_resolve_tool_items_keeps_them() -> None:
    toolset = Counter()
    with pytest.raises(ToolDefinitionError, match="counter provide tools only when connected"):
        resolve_tools([toolset])
    resolved = resolve_tool_items([toolset, toolset])
    assert resolved.toolsets == [toolset] and resolved.tools == []


# -- tool sources --------------------------------------------------------------------------------

made: list[tuple[str, SourceContext]] = []


def resolver(spec: str, context: SourceContext) -> Any:
    made.append((spec, context))
    known = (context.sections or {}).get("demo", {}).get("servers", {"alpha": {}})
    if spec not in known:
        raise ConfigError(f"no demo server named {spec!r}; defined: {', '.join(sorted(known))}")
    return context.shared.setdefault(spec, Counter(f"demo:{spec}"))


@agentkit.hookimpl
def register_tools(registry):  # type: ignore[no-untyped-def]
    registry.add_source("demo", resolver, description="demo toolsets")


@agentkit.hookimpl
def register_config_sections(registry):  # type: ignore[no-untyped-def]
    registry.add("demo", {"type": "object"})


@pytest.fixture
def host() -> PluginHost:
    made.clear()
    host = PluginHost(entry_points=False)
    host.register(
        SimpleNamespace(register_tools=register_tools, register_config_sections=register_config_sections),
        name="agentkit-demo",
    )
    return host


def test_a_tool_source_resolves_prefixed_names_once_per_agent(host: PluginHost) -> None:
    provider = ScriptedProvider(["a", "b"])
    agent = Agent("scripted/test", provider=provider, tools=["demo:alpha"], plugin_host=host)
    agent.run("one")
    agent.run("two", tools=["demo:alpha"])  # a run's own tools: the same connection
    assert len({id(ctx.shared["alpha"]) for _, ctx in made}) == 1
    assert host.registry("tool_source").get("demo").plugin == "agentkit-demo"
    toolset = made[0][1].shared["alpha"]
    agent.close()
    assert toolset.closed == 1


def test_a_config_agent_names_a_configured_source_and_unknown_names_list_what_exists(
    host: PluginHost, tmp_path: Path
) -> None:
    path = tmp_path / "agentkit.toml"
    path.write_text(
        '[demo.servers.beta]\n[demo.servers.gamma]\n'
        '[agents.a]\nmodel = "scripted/x"\ntools = ["demo:beta"]\n'
        '[agents.b]\nmodel = "scripted/x"\ntools = ["demo:delta"]\n'
    )
    config = load_config(path, host=host)
    agent = config.agent("a")
    assert [t.name for t in agent.settings.tools] == ["demo:beta"]
    with pytest.raises(ConfigError) as info:
        config.agent("b")
    assert "agents.b.tools[0]" in str(info.value) and "defined: beta, gamma" in str(info.value)
