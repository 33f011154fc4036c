"""Lifecycle hooks: plugins' (pluggy) and per-agent ones; intercepting, observing, failing."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest

from agentkit import (
    AssistantMessage,
    ConfigError,
    ModelRequest,
    ModelResponse,
    PluginError,
    RunContext,
    RunResult,
    ToolCall,
    ToolMessage,
)
from agentkit.hookspecs import LIFECYCLE_HOOKS, hookimpl
from agentkit.testing import tool_calls
from agentkit.tools import tool

calls_made: list[str] = []


@tool
def add(a: int, b: int) -> int:
    """Add."""
    calls_made.append("add")
    return a + b


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls_made.clear()


class Everything:
    """A plugin implementing every lifecycle hook, recording what it saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def around_run(self, ctx: RunContext) -> Any:
        self.seen.append("around_run:enter")
        result = yield
        self.seen.append(f"around_run:{result.text}")

    @hookimpl
    def around_model_call(self, ctx: RunContext, request: ModelRequest, provider: Any) -> Any:
        self.seen.append(f"around_model_call:{ctx.turn}")
        response = yield
        self.seen.append(f"around_model_call:{response.finish_reason}")

    @hookimpl
    async def around_tool_call(self, ctx: RunContext, call: ToolCall) -> Any:
        self.seen.append(f"around_tool_call:{call.name}")
        result = yield
        self.seen.append(f"around_tool_call:{result.content}")

    @hookimpl
    def before_run(self, ctx: RunContext) -> None:
        self.seen.append(f"before_run:{ctx.messages[-1].text}")

    @hookimpl
    def before_model_call(self, ctx: RunContext, request: ModelRequest) -> None:
        self.seen.append(f"before_model_call:{ctx.turn}")

    @hookimpl
    async def after_model_call(self, ctx: RunContext, request: ModelRequest, response: ModelResponse) -> None:
        self.seen.append(f"after_model_call:{len(response.message.tool_calls)}")

    @hookimpl
    def before_tool_call(self, ctx: RunContext, call: ToolCall) -> None:
        self.seen.append(f"before_tool_call:{call.name}")

    @hookimpl
    def after_tool_call(self, ctx: RunContext, call: ToolCall, result: ToolMessage) -> None:
        self.seen.append(f"after_tool_call:{result.content}")

    @hookimpl
    def on_event(self, ctx: RunContext, event: Any) -> None:
        self.seen.append(f"on_event:{event.type}")

    @hookimpl
    def after_run(self, ctx: RunContext, result: RunResult) -> None:
        self.seen.append(f"after_run:{result.text}")


def test_plugin_hooks_in_run_order(scripted_agent: Any, plugin_host: Any) -> None:
    plugin = Everything()
    plugin_host.register(plugin, name="everything")
    agent = scripted_agent([tool_calls(("add", {"a": 1, "b": 2})), "three"], tools=[add])
    agent.run("sum")
    assert plugin.seen == [
        "around_run:enter",
        "before_run:sum",
        "around_model_call:1",
        "before_model_call:1",
        "after_model_call:1",
        "around_model_call:tool_calls",
        "on_event:turn_completed",
        "around_tool_call:add",
        "before_tool_call:add",
        "after_tool_call:3",
        "around_tool_call:3",
        "on_event:tool_result",
        "around_model_call:2",
        "before_model_call:2",
        "after_model_call:0",
        "around_model_call:stop",
        "on_event:turn_completed",
        "after_run:three",
        "on_event:run_completed",
        "around_run:three",
    ]
    assert set(LIFECYCLE_HOOKS) - {"on_run_error"} == {s.split(":")[0] for s in plugin.seen}


def test_before_model_call_skips_the_call(scripted_agent: Any, plugin_host: Any) -> None:
    class Canned:
        @hookimpl
        def before_model_call(self, request: ModelRequest) -> ModelResponse:
            return ModelResponse(AssistantMessage("canned answer"))

    plugin_host.register(Canned(), name="canned")
    agent = scripted_agent([])
    result = agent.run("hi")
    assert result.text == "canned answer"
    assert agent.provider.requests == []
    assert result.usage.requests == 0


def test_after_model_call_replaces_the_response(scripted_agent: Any) -> None:
    async def after_model_call(response: ModelResponse) -> ModelResponse:
        return attrs.evolve(response, message=attrs.evolve(response.message, content=response.message.content.upper()))

    agent = scripted_agent(["quiet"], hooks={"after_model_call": after_model_call})
    result = agent.run("hi")
    assert result.text == "QUIET"
    assert result.messages[-1].content == "QUIET"


