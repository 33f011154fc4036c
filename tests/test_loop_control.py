"""Ending runs: stop() after the current turn, abort() at once, max_turns, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    MaxTurnsError,
    ModelRequest,
    RunAbortedError,
    RunContext,
    TextDelta,
    ToolMessage,
)
from agentkit.testing import tool_calls
from agentkit.tools import tool


def _answered_once(messages: Any) -> None:
    """Each assistant turn's calls are answered, in order, by the tool messages right after it."""
    messages = list(messages)
    for i, message in enumerate(messages):
        if isinstance(message, AssistantMessage) and message.tool_calls:
            following = []
            for later in messages[i + 1 :]:
                if not isinstance(later, ToolMessage):
                    break
                following.append(later.tool_call_id)
            assert following == [c.id for c in message.tool_calls]


def test_ctx_stop_from_a_tool_finishes_the_turn(scripted_agent: Any) -> None:
    @tool
    def first(ctx: RunContext) -> str:
        """Stops the run."""
        ctx.stop()
        return "first done"

    @tool
    async def second() -> str:
        """Still runs: it is part of the same turn."""
        await asyncio.sleep(0.05)
        return "second done"

    agent = scripted_agent([tool_calls(("first", {}), ("second", {}), text="working"), "never"], tools=[first, second])
    result = agent.run("go")
    assert result.stopped is True
    assert [m.content for m in result.messages if isinstance(m, ToolMessage)] == ["first done", "second done"]
    assert result.text == "working"
    assert len(agent.provider.requests) == 1
    _answered_once(result.messages)


def test_agent_stop_from_a_hook(scripted_agent: Any) -> None:
    holder: dict[str, Any] = {}

    def after_model_call(ctx: RunContext) -> None:
        holder["agent"].stop()

    agent = scripted_agent([tool_calls(("noop", {})), "never"], tools=[_noop], hooks={"after_model_call": after_model_call})
    holder["agent"] = agent
    result = agent.run("go")
    assert result.stopped is True
    assert isinstance(result.messages[-1], ToolMessage)
    assert result.turns == 1


@tool
def _noop() -> str:
    """Nothing."""
    return "ok"


_noop = _noop.renamed("noop")


def test_stop_without_a_run_is_harmless(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"])
    agent.stop()
    agent.abort()
    assert agent.run("x").stopped is False


def test_abort_from_an_async_tool_gives_the_partial(scripted_agent: Any) -> None:
    holder: dict[str, Any] = {}

    fast_done = threading.Event()

    @tool
    async def pull_the_plug() -> str:
        """Aborts once ``fast`` is done."""
        while not fast_done.is_set():  # its thread may not even have started yet
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # and its result is handed back to the loop
        holder["agent"].abort()
        await asyncio.sleep(5)
        return "never"

    @tool
    def fast() -> str:
        """Finishes before the abort lands."""
        fast_done.set()
        return "fast result"

    script = [tool_calls(("fast", {}), ("pull_the_plug", {})), "never"]
    agent = scripted_agent(script, tools=[fast, pull_the_plug])
    holder["agent"] = agent
    started = time.monotonic()
    with pytest.raises(RunAbortedError) as info:
        agent.run("go")
    assert time.monotonic() - started < 4
    partial = info.value.partial
    assert partial.stopped is True
    roles = [m.role for m in partial.messages]
    assert roles == ["user", "assistant", "tool", "tool"]
    fast_result, plug_result = partial.messages[2:]
    assert fast_result.content == "fast result"
    assert plug_result.is_error and plug_result.content.startswith("Interrupted")
    _answered_once(partial.messages)


def test_abort_from_a_sync_tool_in_its_thread(scripted_agent: Any) -> None:
    holder: dict[str, Any] = {}

    @tool
    def blocker() -> str:
        """Aborts from a worker thread."""
        holder["agent"].abort()
        time.sleep(0.2)
        return "late"

    agent = scripted_agent([tool_calls(("blocker", {})), "never"], tools=[blocker])
    holder["agent"] = agent
    with pytest.raises(RunAbortedError):
        agent.run("go")
    assert len(agent.provider.requests) == 1


def test_abort_from_another_thread_during_the_model_call(scripted_agent: Any) -> None:
    entered = threading.Event()

    async def slow_model(request: ModelRequest) -> str:
        entered.set()
        await asyncio.sleep(10)
        return "too late"

    agent = scripted_agent([slow_model])

    def aborter() -> None:
        entered.wait(10)
        agent.abort()

    thread = threading.Thread(target=aborter)
    thread.start()
    with pytest.raises(RunAbortedError) as info:
        agent.run("hello")
    thread.join()
    assert [m.role for m in info.value.partial.messages] == ["user"]


async def test_abort_while_streaming_keeps_the_text_so_far(scripted_agent: Any) -> None:
    agent = scripted_agent(["a long answer that will be cut short"])
    seen = []
    with pytest.raises(RunAbortedError) as info:
        async for event in agent.astream("go"):
            if isinstance(event, TextDelta):
                seen.append(event.text)
                if len(seen) == 2:
                    agent.abort()
    assert info.value.partial.text.startswith("".join(seen))


def test_abort_from_on_event_hook(scripted_agent: Any) -> None:
    holder: dict[str, Any] = {}

    def on_event(event: Any) -> None:
        if event.type == "turn_completed":
            holder["agent"].abort()

    @tool
    async def wait() -> str:
        """Waits."""
        await asyncio.sleep(5)
        return "x"

    agent = scripted_agent([tool_calls(("wait", {})), "never"], tools=[wait], hooks={"on_event": on_event})
    holder["agent"] = agent
    with pytest.raises(RunAbortedError):
        agent.run("go")


def test_max_turns_raises_with_the_partial(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("noop", {}))], tools=[_noop], max_turns=3, provider_options={"repeat_last": True})
    with pytest.raises(MaxTurnsError) as info:
        agent.run("loop forever")
    error = info.value
    assert error.max_turns == 3
    assert "max_turns=3" in str(error)
    assert error.partial.turns == 3
    assert error.partial.stopped is False
    assert [m.role for m in error.partial.messages] == ["user"] + ["assistant", "tool"] * 3
    _answered_once(error.partial.messages)
    assert len(agent.provider.requests) == 3


