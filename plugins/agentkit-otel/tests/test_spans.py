"""Spans and metrics of real runs, checked with the OpenTelemetry SDK's in-memory exporters:
names, kinds, parent/child structure (streaming and parallel tool calls included), the GenAI
conventions' attributes, error status, and both histograms."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from agentkit import Agent, RunAbortedError, TextDelta, tool
from agentkit.errors import MaxTurnsError, ServerError
from agentkit.hookspecs import hookimpl
from agentkit.plugins import PluginHost
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call
from agentkit_otel import semconv

tracer = trace.get_tracer("tests")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def lookup(key: str) -> str:
    """Look a key up (slowly), in a span of the tool's own."""
    with tracer.start_as_current_span(f"lookup {key}"):
        await asyncio.sleep(0.05)
    return key.upper()


@tool
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot do it: {reason}")


def completion(text: str, *, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A raw Chat Completions body: the server names a dated model, as OpenAI does."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": 0},
    }


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_OTEL", "1")


@pytest.mark.usefixtures("traced")
def test_prompt_cache_reads_and_writes_are_usage_attributes(otel_host: PluginHost, recorded: Any) -> None:
    from agentkit.messages import AssistantMessage, Usage

    usage = Usage(100, 5, cached_tokens=60, cache_creation_tokens=30, requests=1)
    Agent("scripted/m", provider=ScriptedProvider([AssistantMessage("ok", usage=usage)]), plugin_host=otel_host).run("hi")
    chat = recorded.span("chat m")
    assert chat.attributes["gen_ai.usage.cache_read.input_tokens"] == 60
    assert chat.attributes["gen_ai.usage.cache_creation.input_tokens"] == 30


@pytest.mark.usefixtures("traced")
def test_a_run_over_http_is_invoke_agent_with_chat_and_execute_tool_children(
    otel_host: PluginHost, recorded: Any
) -> None:
    script = [
        FakeReply(
            tool_calls=[tool_call("add", {"a": 2, "b": 3}, id="call_add")],
            usage={"prompt_tokens": 20, "completion_tokens": 7},
        ),
        completion("2 + 3 = 5.", model="gpt-4o-mini-2024-07-18", prompt_tokens=31, completion_tokens=6),
    ]
    with FakeOpenAIServer(script) as server:
        agent = Agent(
            "openai/gpt-4o-mini",
            name="calculator",
            base_url=server.base_url,
            api_key="sk-test",
            tools=[add],
            plugin_host=otel_host,
            params={"temperature": 0.2, "max_tokens": 200},
        )
        assert agent.run("What is 2 + 3?", session_id="conversation-7").text == "2 + 3 = 5."
        port = server._server.port

    assert recorded.tree() == [
        ("chat gpt-4o-mini", "invoke_agent calculator"),
        ("execute_tool add", "invoke_agent calculator"),
        ("chat gpt-4o-mini", "invoke_agent calculator"),
        ("invoke_agent calculator", None),
    ]
    run = recorded.span("invoke_agent calculator")
    assert run.kind is SpanKind.INTERNAL and run.status.status_code is StatusCode.UNSET
    assert dict(run.attributes) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.agent.name": "calculator",
        "gen_ai.conversation.id": "conversation-7",
        "gen_ai.usage.input_tokens": 51,
        "gen_ai.usage.output_tokens": 13,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    first, second = recorded.named("chat gpt-4o-mini")
    assert first.kind is SpanKind.CLIENT
    assert dict(first.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": port,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 200,
        "gen_ai.conversation.id": "conversation-7",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("tool_calls",),
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 7,
    }
    assert second.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert second.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    tool_span = recorded.span("execute_tool add")
    assert tool_span.kind is SpanKind.INTERNAL
    assert dict(tool_span.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_add",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": "Add two integers.",
        "gen_ai.conversation.id": "conversation-7",
    }
    # the spans of one run share its trace; the tool ran between the two model calls
    assert {s.context.trace_id for s in recorded.spans()} == {run.context.trace_id}
    assert first.end_time <= tool_span.start_time <= tool_span.end_time <= second.start_time


@pytest.mark.usefixtures("traced")
def test_parameters_that_are_not_set_are_not_attributes(otel_host: PluginHost, recorded: Any) -> None:
    Agent("scripted/m", provider=ScriptedProvider(["ok"]), plugin_host=otel_host).run("hi")
    chat = recorded.span("chat m")
    assert not [k for k in chat.attributes if k.startswith("gen_ai.request.") and k != "gen_ai.request.model"]
    assert "gen_ai.conversation.id" not in chat.attributes  # no session


