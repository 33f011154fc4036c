"""Lifecycle hooks are called by pluggy (issue 15 §3): wrappers on every lifecycle hook,
tryfirst/trylast order, firstresult with async implementations, hook monitoring and tracing,
per-agent hooks kept per agent; and on_run_error for runs that fail (issue 23)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    ConfigError,
    MaxTurnsError,
    ModelResponse,
    RunAbortedError,
    RunResult,
)
from agentkit.errors import ServerError
from agentkit.hookspecs import LIFECYCLE_HOOKS, hookimpl
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def plugin(name: str, function: Any) -> SimpleNamespace:
    """A plugin object implementing hook ``name`` with ``function``."""
    return SimpleNamespace(**{name: function})


def agent_on(host: Any, script: list[Any], **options: Any) -> Agent:
    return Agent("scripted/test", provider=ScriptedProvider(script), plugin_host=host, tools=[add], **options)


# A script that meets every hook but on_run_error; with max_turns=1 it meets on_run_error too.
SCRIPT = [tool_calls(("add", {"a": 1, "b": 2})), "three"]


def run_meeting(host: Any, hook: str) -> Any:
    if hook == "on_run_error":
        with pytest.raises(MaxTurnsError):
            agent_on(host, SCRIPT, max_turns=1).run("sum")
        return None
    return agent_on(host, SCRIPT).run("sum")


@pytest.mark.parametrize("inner_is_async", [False, True], ids=["plain", "async"])
@pytest.mark.parametrize("hook", LIFECYCLE_HOOKS)
def test_a_wrapper_runs_around_every_lifecycle_hook(plugin_host: Any, hook: str, inner_is_async: bool) -> None:
    seen: list[Any] = []

    @hookimpl(wrapper=True)
    def wrapper(ctx: Any) -> Any:
        seen.append("wrapper: before")
        outcome = yield
        seen.append(("wrapper: after", outcome))
        return outcome

    if inner_is_async:

        @hookimpl
        async def inner(ctx: Any) -> None:
            await asyncio.sleep(0)
            seen.append("inner")
    else:

        @hookimpl
        def inner(ctx: Any) -> None:
            seen.append("inner")

    plugin_host.register(plugin(hook, inner), name="inner")
    plugin_host.register(plugin(hook, wrapper), name="wrapper")
    run_meeting(plugin_host, hook)
    if hook == "on_event" and inner_is_async:
        # on_event's async observers are started by pluggy's call and awaited right after it
        # (no thread hand-off for every delta): the wrapper wraps their start
        assert seen[:3] == ["wrapper: before", ("wrapper: after", []), "inner"]
    else:
        assert seen[:3] == ["wrapper: before", "inner", ("wrapper: after", seen[2][1])]
    outcomes = [entry[1] for entry in seen if isinstance(entry, tuple)]
    # the wrapper sees awaited results: never a coroutine, also of an async implementation
    for outcome in outcomes:
        assert not inspect.isawaitable(outcome)
        assert not any(inspect.isawaitable(o) for o in (outcome if isinstance(outcome, list) else ()))


def test_a_wrapper_sees_and_replaces_an_async_interceptor_s_answer(plugin_host: Any) -> None:
    class Inner:
        @hookimpl
        async def after_model_call(self, response: ModelResponse) -> ModelResponse:
            await asyncio.sleep(0)
            message = attrs.evolve(response.message, content=response.message.content.upper())
            return attrs.evolve(response, message=message)

    seen: list[Any] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def after_model_call(self, response: ModelResponse) -> Any:
            replaced = yield
            seen.append(replaced.message.content)
            return attrs.evolve(replaced, message=attrs.evolve(replaced.message, content=replaced.message.content + "!"))

    plugin_host.register(Inner(), name="inner")
    plugin_host.register(Wrapper(), name="wrapper")
    assert agent_on(plugin_host, ["quiet"]).run("x").text == "QUIET!"
    assert seen == ["QUIET"]


def test_a_wrapper_sees_an_exception_and_may_turn_it_into_a_result(plugin_host: Any) -> None:
    class Failing:
        @hookimpl
        async def before_tool_call(self) -> None:
            raise RuntimeError("hook broke")

    caught: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def before_tool_call(self) -> Any:
            try:
                return (yield)
            except RuntimeError as exc:
                caught.append(str(exc))
                return "answered by the wrapper"

    plugin_host.register(Failing(), name="failing")
    plugin_host.register(Wrapper(), name="wrapper")
    result = agent_on(plugin_host, SCRIPT).run("sum")
    assert caught == ["hook broke"]
    assert result.messages[2].content == "answered by the wrapper"


def test_old_style_hookwrappers_work_too(plugin_host: Any) -> None:
    seen: list[Any] = []

    class Legacy:
        @hookimpl(hookwrapper=True)
        def after_run(self, result: RunResult) -> Any:
            outcome = yield
            seen.append((result.text, outcome.get_result()))

    plugin_host.register(Legacy(), name="legacy")
    agent_on(plugin_host, ["done"]).run("x")
    assert seen == [("done", None)]


def test_tryfirst_trylast_and_registration_order(plugin_host: Any) -> None:
    order: list[str] = []

    def impl(label: str, **opts: Any) -> Any:
        @hookimpl(**opts)
        def before_run() -> None:
            order.append(label)

        return before_run

    plugin_host.register(plugin("before_run", impl("last", trylast=True)), name="last")
    plugin_host.register(plugin("before_run", impl("early")), name="early")
    plugin_host.register(plugin("before_run", impl("first", tryfirst=True)), name="first")
    plugin_host.register(plugin("before_run", impl("late")), name="late")
    agent_hooks = [{"before_run": lambda: order.append("agent 1")}, {"before_run": lambda: order.append("agent 2")}]
    agent_on(plugin_host, ["x"], hooks=agent_hooks).run("x")
    # tryfirst, then the latest registered (the agent's own count as registered last, in the
    # order given), then the others, trylast at the end
    assert order == ["first", "agent 1", "agent 2", "late", "early", "last"]


def test_per_agent_hooks_can_be_tryfirst_and_wrappers(plugin_host: Any) -> None:
    order: list[str] = []
    plugin_host.register(plugin("before_run", hookimpl(tryfirst=True)(lambda: order.append("plugin"))), name="p")

    class Mine:
        @hookimpl(tryfirst=True)
        def before_run(self) -> None:
            order.append("agent, tryfirst")

        @hookimpl(wrapper=True)
        def after_run(self, result: RunResult) -> Any:
            replaced = yield
            return attrs.evolve(replaced or result, text="wrapped")

    assert agent_on(plugin_host, ["x"], hooks=Mine()).run("x").text == "wrapped"
    assert order == ["agent, tryfirst", "plugin"]


def test_an_async_interceptor_that_declines_lets_the_next_one_answer(plugin_host: Any) -> None:
    asked: list[str] = []

    class Declines:
        @hookimpl(tryfirst=True)
        async def before_tool_call(self) -> None:
            await asyncio.sleep(0)
            asked.append("declined")

    class Answers:
        @hookimpl
        def before_tool_call(self) -> str:
            asked.append("answered")
            return "from the hook"

    plugin_host.register(Declines(), name="declines")
    plugin_host.register(Answers(), name="answers")
    result = agent_on(plugin_host, SCRIPT).run("sum")
    assert asked == ["declined", "answered"]
    assert result.messages[2].content == "from the hook"


def test_monitoring_sees_every_lifecycle_call_and_its_awaited_outcome(plugin_host: Any) -> None:
    class Replaces:
        @hookimpl
        async def after_model_call(self, response: ModelResponse) -> ModelResponse:
            return attrs.evolve(response, message=AssistantMessage("replaced"))

    plugin_host.register(Replaces(), name="replaces")
    calls: list[tuple[str, Any]] = []
    threads: set[str] = set()

    def before(name: str, impls: Any, kwargs: Any) -> None:
        calls.append((name, sorted(kwargs)))

    def after(outcome: Any, name: str, impls: Any, kwargs: Any) -> None:
        if name == "after_model_call":
            calls.append(("outcome", outcome.get_result().message.content))
        threads.add(threading.current_thread().name)

    undo = plugin_host.pm.add_hookcall_monitoring(before, after)
    try:
        assert agent_on(plugin_host, ["original"]).run("x").text == "replaced"
    finally:
        undo()
    names = [name for name, _ in calls]
    assert names == [
        "around_run", "before_run", "around_model_call", "before_model_call", "after_model_call", "outcome",
        "on_event", "after_run", "on_event",
    ]
    assert calls[0] == ("around_run", ["ctx"]) and calls[1] == ("before_run", ["ctx"])
    assert calls[2] == ("around_model_call", ["ctx", "provider", "request"]) and calls[5] == ("outcome", "replaced")
    agent_on(plugin_host, ["again"]).run("x")  # undone: nothing more is recorded
    assert len(calls) == 9


def test_tracing_shows_lifecycle_calls(plugin_host: Any) -> None:
    lines: list[str] = []
    plugin_host.pm.trace.root.setwriter(lines.append)
    undo = plugin_host.pm.enable_tracing()
    try:
        agent_on(plugin_host, SCRIPT).run("sum")
    finally:
        undo()
    text = "".join(lines)
    for hook in ("before_run", "before_model_call", "after_model_call", "before_tool_call", "after_tool_call",
                 "after_run"):
        assert f"{hook} [hook]" in text, hook
    assert "finish after_run -->" in text


def test_per_agent_hooks_stay_with_their_agent(plugin_host: Any) -> None:
    seen: list[str] = []
    mine = agent_on(plugin_host, ["a"], hooks={"before_run": lambda: seen.append("mine")})
    other = agent_on(plugin_host, ["b", "c"])
    other.run("x")
    mine.run("x")
    other.run("x")
    assert seen == ["mine"]
    assert plugin_host.pm.hook.before_run.get_hookimpls() == []  # never registered on the host


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        ({"before_run": hookimpl(wrapper=True)(lambda ctx: None)},
         r"hooks\.before_run: hook .* is declared wrapper=True but is not a generator function"),
        ({"after_tool_call": lambda call, outcome: None},
         r"hooks\.after_tool_call: hook .* takes 'outcome', which after_tool_call does not provide "
         r"\(it provides: ctx, call, result\)"),
        ({"before_run": hookimpl(specname="after_run")(lambda ctx: None)},
         r"hooks\.before_run: hook .* has specname='after_run'"),
    ],
)
def test_per_agent_hooks_are_checked_like_a_plugin_s(plugin_host: Any, hooks: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        agent_on(plugin_host, [], hooks=hooks)


async def test_abort_during_an_async_hook_cancels_it_and_wrappers_see_it(plugin_host: Any) -> None:
    entered = asyncio.Event()
    seen: list[Any] = []

    class Slow:
        @hookimpl
        async def before_tool_call(self) -> None:
            entered.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen.append("hook cancelled")
                raise

        @hookimpl(wrapper=True)
        def on_run_error(self, error: BaseException) -> Any:
            yield
            seen.append(("on_run_error", type(error).__name__))

    class Wrapper:
        @hookimpl(wrapper=True)
        def before_tool_call(self) -> Any:
            try:
                return (yield)
            except asyncio.CancelledError:
                seen.append("wrapper saw the cancellation")
                raise

    plugin_host.register(Slow(), name="slow")
    plugin_host.register(Wrapper(), name="wrapper")
    agent = agent_on(plugin_host, SCRIPT)
    task = asyncio.ensure_future(agent.arun("sum"))
    await asyncio.wait_for(entered.wait(), 30)
    agent.abort()
    with pytest.raises(RunAbortedError) as info:
        await asyncio.wait_for(task, 30)
    assert seen[0] == "hook cancelled" and "wrapper saw the cancellation" in seen
    assert seen[-1] == ("on_run_error", "RunAbortedError")
    assert info.value.partial.messages[-1].content.startswith("Interrupted")


async def test_async_hooks_that_use_threads_do_not_starve(plugin_host: Any) -> None:
    """Many runs at once, each in an async hook that waits for a thread of the default executor."""

    class Threaded:
        @hookimpl
        async def before_model_call(self) -> None:
            await asyncio.to_thread(lambda: None)

    plugin_host.register(Threaded(), name="threaded")
    agents = [agent_on(plugin_host, [f"answer {i}"]) for i in range(40)]
    results = await asyncio.wait_for(asyncio.gather(*(a.arun("x") for a in agents)), 60)
    assert [r.text for r in results] == [f"answer {i}" for i in range(40)]


# -- on_run_error: a documented way to see a run that failed --------------------------------------


class Failures:
    def __init__(self) -> None:
        self.seen: list[tuple[str, RunResult, str]] = []

    @hookimpl
    def on_run_error(self, ctx: Any, error: BaseException, partial: RunResult) -> None:
        self.seen.append((type(error).__name__, partial, ctx.run_id))


def test_on_run_error_sees_max_turns_with_the_partial_result(plugin_host: Any) -> None:
    failures = Failures()
    plugin_host.register(failures, name="failures")
    with pytest.raises(MaxTurnsError) as info:
        agent_on(plugin_host, SCRIPT, max_turns=1).run("sum")
    ((kind, partial, run_id),) = failures.seen
    assert kind == "MaxTurnsError" and partial is info.value.partial
    assert partial.turns == 1 and partial.run_id == run_id and len(partial.messages) == 3


def test_on_run_error_sees_a_provider_error_and_success_does_not_call_it(plugin_host: Any) -> None:
    failures = Failures()
    plugin_host.register(failures, name="failures")

    def fail(request: Any) -> str:
        raise ServerError("the model is down", provider="scripted", status_code=503)

    agent_on(plugin_host, ["fine"]).run("x")
    assert failures.seen == []
    with pytest.raises(ServerError):
        agent_on(plugin_host, [fail]).run("x")
    assert [kind for kind, _, _ in failures.seen] == ["ServerError"]
    assert failures.seen[0][1].messages[0].text == "x"  # the input was part of the run


def test_on_run_error_sees_an_after_run_hook_that_fails(plugin_host: Any) -> None:
    failures = Failures()
    plugin_host.register(failures, name="failures")
    plugin_host.register(plugin("after_run", hookimpl(lambda: 1 / 0)), name="broken")
    with pytest.raises(ZeroDivisionError):
        agent_on(plugin_host, ["x"]).run("x")
    assert [kind for kind, _, _ in failures.seen] == ["ZeroDivisionError"]


async def test_on_run_error_sees_a_stream_left_early(plugin_host: Any) -> None:
    failures = Failures()
    plugin_host.register(failures, name="failures")
    agent = Agent(
        "scripted/test",
        provider=ScriptedProvider(["one two three"]),
        plugin_host=plugin_host,
    )
    stream = agent.astream("x")
    async for _event in stream:
        break
    await stream.aclose()
    assert [kind for kind, _, _ in failures.seen] == ["CancelledError"]


def test_a_failing_on_run_error_hook_is_logged_and_the_run_s_error_kept(
    plugin_host: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plugin_host.register(plugin("on_run_error", hookimpl(lambda error: 1 / 0)), name="broken")
    with caplog.at_level(logging.WARNING, logger="agentkit.lifecycle"), pytest.raises(MaxTurnsError):
        agent_on(plugin_host, SCRIPT, max_turns=1).run("sum")
    assert "on_run_error hook broken" in caplog.text and "ZeroDivisionError" in caplog.text


def test_an_agent_s_own_on_run_error(plugin_host: Any) -> None:
    seen: list[str] = []
    agent = agent_on(plugin_host, SCRIPT, max_turns=1, hooks={"on_run_error": lambda error: seen.append(str(error))})
    with pytest.raises(MaxTurnsError):
        agent.run("sum")
    assert seen and "max_turns=1" in seen[0]


def test_async_on_event_observers_are_awaited_in_order_and_isolated(
    plugin_host: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    class First:
        @hookimpl(tryfirst=True)
        async def on_event(self, event: Any) -> None:
            await asyncio.sleep(0)
            seen.append(f"first:{event.type}")
            if event.type == "tool_result":
                raise RuntimeError("observer broke")

    class Second:
        @hookimpl
        def on_event(self, event: Any) -> None:
            seen.append(f"second:{event.type}")

    plugin_host.register(First(), name="first")
    plugin_host.register(Second(), name="second")
    with caplog.at_level(logging.WARNING, logger="agentkit.lifecycle"):
        assert agent_on(plugin_host, SCRIPT).run("sum").text == "three"
    assert "on_event hook first" in caplog.text and "observer broke" in caplog.text
    firsts = [s for s in seen if s.startswith("first:")]
    assert firsts == ["first:turn_completed", "first:tool_result", "first:turn_completed", "first:run_completed"]
    # each event's async observer is done before the next event is emitted
    assert seen.index("first:tool_result") < seen.index("second:turn_completed", seen.index("second:tool_result"))
