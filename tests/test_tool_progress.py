"""Tools report progress through ``RunContext.report_progress``: ToolProgress events in the
stream, in order before the tool's result, seen by ``on_event`` and shown by the CLI."""

from __future__ import annotations

import asyncio
import io

from agentkit import Agent, RunContext, ToolCallResult, ToolProgress, TurnCompleted, from_dict, to_dict, tool
from agentkit.cli._render import EventPrinter
from agentkit.run_context import current_tool_call
from agentkit.testing import ScriptedProvider, tool_calls


@tool
async def crunch(steps: int, ctx: RunContext) -> str:
    """Crunch numbers, step by step."""
    for i in range(1, steps + 1):
        await asyncio.sleep(0)
        await ctx.report_progress(i, total=steps, message=f"step {i}")
    return "crunched"


def _agent() -> Agent:
    provider = ScriptedProvider([tool_calls(("crunch", {"steps": 3})), "done"])
    return Agent("scripted/test", provider=provider, tools=[crunch])


def test_progress_events_come_between_the_call_and_its_result() -> None:
    events = list(_agent().stream("go"))
    kinds = [e.type for e in events if e.type in ("turn_completed", "tool_progress", "tool_result")]
    assert kinds == ["turn_completed", "tool_progress", "tool_progress", "tool_progress", "tool_result", "turn_completed"]
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert [(p.progress, p.total, p.message) for p in progress] == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
    call = next(e for e in events if isinstance(e, TurnCompleted)).response.message.tool_calls[0]
    assert {p.call_id for p in progress} == {call.id} and {p.name for p in progress} == {"crunch"}
    result = next(e for e in events if isinstance(e, ToolCallResult))
    assert result.result.content == "crunched"


def test_non_streaming_runs_show_progress_to_on_event_hooks() -> None:
    seen: list[ToolProgress] = []

    class Hooks:
        def on_event(self, ctx: RunContext, event: object) -> None:
            if isinstance(event, ToolProgress):
                seen.append(event)

    agent = _agent()
    agent.hooks = Hooks()
    assert agent.run("go").text == "done"
    assert [p.progress for p in seen] == [1, 2, 3]


def test_progress_outside_a_tool_call_does_nothing() -> None:
    ctx = RunContext(agent=None, run_id="r", model="m")
    asyncio.run(ctx.report_progress(1))
    assert current_tool_call() is None


def test_progress_events_round_trip_as_json() -> None:
    event = ToolProgress("call_1", "crunch", 2.0, 5.0, "halfway")
    data = to_dict(event)
    assert data == {"type": "tool_progress", "call_id": "call_1", "name": "crunch", "progress": 2.0,
                    "total": 5.0, "message": "halfway"}
    assert from_dict(data, ToolProgress) == event


def test_the_cli_shows_progress_lines() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = EventPrinter(out=out, err=err)
    for event in _agent().stream("go"):
        printer.event(event)
    printer.close()
    assert "… crunch 1/3 step 1" in err.getvalue() and "… crunch 3/3 step 3" in err.getvalue()
    assert err.getvalue().index("⚙ crunch") < err.getvalue().index("… crunch 1/3") < err.getvalue().index("↳ crunched")
