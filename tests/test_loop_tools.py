"""Tool calls in the loop: concurrency, order, errors for the model, budgets, timeouts, caps."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    ToolArgumentsError,
    ToolCall,
    ToolError,
    ToolMessage,
    ToolTimeoutError,
    UnknownToolError,
)
from agentkit.testing import tool_call, tool_calls
from agentkit.tools import tool


def _tool_results(messages: Any) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def _every_call_answered_once(messages: Any) -> None:
    calls = [c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    answers = [m.tool_call_id for m in messages if isinstance(m, ToolMessage)]
    assert sorted(calls) == sorted(answers)
    assert len(set(answers)) == len(answers)


async def test_calls_of_one_turn_run_concurrently_results_in_call_order(scripted_agent: Any) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    @tool
    async def slow_async(n: int) -> str:
        """Async wait."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await asyncio.sleep(0.2 - n * 0.05)
        with lock:
            running -= 1
        return f"async {n}"

    @tool
    def slow_sync(n: int) -> str:
        """Sync wait (runs in a thread)."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2 - n * 0.05)
        with lock:
            running -= 1
        return f"sync {n}"

    script = [
        tool_calls(("slow_async", {"n": 0}), ("slow_sync", {"n": 1}), ("slow_async", {"n": 2}), ("slow_sync", {"n": 3})),
        "done",
    ]
    agent = scripted_agent(script, tools=[slow_async, slow_sync])
    result = await agent.arun("go")
    assert peak == 4
    assert [m.content for m in _tool_results(result.messages)] == ["async 0", "sync 1", "async 2", "sync 3"]
    assert [m.tool_call_id for m in _tool_results(result.messages)] == ["call_1", "call_2", "call_3", "call_4"]
    _every_call_answered_once(result.messages)


def test_tool_exception_becomes_an_error_result(scripted_agent: Any) -> None:
    @tool
    def divide(a: float, b: float) -> float:
        """Divide."""
        return a / b

    agent = scripted_agent([tool_calls(("divide", {"a": 1, "b": 0})), "cannot divide"], tools=[divide])
    result = agent.run("1/0")
    error = _tool_results(result.messages)[0]
    assert error.is_error
    assert error.content == "Error: ZeroDivisionError: float division by zero"
    assert "Traceback" not in error.content
    # the model saw the error
    assert agent.provider.requests[1].messages[-1] == error


def test_invalid_arguments_name_the_path(scripted_agent: Any) -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    script = [tool_calls(("add", {"a": "one", "b": 2})), tool_calls(("add", {"a": 1, "b": 2})), "3"]
    agent = scripted_agent(script, tools=[add])
    result = agent.run("1+2")
    first, second = _tool_results(result.messages)
    assert first.is_error
    assert "@ $.a" in first.content and "invalid arguments for tool 'add'" in first.content
    assert second.content == "3" and not second.is_error


def test_arguments_that_are_not_json(scripted_agent: Any) -> None:
    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    script = [AssistantMessage(tool_calls=[ToolCall("c1", "echo", '{"text": ')]), "gave up"]
    agent = scripted_agent(script, tools=[echo])
    result = agent.run("x")
    assert "not valid JSON" in _tool_results(result.messages)[0].content


def test_unknown_tool_lists_the_available_ones(scripted_agent: Any) -> None:
    @tool
    def search(q: str) -> str:
        """Search."""
        return q

    @tool
    def fetch(url: str) -> str:
        """Fetch."""
        return url

    agent = scripted_agent([tool_calls(("browse", {})), "ok"], tools=[search, fetch])
    result = agent.run("x")
    error = _tool_results(result.messages)[0]
    assert error.is_error
    assert error.content == "Error: there is no tool named 'browse'. Available tools: fetch, search."


def test_per_tool_budget_then_raise(scripted_agent: Any) -> None:
    @tool
    def flaky() -> str:
        """Always fails."""
        raise RuntimeError("boom")

    script = [tool_calls(("flaky", {}))] * 3 + ["never"]
    agent = scripted_agent(script, tools=[flaky], tool_retries=2)
    with pytest.raises(ToolError, match=r"tool 'flaky' failed: RuntimeError: boom.*tool_retries=2") as info:
        agent.run("x")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert len(agent.provider.requests) == 3


def test_success_resets_a_tools_budget(scripted_agent: Any) -> None:
    outcomes = iter([RuntimeError("1"), "ok", RuntimeError("2"), "ok", RuntimeError("3")])

    @tool(repeatable=True)  # the same call gives another outcome: the loop guard must not answer it
    def sometimes() -> str:
        """Fails every other call."""
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    script = [tool_calls(("sometimes", {}))] * 5 + ["done"]
    agent = scripted_agent(script, tools=[sometimes], tool_retries=1)
    result = agent.run("x")
    assert result.text == "done"
    assert [m.is_error for m in _tool_results(result.messages)] == [True, False, True, False, True]


def test_run_budget_stops_invented_names(scripted_agent: Any) -> None:
    script = [tool_calls((f"made_up_{i}", {})) for i in range(20)]
    agent = scripted_agent(script, tool_retries=1, max_turns=50)
    with pytest.raises(ToolError, match=r"tool calls failed in this run \(the budget is 6\)"):
        agent.run("x")
    assert len(agent.provider.requests) == 7


def test_unknown_name_past_its_budget_raises_unknown_tool_error(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("ghost", {}))] * 2, tool_retries=1)
    with pytest.raises(UnknownToolError) as info:
        agent.run("x")
    assert info.value.tool == "ghost"


def test_invalid_arguments_past_budget_raise_arguments_error(scripted_agent: Any) -> None:
    @tool
    def need_int(n: int) -> int:
        """Needs an int."""
        return n

    agent = scripted_agent([tool_calls(("need_int", {"n": "x"}))], tools=[need_int], tool_retries=0)
    with pytest.raises(ToolArgumentsError) as info:
        agent.run("x")
    assert info.value.errors and "@ $.n" in info.value.errors[0]


def test_timeout_cancels_and_tells_the_model(scripted_agent: Any) -> None:
    cancelled = threading.Event()

    @tool
    async def hang() -> str:
        """Never returns."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "no"

    agent = scripted_agent([tool_calls(("hang", {})), "it hung"], tools=[hang], tool_timeout=0.2)
    result = agent.run("x")
    error = _tool_results(result.messages)[0]
    assert error.is_error
    assert error.content == "Error: tool 'hang' did not finish within 0.2 s and was cancelled."
    assert cancelled.is_set()