@pytest.mark.usefixtures("traced")
async def test_a_streaming_run_nests_the_stream_under_its_chat_span(
    otel_host: PluginHost, recorded: Any
) -> None:
    current: list[tuple[str, str]] = []

    @hookimpl
    def on_event(event: Any) -> None:
        span = trace.get_current_span()
        current.append((event.type, getattr(span, "name", "-")))

    otel_host.register(type("Watch", (), {"on_event": staticmethod(on_event)})(), name="watch")
    script = [tool_call("lookup", {"key": "a"}, id="call_a"), "Found A, streamed in pieces."]
    with FakeOpenAIServer(script, chunk_size=4) as server:
        agent = Agent(
            "openai/gpt-4o-mini",
            base_url=server.base_url,
            api_key="sk-test",
            tools=[lookup],
            plugin_host=otel_host,
        )
        async with agent:
            texts = [e.text async for e in agent.astream("find a") if isinstance(e, TextDelta)]
    assert "".join(texts) == "Found A, streamed in pieces." and len(texts) > 3
    assert recorded.tree() == [
        ("chat gpt-4o-mini", "invoke_agent agent"),
        ("lookup a", "execute_tool lookup"),
        ("execute_tool lookup", "invoke_agent agent"),
        ("chat gpt-4o-mini", "invoke_agent agent"),
        ("invoke_agent agent", None),
    ]
    assert all(s.attributes["gen_ai.request.stream"] is True for s in recorded.named("chat gpt-4o-mini"))
    # every delta went out while its chat span was current; turns and results between calls
    assert {name for kind, name in current if kind == "text_delta"} == {"chat gpt-4o-mini"}
    assert {name for kind, name in current if kind in ("turn_completed", "tool_result")} == {
        "invoke_agent agent"
    }


@pytest.mark.usefixtures("traced")
def test_parallel_tool_calls_each_get_their_own_span_and_children(
    otel_host: PluginHost, recorded: Any
) -> None:
    script = [
        tool_calls(("lookup", {"key": "a"}), ("lookup", {"key": "b"}), ("lookup", {"key": "c"})),
        "A, B, C",
    ]
    agent = Agent("scripted/m", provider=ScriptedProvider(script), tools=[lookup], plugin_host=otel_host)
    assert agent.run("find them").text == "A, B, C"
    tools = recorded.named("execute_tool lookup")
    assert len(tools) == 3
    run = recorded.span("invoke_agent agent")
    assert {t.parent.span_id for t in tools} == {run.context.span_id}
    by_call = {t.attributes["gen_ai.tool.call.id"]: t for t in tools}
    for key, call_id in (("a", "call_1"), ("b", "call_2"), ("c", "call_3")):
        child = recorded.span(f"lookup {key}")
        assert child.parent.span_id == by_call[call_id].context.span_id, key
    # they ran at the same time: each started before any of them ended
    assert max(t.start_time for t in tools) < min(t.end_time for t in tools)


@pytest.mark.usefixtures("traced")
def test_a_user_span_around_a_run_is_its_parent(otel_host: PluginHost, recorded: Any) -> None:
    agent = Agent("scripted/m", provider=ScriptedProvider(["ok"]), plugin_host=otel_host)
    with tracer.start_as_current_span("handle request"):
        agent.run("hi")
    assert recorded.tree()[-2:] == [("invoke_agent agent", "handle request"), ("handle request", None)]


@pytest.mark.usefixtures("traced")
def test_an_agent_run_inside_a_tool_nests_under_that_tool(otel_host: PluginHost, recorded: Any) -> None:
    helper = Agent("scripted/h", name="helper", provider=ScriptedProvider(["42"]), plugin_host=otel_host)

    @tool
    async def ask_helper(question: str) -> str:
        """Ask the helper agent."""
        return (await helper.arun(question)).text

    main = Agent(
        "scripted/m",
        name="main",
        provider=ScriptedProvider([tool_calls(("ask_helper", {"question": "?"})), "It says 42."]),
        tools=[ask_helper],
        plugin_host=otel_host,
    )
    main.run("go")
    assert ("invoke_agent helper", "execute_tool ask_helper") in recorded.tree()
    assert ("chat h", "invoke_agent helper") in recorded.tree()


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("traced")
def test_a_provider_error_fails_the_chat_and_the_run_span(otel_host: PluginHost, recorded: Any) -> None:
    broken = FakeReply(status=500, error={"message": "upstream exploded", "type": "server_error"})
    with FakeOpenAIServer([broken]) as server:
        agent = Agent(
            "openai/gpt-4o-mini",
            base_url=server.base_url,
            api_key="sk-test",
            plugin_host=otel_host,
            provider_settings={"max_retries": 0},
        )
        with pytest.raises(ServerError):
            agent.run("hi")
    chat, run = recorded.span("chat gpt-4o-mini"), recorded.span("invoke_agent agent")
    for span in (chat, run):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "ServerError"
        assert "upstream exploded" in span.status.description
    assert [e.name for e in chat.events] == ["exception"]
    points = recorded.metrics()["gen_ai.client.operation.duration"]
    assert [dict(p.attributes)["error.type"] for p in points] == ["ServerError"]
    assert "gen_ai.client.token.usage" not in recorded.metrics()