def test_tool_hooks_skip_and_replace(scripted_agent: Any) -> None:
    class Hooks:
        def before_tool_call(self, call: ToolCall) -> str | None:
            return "skipped by hook" if call.name == "add" and '"a": 0' in call.arguments else None

        async def after_tool_call(self, call: ToolCall, result: ToolMessage) -> ToolMessage:
            return ToolMessage("wrong-id", "wrong-name", result.content + "!")

    script = [tool_calls(("add", {"a": 0, "b": 1}), ("add", {"a": 2, "b": 2})), "done"]
    agent = scripted_agent(script, tools=[add], hooks=Hooks())
    result = agent.run("x")
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [r.content for r in results] == ["skipped by hook!", "4!"]
    # a replacement always answers the call it replaces
    assert [(r.tool_call_id, r.name) for r in results] == [("call_1", "add"), ("call_2", "add")]
    assert calls_made == ["add"]


def test_before_tool_call_comes_after_validation(scripted_agent: Any) -> None:
    seen: list[str] = []
    hooks = {
        "before_tool_call": lambda call: seen.append("before") and None,
        "after_tool_call": lambda result: seen.append("after:" + str(result.is_error)) and None,
    }
    agent = scripted_agent([tool_calls(("add", {"a": "x", "b": 1})), "ok"], tools=[add], hooks=hooks)
    agent.run("x")
    assert seen == ["after:True"]


def test_after_run_replaces_the_result(scripted_agent: Any) -> None:
    agent = scripted_agent(["original"], hooks={"after_run": lambda result: attrs.evolve(result, text="replaced")})
    assert agent.run("x").text == "replaced"


def test_agent_hooks_run_before_plugin_hooks(scripted_agent: Any, plugin_host: Any) -> None:
    class PluginCanned:
        @hookimpl
        def before_model_call(self) -> ModelResponse:
            return ModelResponse(AssistantMessage("from the plugin"))

    plugin_host.register(PluginCanned(), name="plugin-canned")
    agent = scripted_agent([], hooks={"before_model_call": lambda: ModelResponse(AssistantMessage("from the agent"))})
    assert agent.run("x").text == "from the agent"


def test_hooks_as_a_list_of_objects_and_dicts(scripted_agent: Any) -> None:
    seen: list[str] = []

    class A:
        def before_run(self) -> None:
            seen.append("A")

    agent = scripted_agent(["ok"], hooks=[A(), {"before_run": lambda: seen.append("B")}])
    agent.run("x")
    assert seen == ["A", "B"]


def test_failing_observer_is_logged_and_the_run_goes_on(scripted_agent: Any, caplog: pytest.LogCaptureFixture) -> None:
    def on_event(event: Any) -> None:
        raise RuntimeError("observer broke")

    agent = scripted_agent(["fine"], hooks={"on_event": on_event})
    with caplog.at_level(logging.WARNING, logger="agentkit.lifecycle"):
        assert agent.run("x").text == "fine"
    assert "observer broke" in caplog.text
    assert "Traceback" not in caplog.text


def test_failing_interceptor_fails_the_run(scripted_agent: Any) -> None:
    def before_model_call() -> None:
        raise RuntimeError("interceptor broke")

    agent = scripted_agent(["never"], hooks={"before_model_call": before_model_call})
    with pytest.raises(RuntimeError, match="interceptor broke"):
        agent.run("x")
    assert agent.provider.requests == []


def test_wrong_return_type_names_the_hook(scripted_agent: Any) -> None:
    agent = scripted_agent(["never"], hooks={"before_model_call": lambda: "a string"})
    with pytest.raises(PluginError, match=r"hook before_model_call .* returned str; expected ModelResponse or None"):
        agent.run("x")


def test_unknown_hook_names_are_rejected(scripted_agent: Any) -> None:
    with pytest.raises(ConfigError, match="unknown hook 'before_runn'"):
        scripted_agent(["x"], hooks={"before_runn": lambda: None})

    class Nothing:
        pass

    with pytest.raises(ConfigError, match="has none of the hook methods"):
        scripted_agent(["x"], hooks=Nothing())


def test_before_run_can_stop_before_any_model_call(scripted_agent: Any) -> None:
    agent = scripted_agent(["never"], hooks={"before_run": lambda ctx: ctx.stop()})
    result = agent.run("x")
    assert result.stopped and result.turns == 0
    assert agent.provider.requests == []