async def test_a_timed_out_sync_tool_is_said_to_run_on_and_does(scripted_agent: Any, tmp_path: Any) -> None:
    """A thread cannot be stopped: the model is told the tool is still running, and it is."""
    release = threading.Event()
    finished = threading.Event()
    marker = tmp_path / "written.txt"

    @tool
    def slow_write() -> str:
        """Writes a file, slowly."""
        release.wait(30)
        marker.write_text("side effect")
        finished.set()
        return "written"

    agent = scripted_agent([tool_calls(("slow_write", {})), "gave up"], tools=[slow_write], tool_timeout=0.2)
    try:
        result = await agent.arun("x")
        assert not finished.is_set()
    finally:
        release.set()
    error = _tool_results(result.messages)[0]
    assert error.is_error
    assert "was cancelled" not in error.content
    assert error.content.startswith("Error: tool 'slow_write' did not finish within 0.2 s.")
    assert "still running" in error.content and "side effects included" in error.content
    assert await asyncio.to_thread(finished.wait, 30), "the function ran on to its end, as the model was told"
    assert marker.read_text() == "side effect"


async def test_a_timed_out_sync_tool_raises_saying_it_runs_on(scripted_agent: Any) -> None:
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Blocks."""
        release.wait(30)
        return "late"

    agent = scripted_agent([tool_calls(("stuck", {}))], tools=[stuck], tool_timeout=0.2, tool_errors="raise")
    try:
        with pytest.raises(ToolTimeoutError) as info:
            await agent.arun("x")
    finally:
        release.set()
    assert info.value.still_running is True
    assert "could not be stopped" in str(info.value)


def test_a_tools_own_timeout_wins(scripted_agent: Any) -> None:
    @tool(timeout=0.1)
    async def quick_limit() -> str:
        """Has its own limit."""
        await asyncio.sleep(5)
        return "no"

    agent = scripted_agent([tool_calls(("quick_limit", {})), "ok"], tools=[quick_limit], tool_timeout=60)
    result = agent.run("x")
    assert "within 0.1 s" in _tool_results(result.messages)[0].content


def test_tool_errors_raise(scripted_agent: Any) -> None:
    @tool
    def bad() -> str:
        """Fails."""
        raise ValueError("nope")

    agent = scripted_agent([tool_calls(("bad", {}))], tools=[bad], tool_errors="raise")
    with pytest.raises(ToolError, match="tool 'bad' failed: ValueError: nope") as info:
        agent.run("x")
    assert isinstance(info.value.__cause__, ValueError)


def test_tool_errors_raise_on_timeout(scripted_agent: Any) -> None:
    @tool
    async def hang() -> str:
        """Hangs."""
        await asyncio.sleep(5)
        return "no"

    agent = scripted_agent([tool_calls(("hang", {}))], tools=[hang], tool_errors="raise", tool_timeout=0.1)
    with pytest.raises(ToolTimeoutError):
        agent.run("x")


def test_huge_result_is_capped_with_a_marker(scripted_agent: Any) -> None:
    @tool
    def big() -> str:
        """A lot of text."""
        return "x" * 100_000

    agent = scripted_agent([tool_calls(("big", {})), "ok"], tools=[big])
    agent.tool_result_limit = 1000
    result = agent.run("x")
    content = _tool_results(result.messages)[0].content
    assert content.startswith("x" * 1000)
    assert "99000 more characters cut" in content
    assert len(content) < 1100


def test_non_string_results_are_json(scripted_agent: Any) -> None:
    @tool
    def data() -> dict[str, Any]:
        """Structured data."""
        return {"a": [1, 2], "b": None}

    agent = scripted_agent([tool_calls(("data", {})), "ok"], tools=[data])
    result = agent.run("x")
    assert _tool_results(result.messages)[0].content == '{"a": [1, 2], "b": null}'


def test_call_cut_off_by_length_is_never_run(scripted_agent: Any) -> None:
    ran = []

    @tool
    def delete_everything(path: str) -> str:
        """Dangerous."""
        ran.append(path)
        return "deleted"

    cut = AssistantMessage(
        tool_calls=[tool_call("delete_everything", '{"path": "/tmp/a"}', id="c1")], finish_reason="length"
    )
    agent = scripted_agent([cut, "ok, I stop"], tools=[delete_everything])
    result = agent.run("x")
    assert ran == []
    error = _tool_results(result.messages)[0]
    assert error.is_error and "cut off by the output length limit" in error.content
    _every_call_answered_once(result.messages)


def test_tools_by_registered_name_and_import_path(scripted_agent: Any, plugin_host: Any) -> None:
    from agentkit.hookspecs import hookimpl

    class Plugin:
        @hookimpl
        def register_tools(self, registry: Any) -> None:
            def shout(text: str) -> str:
                """Upper-case."""
                return text.upper()

            registry.add(shout)

    plugin_host.register(Plugin(), name="shouting")
    script = [tool_calls(("shout", {"text": "hi"}), ("basename", {"p": "/a/b.txt"})), "done"]
    agent = scripted_agent(script, tools=["shout", "posixpath:basename"])
    result = agent.run("x")
    assert [m.content for m in _tool_results(result.messages)] == ["HI", "b.txt"]


def test_duplicate_tool_names_are_an_error(scripted_agent: Any) -> None:
    def one() -> str:
        """One."""
        return "1"

    def two() -> str:
        """Two."""
        return "2"

    agent = scripted_agent(["x"], tools=[tool(one, name="same"), tool(two, name="same")])
    with pytest.raises(ToolError, match="two different tools are named 'same'"):
        agent.run("x")