@pytest.mark.usefixtures("traced")
def test_a_failing_tool_is_an_error_span_and_the_run_goes_on(otel_host: PluginHost, recorded: Any) -> None:
    script = [tool_calls(("fail", {"reason": "my secret plan"})), tool_calls(("nope", {})), "Could not."]
    agent = Agent("scripted/m", provider=ScriptedProvider(script), tools=[fail], plugin_host=otel_host)
    assert agent.run("try").text == "Could not."
    failed, unknown = recorded.span("execute_tool fail"), recorded.span("execute_tool nope")
    assert failed.status.status_code is StatusCode.ERROR and failed.attributes["error.type"] == "ValueError"
    assert (
        unknown.status.status_code is StatusCode.ERROR
        and unknown.attributes["error.type"] == "UnknownToolError"
    )
    # the exception's message may quote the arguments: not recorded without content capture
    assert failed.status.description is None and failed.events == ()
    assert "my secret plan" not in recorded.everything()
    assert recorded.span("invoke_agent agent").status.status_code is StatusCode.UNSET


@pytest.mark.usefixtures("traced")
def test_an_aborted_run_is_a_run_aborted_error(otel_host: PluginHost, recorded: Any) -> None:
    agent: Agent

    @tool
    async def stop_everything() -> str:
        """Abort the run, then wait."""
        agent.abort()
        await asyncio.sleep(5)
        return "never"

    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("stop_everything", {}))]),
        tools=[stop_everything],
        plugin_host=otel_host,
    )
    with pytest.raises(RunAbortedError):
        agent.run("go")
    run, tool_span = recorded.span("invoke_agent agent"), recorded.span("execute_tool stop_everything")
    assert run.status.status_code is StatusCode.ERROR and run.attributes["error.type"] == "RunAbortedError"
    assert run.attributes["gen_ai.usage.output_tokens"] > 0  # the partial run's usage
    assert (
        tool_span.status.status_code is StatusCode.ERROR
        and tool_span.attributes["error.type"] == "CancelledError"
    )


@pytest.mark.usefixtures("traced")
def test_max_turns_fails_the_run_span(otel_host: PluginHost, recorded: Any) -> None:
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("add", {"a": 1, "b": 1}))] * 2),
        tools=[add],
        plugin_host=otel_host,
        max_turns=1,
    )
    with pytest.raises(MaxTurnsError):
        agent.run("loop")
    assert recorded.span("invoke_agent agent").attributes["error.type"] == "MaxTurnsError"


# -- metrics -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("traced")
def test_token_usage_and_duration_histograms_follow_the_conventions(
    otel_host: PluginHost, recorded: Any
) -> None:
    script = [
        FakeReply(
            tool_calls=[tool_call("add", {"a": 1, "b": 2})],
            usage={"prompt_tokens": 12, "completion_tokens": 4},
        ),
        completion("3", model="gpt-4o-mini-2024-07-18", prompt_tokens=20, completion_tokens=1),
    ]
    with FakeOpenAIServer(script) as server:
        Agent(
            "openai/gpt-4o-mini",
            base_url=server.base_url,
            api_key="sk-test",
            tools=[add],
            plugin_host=otel_host,
        ).run("1 + 2?")
        port = server._server.port
    found = recorded.metrics()
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    tokens = {
        (p.attributes["gen_ai.token.type"], p.attributes["gen_ai.response.model"]): p
        for p in found["gen_ai.client.token.usage"]
    }
    assert {k: (p.count, p.sum) for k, p in tokens.items()} == {
        ("input", "gpt-4o-mini"): (1, 12),
        ("output", "gpt-4o-mini"): (1, 4),
        ("input", "gpt-4o-mini-2024-07-18"): (1, 20),
        ("output", "gpt-4o-mini-2024-07-18"): (1, 1),
    }
    for point in tokens.values():
        assert {k: v for k, v in point.attributes.items() if k in base} == base
        assert tuple(point.explicit_bounds) == semconv.TOKEN_BUCKETS
    durations = found["gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 2
    assert all(tuple(p.explicit_bounds) == semconv.DURATION_BUCKETS for p in durations)
    assert all("error.type" not in p.attributes and 0 < p.sum < 30 for p in durations)


@pytest.mark.usefixtures("traced")
def test_a_cache_hit_is_marked_and_not_counted_as_a_model_call(
    otel_host: PluginHost, recorded: Any, tmp_path: Path
) -> None:
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider(["cached"], repeat_last=True),
        plugin_host=otel_host,
        cache=tmp_path / "cache",
    )
    agent.run("same")
    recorded.metrics()
    agent.run("same")
    hits = [s.attributes.get("agentkit.response.cached") for s in recorded.named("chat m")]
    assert hits == [None, True]
    assert recorded.metrics() == {}