def test_max_turns_override_per_run(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("noop", {}))], tools=[_noop], provider_options={"repeat_last": True})
    with pytest.raises(MaxTurnsError) as info:
        agent.run("x", max_turns=1)
    assert info.value.partial.turns == 1


async def test_outside_cancellation_is_not_an_abort(scripted_agent: Any) -> None:
    async def slow_model(request: ModelRequest) -> str:
        await asyncio.sleep(10)
        return "late"

    agent = scripted_agent([slow_model])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(agent.arun("x"), 0.1)


async def test_leaving_a_stream_early_cancels_the_run(scripted_agent: Any) -> None:
    cancelled = asyncio.Event()

    @tool
    async def long_tool() -> str:
        """Runs long."""
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "x"

    agent = scripted_agent([tool_calls(("long_tool", {})), "never"], tools=[long_tool])
    stream = agent.astream("go")
    async for event in stream:
        if event.type == "turn_completed":
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.wait_for(cancelled.wait(), 5)


def test_leaving_a_sync_stream_early(scripted_agent: Any) -> None:
    agent = scripted_agent(["one two three four five"])
    stream = agent.stream("go")
    first = next(iter(stream))
    assert isinstance(first, TextDelta)
    stream.close()  # type: ignore[attr-defined]
    assert agent._active == set()


def test_stopped_text_run_has_its_text_as_output(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("noop", {}), text="thinking"), "never"], tools=[_noop],
                           hooks={"after_model_call": lambda ctx: ctx.stop()})
    result = agent.run("go")
    assert result.stopped and result.output == "thinking" == result.text


def test_abort_partial_keeps_answers_known_in_that_turn(scripted_agent: Any) -> None:
    """A turn with a final_answer call and a hanging tool: the partial answers both, in order."""
    import attrs as _attrs

    @_attrs.frozen
    class Out:
        n: int

    holder: dict[str, Any] = {}

    @tool
    async def hang() -> str:
        """Aborts, then hangs."""
        holder["agent"].abort()
        await asyncio.sleep(5)
        return "never"

    turn = tool_calls(("final_answer", {"n": "not a number"}), ("hang", {}))
    agent = scripted_agent([turn], tools=[hang], output_type=Out)
    holder["agent"] = agent
    with pytest.raises(RunAbortedError) as info:
        agent.run("go")
    first, second = info.value.partial.messages[-2:]
    assert first.name == "final_answer" and "@ $.n" in first.content
    assert second.name == "hang" and second.content.startswith("Interrupted")
    _answered_once(info.value.partial.messages)
