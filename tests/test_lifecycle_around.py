"""around_run, around_model_call and around_tool_call: generators wrapping the work in the task
that does it (what a tracing plugin needs), and configure, which sees each loaded config."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    ConfigError,
    MaxTurnsError,
    ModelResponse,
    PluginError,
    Provider,
    RunAbortedError,
    RunResult,
    TextDelta,
    ToolMessage,
    Usage,
)
from agentkit.config import load_config
from agentkit.errors import ServerError, ToolArgumentsError, ToolError, ToolTimeoutError, UnknownToolError
from agentkit.hookspecs import hookimpl
from agentkit.providers import Capabilities, ModelRequest
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool

SCOPE: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("scope", default=())


def plugin(**hooks: Any) -> SimpleNamespace:
    return SimpleNamespace(**hooks)


def scoped(label: str, log: list[Any] | None = None) -> Any:
    """A generator function pushing ``label`` on SCOPE for the length of the work."""

    def around(**kwargs: Any) -> Any:
        token = SCOPE.set((*SCOPE.get(), label))
        try:
            outcome = yield
        except BaseException as error:
            if log is not None:
                log.append((label, "raised", error))
            raise
        else:
            if log is not None:
                log.append((label, "returned", outcome))
        finally:
            SCOPE.reset(token)

    return around


def run_hook(label: str, log: list[Any] | None = None) -> Any:
    inner = scoped(label, log)

    @hookimpl
    def around_run(ctx: Any) -> Any:
        return inner(ctx=ctx)

    return around_run


def model_hook(label: str, log: list[Any] | None = None) -> Any:
    inner = scoped(label, log)

    @hookimpl
    def around_model_call(ctx: Any, request: Any, provider: Any) -> Any:
        return inner()

    return around_model_call


def tool_hook(label: str, log: list[Any] | None = None) -> Any:
    inner = scoped(label, log)

    @hookimpl
    def around_tool_call(ctx: Any, call: Any) -> Any:
        return inner()

    return around_tool_call


seen_in_tools: list[tuple[str, tuple[str, ...]]] = []


@tool
async def slow(name: str) -> str:
    """Wait a little, then say which scopes the tool ran in."""
    await asyncio.sleep(0.01)
    seen_in_tools.append((name, SCOPE.get()))
    return name


@tool
def broken(x: int) -> str:
    """Always fails."""
    raise ValueError("no luck")


@pytest.fixture(autouse=True)
def _clear() -> None:
    seen_in_tools.clear()


class ScopeProvider(Provider):
    """Answers from a script and records the scopes each call and each streamed delta ran in."""

    name = "scope"
    capabilities = Capabilities(streaming=True)

    def __init__(self, script: list[Any]) -> None:
        self.inner = ScriptedProvider(script)
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.seen.append(("complete", SCOPE.get()))
        return await self.inner.complete(request)

    async def stream(self, request: ModelRequest) -> Any:
        self.seen.append(("stream", SCOPE.get()))
        async for event in self.inner.stream(request):
            self.seen.append((type(event).__name__, SCOPE.get()))
            yield event


def test_context_variables_set_by_around_hooks_hold_for_the_work_they_wrap(plugin_host: Any) -> None:
    plugin_host.register(
        plugin(
            around_run=run_hook("run"),
            around_model_call=model_hook("model"),
            around_tool_call=tool_hook("tool"),
        ),
        name="scopes",
    )
    provider = ScopeProvider([tool_calls(("slow", {"name": "a"}), ("slow", {"name": "b"})), "done"])
    agent = Agent("scope/m", provider=provider, tools=[slow], plugin_host=plugin_host)
    assert agent.run("go").text == "done"
    assert provider.seen == [("complete", ("run", "model")), ("complete", ("run", "model"))]
    # two calls of one turn run in tasks of their own, each in its own tool scope
    assert sorted(seen_in_tools) == [("a", ("run", "tool")), ("b", ("run", "tool"))]
    assert SCOPE.get() == ()  # reset after the run, in the caller's context too


async def test_streamed_deltas_are_forwarded_inside_the_model_call_s_scope(plugin_host: Any) -> None:
    events: list[tuple[str, tuple[str, ...]]] = []

    @hookimpl
    def on_event(event: Any) -> None:
        events.append((event.type, SCOPE.get()))

    plugin_host.register(
        plugin(around_run=run_hook("run"), around_model_call=model_hook("model")), name="scopes"
    )
    plugin_host.register(plugin(on_event=on_event), name="events")
    provider = ScopeProvider(["Hello there, streaming world"])
    agent = Agent("scope/m", provider=provider, plugin_host=plugin_host)
    texts = [e.text async for e in agent.astream("hi") if isinstance(e, TextDelta)]
    assert "".join(texts) == "Hello there, streaming world"
    assert provider.seen[0] == ("stream", ("run", "model"))
    assert {scope for kind, scope in provider.seen if kind == "TextDelta"} == {("run", "model")}
    assert {scope for kind, scope in events if kind == "text_delta"} == {("run", "model")}
    assert [scope for kind, scope in events if kind == "turn_completed"] == [("run",)]


def test_the_yield_returns_what_the_work_gave(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(
        plugin(
            around_run=run_hook("run", log),
            around_model_call=model_hook("model", log),
            around_tool_call=tool_hook("tool", log),
        ),
        name="scopes",
    )
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("slow", {"name": "x"})), "fine"]),
        tools=[slow],
        plugin_host=plugin_host,
    )
    result = agent.run("go")
    kinds = [(label, how, type(value).__name__) for label, how, value in log]
    assert kinds == [
        ("model", "returned", "ModelResponse"),
        ("tool", "returned", "ToolMessage"),
        ("model", "returned", "ModelResponse"),
        ("run", "returned", "RunResult"),
    ]
    first, tool_result, last, run = (value for _, _, value in log)
    assert first.model == "m" and first.usage.requests == 1 and first.finish_reason == "tool_calls"
    assert tool_result.content == "x" and not tool_result.is_error
    assert last.message.content == "fine"
    assert run is result


def test_a_cache_hit_is_wrapped_too_and_says_so(plugin_host: Any, tmp_path: Path) -> None:
    log: list[Any] = []
    plugin_host.register(plugin(around_model_call=model_hook("model", log)), name="scopes")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider(["cached answer"], repeat_last=True),
        plugin_host=plugin_host,
        cache=tmp_path / "cache",
    )
    agent.run("same question")
    agent.run("same question")
    assert [value.cached for _, _, value in log] == [False, True]


def test_the_first_implementation_is_the_outermost_and_per_agent_hooks_take_part(plugin_host: Any) -> None:
    order: list[str] = []

    def recording(label: str) -> Any:
        def around_run(ctx: Any) -> Any:
            order.append(f"{label} in")
            yield
            order.append(f"{label} out")

        return around_run

    plugin_host.register(plugin(around_run=hookimpl(recording("plugin"))), name="p")
    plugin_host.register(plugin(around_run=hookimpl(tryfirst=True)(recording("first"))), name="f")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider(["ok"]),
        plugin_host=plugin_host,
        hooks={"around_run": recording("agent")},
    )
    agent.run("go")
    assert order == ["first in", "agent in", "plugin in", "plugin out", "agent out", "first out"]


def test_an_async_generator_may_wrap_the_work(plugin_host: Any) -> None:
    gate = asyncio.Semaphore(1)
    held: list[bool] = []

    @tool
    def check() -> str:
        """Say whether the gate is held."""
        held.append(gate.locked())
        return "checked"

    @hookimpl
    async def around_tool_call(call: Any) -> Any:
        async with gate:
            result = yield
            held.append(result.content)

    plugin_host.register(plugin(around_tool_call=around_tool_call), name="gate")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("check", {})), "ok"]),
        tools=[check],
        plugin_host=plugin_host,
    )
    assert agent.run("go").text == "ok"
    assert held == [True, "checked"]


# -- failures ----------------------------------------------------------------------------------


def test_a_provider_error_is_raised_at_the_yield_of_the_model_call_and_of_the_run(plugin_host: Any) -> None:
    log: list[Any] = []
    errors: list[Any] = []
    plugin_host.register(
        plugin(
            around_run=run_hook("run", log),
            around_model_call=model_hook("model", log),
            on_run_error=hookimpl(lambda error: errors.append(("on_run_error", error))),
        ),
        name="scopes",
    )
    failure = ServerError("the server broke", provider="scripted", model="m", status_code=500)
    agent = Agent("scripted/m", provider=ScriptedProvider([failure]), plugin_host=plugin_host)
    with pytest.raises(ServerError):
        agent.run("go")
    assert [(label, how) for label, how, _ in log] == [("model", "raised"), ("run", "raised")]
    assert log[0][2] is failure and log[1][2] is failure
    assert errors == [("on_run_error", failure)]  # before the around_run hooks see it


def test_an_aborted_run_is_a_run_aborted_error_at_the_run_s_yield(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(
        plugin(around_run=run_hook("run", log), around_model_call=model_hook("model", log)), name="s"
    )
    agent: Agent

    def abort_during_the_call(request: ModelRequest) -> str:
        agent.abort()
        return "never used"

    async def slow_answer(request: ModelRequest) -> str:
        abort_during_the_call(request)
        await asyncio.sleep(5)
        return "late"

    agent = Agent("scripted/m", provider=ScriptedProvider([slow_answer]), plugin_host=plugin_host)
    with pytest.raises(RunAbortedError):
        agent.run("go")
    assert [(label, how, type(error).__name__) for label, how, error in log] == [
        ("model", "raised", "CancelledError"),
        ("run", "raised", "RunAbortedError"),
    ]
    assert isinstance(log[1][2].partial, RunResult)


def test_a_failing_tool_is_raised_at_its_yield_and_the_run_goes_on(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(plugin(around_tool_call=tool_hook("tool", log)), name="scopes")
    script = [
        tool_calls(("broken", {"x": 1})),
        tool_calls(("missing", {})),
        tool_calls(("broken", {"x": "not a number"})),
        "gave up",
    ]
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider(script),
        tools=[broken],
        plugin_host=plugin_host,
        tool_retries=5,
    )
    result = agent.run("go")
    assert result.text == "gave up"
    errors = [value for _, how, value in log if how == "raised"]
    assert [type(e) for e in errors] == [ToolError, UnknownToolError, ToolArgumentsError]
    assert isinstance(errors[0].__cause__, ValueError) and str(errors[0].__cause__) == "no luck"
    assert [m.is_error for m in result.messages if isinstance(m, ToolMessage)] == [True, True, True]


def test_a_tool_timeout_is_a_tool_timeout_error(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(plugin(around_tool_call=tool_hook("tool", log)), name="scopes")

    @tool(timeout=0.05)
    async def sleepy() -> str:
        """Sleep too long."""
        await asyncio.sleep(5)
        return "late"

    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("sleepy", {})), "ok"]),
        tools=[sleepy],
        plugin_host=plugin_host,
    )
    assert agent.run("go").text == "ok"
    assert [type(value) for _, how, value in log] == [ToolTimeoutError]


def test_an_error_result_a_hook_turned_into_a_success_is_returned(plugin_host: Any) -> None:
    log: list[Any] = []

    @hookimpl
    def after_tool_call(result: ToolMessage) -> Any:
        return "recovered" if result.is_error else None

    plugin_host.register(
        plugin(around_tool_call=tool_hook("tool", log), after_tool_call=after_tool_call), name="s"
    )
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("broken", {"x": 1})), "ok"]),
        tools=[broken],
        plugin_host=plugin_host,
    )
    agent.run("go")
    assert [(how, value.content) for _, how, value in log] == [("returned", "recovered")]


def test_with_tool_errors_raise_the_error_ends_the_run_through_every_scope(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(
        plugin(around_run=run_hook("run", log), around_tool_call=tool_hook("tool", log)), name="s"
    )
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("broken", {"x": 1}))]),
        tools=[broken],
        plugin_host=plugin_host,
        tool_errors="raise",
    )
    with pytest.raises(ToolError) as caught:
        agent.run("go")
    assert [(label, how) for label, how, _ in log] == [("tool", "raised"), ("run", "raised")]
    assert log[0][2] is caught.value and log[1][2] is caught.value


def test_an_exception_before_the_yield_fails_the_run_and_the_outer_scopes_see_it(plugin_host: Any) -> None:
    log: list[Any] = []

    @hookimpl(trylast=True)
    def around_run(ctx: Any) -> Any:
        raise RuntimeError("cannot start")
        yield  # pragma: no cover

    plugin_host.register(plugin(around_run=around_run), name="inner")
    plugin_host.register(plugin(around_run=run_hook("outer", log)), name="outer")
    provider = ScriptedProvider(["never"])
    agent = Agent("scripted/m", provider=provider, plugin_host=plugin_host)
    with pytest.raises(RuntimeError, match="cannot start"):
        agent.run("go")
    assert [(label, how, str(error)) for label, how, error in log] == [("outer", "raised", "cannot start")]
    assert provider.requests == []


def test_a_generator_that_does_not_yield_or_a_non_generator_is_a_plugin_error(plugin_host: Any) -> None:
    @hookimpl
    def around_model_call() -> Any:
        return
        yield  # pragma: no cover

    plugin_host.register(plugin(around_model_call=around_model_call), name="lazy")
    agent = Agent("scripted/m", provider=ScriptedProvider(["x"]), plugin_host=plugin_host)
    with pytest.raises(
        PluginError, match=r"around_model_call hook .*around_model_call returned without yielding"
    ):
        agent.run("go")
    plugin_host.pm.unregister(name="lazy")
    plugin_host.register(plugin(around_model_call=hookimpl(lambda: 42)), name="number")
    with pytest.raises(PluginError, match="around_model_call hook returned int; it must return a generator"):
        Agent("scripted/m", provider=ScriptedProvider(["x"]), plugin_host=plugin_host).run("go")


def test_after_the_yield_nothing_changes_the_outcome(
    plugin_host: Any, caplog: pytest.LogCaptureFixture
) -> None:
    @hookimpl
    def around_run(ctx: Any) -> Any:
        yield
        raise RuntimeError("too late to matter")

    @hookimpl
    def around_model_call() -> Any:
        yield
        yield  # one too many

    @hookimpl
    def around_tool_call() -> Any:
        try:
            yield
        except ToolError:
            return  # swallowing the error does not swallow it for the run

    plugin_host.register(
        plugin(around_run=around_run, around_model_call=around_model_call, around_tool_call=around_tool_call),
        name="sloppy",
    )
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("broken", {"x": 1})), "fine"]),
        tools=[broken],
        plugin_host=plugin_host,
    )
    with caplog.at_level(logging.WARNING, logger="agentkit.lifecycle"):
        result = agent.run("go")
    assert result.text == "fine" and result.messages[2].is_error
    messages = [r.getMessage() for r in caplog.records]
    assert any("around_run hook" in m and "RuntimeError: too late to matter" in m for m in messages)
    assert sum("around_model_call hook" in m and "yielded more than once" in m for m in messages) == 2


def test_max_turns_reaches_the_run_s_yield(plugin_host: Any) -> None:
    log: list[Any] = []
    plugin_host.register(plugin(around_run=run_hook("run", log)), name="s")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("slow", {"name": "a"}))] * 3),
        tools=[slow],
        plugin_host=plugin_host,
        max_turns=1,
    )
    with pytest.raises(MaxTurnsError):
        agent.run("go")
    assert type(log[0][2]) is MaxTurnsError


def test_the_model_call_hook_knows_the_provider_and_the_request(plugin_host: Any) -> None:
    seen: list[Any] = []

    @hookimpl
    def around_model_call(ctx: Any, request: ModelRequest, provider: Provider) -> Any:
        seen.append((provider.name, request.model, dict(request.params), ctx.streaming))
        yield

    plugin_host.register(plugin(around_model_call=around_model_call), name="s")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider(["a", "b"]),
        plugin_host=plugin_host,
        params={"temperature": 0.5},
    )
    agent.run("go")
    list(agent.stream("again"))
    assert seen == [
        ("scripted", "m", {"temperature": 0.5}, False),
        ("scripted", "m", {"temperature": 0.5}, True),
    ]


def test_a_hook_supplied_response_still_goes_through_the_model_call_scope(plugin_host: Any) -> None:
    log: list[Any] = []

    @hookimpl
    def before_model_call(request: ModelRequest) -> ModelResponse:
        return ModelResponse(AssistantMessage("canned", model=request.model, usage=Usage(), finish_reason="stop"))

    plugin_host.register(
        plugin(around_model_call=model_hook("model", log), before_model_call=before_model_call), name="s"
    )
    provider = ScriptedProvider(["never"])
    assert Agent("scripted/m", provider=provider, plugin_host=plugin_host).run("go").text == "canned"
    assert log[0][2].message.content == "canned" and provider.requests == []


# -- configure ---------------------------------------------------------------------------------


def test_configure_sees_every_loaded_config_with_the_plugin_s_section(
    plugin_host: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    @hookimpl
    def register_config_sections(registry: Any) -> None:
        registry.add("greeter", {"type": "object", "properties": {"word": {"type": "string"}}})

    @hookimpl
    def configure(config: Any) -> None:
        seen.append(config.sections.get("greeter"))

    plugin_host.register(
        plugin(register_config_sections=register_config_sections, configure=configure), name="g"
    )
    monkeypatch.setenv("GREETING", "hello")
    path = tmp_path / "agentkit.toml"
    path.write_text('[greeter]\nword = "${GREETING}"\n')
    load_config(path, host=plugin_host)
    assert seen == [{"word": "hello"}]


def test_a_configure_hook_that_refuses_the_config_makes_loading_fail(
    plugin_host: Any, tmp_path: Path
) -> None:
    @hookimpl
    def configure(config: Any) -> None:
        raise ConfigError("no thanks", file=config.file, key_path="greeter")

    plugin_host.register(plugin(configure=configure), name="g")
    path = tmp_path / "agentkit.toml"
    path.write_text('default_agent = "a"\n[agents.a]\nmodel = "scripted/m"\n')
    with pytest.raises(ConfigError, match="no thanks"):
        load_config(path, host=plugin_host)