# -- content -----------------------------------------------------------------------------------

CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.definitions",
}


def run_with_content(host: PluginHost) -> None:
    script = [tool_calls(("add", {"a": 40, "b": 2})), "The purple elephant says 42."]
    agent = Agent(
        "scripted/m",
        system="Answer like a purple elephant.",
        provider=ScriptedProvider(script),
        tools=[add],
        plugin_host=host,
    )
    agent.run("What is forty plus two, elephant?")


@pytest.mark.usefixtures("traced")
def test_no_content_is_recorded_by_default(otel_host: PluginHost, recorded: Any) -> None:
    run_with_content(otel_host)
    keys = {k for s in recorded.spans() for k in s.attributes}
    assert not keys & CONTENT_KEYS
    text = recorded.everything()
    assert "elephant" not in text and "forty" not in text and '"a": 40' not in text


@pytest.mark.usefixtures("traced")
@pytest.mark.parametrize("value", ["true", "SPAN_ONLY", "span_and_event"])
def test_content_is_recorded_when_the_user_opts_in(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    run_with_content(otel_host)
    first, second = recorded.named("chat m")
    assert json.loads(first.attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Answer like a purple elephant."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is forty plus two, elephant?"}]},
    ]
    assert json.loads(first.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "add", "arguments": {"a": 40, "b": 2}}],
            "finish_reason": "tool_call",
        }
    ]
    assert json.loads(first.attributes["gen_ai.tool.definitions"])[0]["name"] == "add"
    assert json.loads(second.attributes["gen_ai.input.messages"])[-1] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "42"}],
    }
    assert json.loads(second.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "The purple elephant says 42."}],
            "finish_reason": "stop",
        }
    ]
    tool_span = recorded.span("execute_tool add")
    assert json.loads(tool_span.attributes["gen_ai.tool.call.arguments"]) == {"a": 40, "b": 2}
    assert tool_span.attributes["gen_ai.tool.call.result"] == "42"
    run = recorded.span("invoke_agent agent")
    assert (
        json.loads(run.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"]
        == "The purple elephant says 42."
    )


@pytest.mark.usefixtures("traced")
@pytest.mark.parametrize("value", ["false", "NO_CONTENT", "EVENT_ONLY", "maybe"])
def test_content_stays_out_for_other_values(
    otel_host: PluginHost,
    recorded: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    value: str,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    run_with_content(otel_host)
    assert not {k for s in recorded.spans() for k in s.attributes} & CONTENT_KEYS
    warned = [r.getMessage() for r in caplog.records if r.name == "agentkit_otel"]
    assert bool(warned) is (value == "maybe")


@pytest.mark.usefixtures("traced")
def test_with_content_a_failing_tool_s_message_is_recorded(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    agent = Agent(
        "scripted/m",
        provider=ScriptedProvider([tool_calls(("fail", {"reason": "rain"})), "ok"]),
        tools=[fail],
        plugin_host=otel_host,
    )
    agent.run("go")
    span = recorded.span("execute_tool fail")
    assert span.status.description == "tool 'fail' failed: ValueError: cannot do it: rain"
    assert [e.name for e in span.events] == ["exception"]


@pytest.mark.usefixtures("traced")
def test_no_secret_reaches_telemetry_even_with_content(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    key = "sk-live-0123456789abcdefSECRET"
    script = [FakeReply(status=401, error={"message": "bad key", "type": "invalid_request_error"}), "never"]
    with FakeOpenAIServer(["fine"], api_key=key) as server:
        Agent(
            "openai/gpt-4o-mini",
            base_url=server.base_url,
            api_key=key,
            plugin_host=otel_host,
            params={"temperature": 0.1, "api_key": key},
        ).run("hello")
        server.reset(script)
        wrong = Agent(
            "openai/gpt-4o-mini", base_url=server.base_url, api_key=key + "-old", plugin_host=otel_host
        )
        with pytest.raises(Exception):  # noqa: B017 - which authentication error is not the point
            wrong.run("hello")
    text = recorded.everything()
    assert "SECRET" not in text and "Bearer" not in text and "authorization" not in text.lower()
    assert recorded.named("chat gpt-4o-mini")[1].status.status_code is StatusCode.ERROR


def test_server_attributes_never_carry_credentials_or_paths() -> None:
    class Remote:
        base_url = "https://user:hunter2@models.example.com/v1/openai?key=abc"

    assert semconv.server_attributes(Remote()) == {"server.address": "models.example.com", "server.port": 443}
    assert semconv.server_attributes(object()) == {}
