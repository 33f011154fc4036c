"""Streaming Chat Completions against a real HTTP server speaking SSE byte for byte."""

from __future__ import annotations

import json

import pytest
from _openai_helpers import SSE_HEADERS, chunk, collect, request, sse

from agentkit.errors import (
    ContextLengthError,
    IncompleteStreamError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
)
from agentkit.events import ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.providers import ToolSpec
from agentkit.testing.servers import Cut, Pause, Reply, json_reply

WEATHER = ToolSpec(
    "get_weather", "Weather of a city", {"type": "object", "properties": {"city": {"type": "string"}}}
)
TIME = ToolSpec("get_time", "Time in a city", {"type": "object", "properties": {"city": {"type": "string"}}})


def text_stream(*pieces: str, finish: str = "stop", usage: dict | None = None) -> list[dict]:
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    events.append(chunk({}, finish))
    if usage is not None:
        events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage})
    return events


async def test_text_deltas_usage_and_request_body(serve, make_provider) -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 7,
        "total_tokens": 19,
        "prompt_tokens_details": {"cached_tokens": 8},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    body = sse(*text_stream("Hel", "lo", " world", usage=usage))
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    events, response = await collect(provider, request(params={"temperature": 0.2, "seed": 7}))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", " world"]
    assert response.message.content == "Hello world"
    assert response.finish_reason == "stop" and response.message.finish_reason == "stop"
    assert response.usage.input_tokens == 12 and response.usage.output_tokens == 7
    assert response.usage.cached_tokens == 8 and response.usage.reasoning_tokens == 3
    assert response.usage.requests == 1
    assert response.model == "gpt-4o-mini"
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    payload = sent.json()
    assert payload["stream"] is True and payload["stream_options"] == {"include_usage": True}
    assert payload["temperature"] == 0.2 and payload["seed"] == 7
    assert payload["messages"] == [{"role": "user", "content": "hi"}]


async def test_tool_call_deltas_assembled_by_index_with_parallel_calls(serve, make_provider) -> None:
    events = [
        chunk({"role": "assistant", "content": None}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"city": "Oslo"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
        chunk({}, "tool_calls"),
    ]
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse(*events)])])
    provider = make_provider(server.url + "/v1")
    out, response = await collect(provider, request(tools=[WEATHER, TIME], tool_choice="auto"))
    started = [e for e in out if isinstance(e, ToolCallStarted)]
    assert [(e.index, e.id, e.name) for e in started] == [
        (0, "call_a", "get_weather"),
        (1, "call_b", "get_time"),
    ]
    assert (
        "".join(e.arguments for e in out if isinstance(e, ToolCallDelta) and e.index == 0)
        == '{"city": "Paris"}'
    )
    calls = response.message.tool_calls
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {"city": "Oslo"}),
    ]
    assert response.finish_reason == "tool_calls"
    payload = server.requests[0].json()
    assert payload["tool_choice"] == "auto"
    assert payload["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": dict(WEATHER.parameters),
        },
    }


async def test_repeated_id_and_name_in_every_delta_are_not_concatenated(serve, make_provider) -> None:
    # llama-cpp-python repeats id, type and name in every tool-call delta
    def delta(args: str) -> dict:
        call = {
            "index": 0,
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": args},
        }
        return chunk({"role": None, "content": None, "tool_calls": [call]})

    body = sse(delta("{"), delta('"city": "Rome"'), delta("}"), chunk({}, "tool_calls"))
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    out, response = await collect(provider, request(tools=[WEATHER]))
    assert len([e for e in out if isinstance(e, ToolCallStarted)]) == 1
    (call,) = response.message.tool_calls
    assert (call.id, call.name, call.arguments) == ("c1", "get_weather", '{"city": "Rome"}')


async def test_crlf_framing_comments_and_events_split_across_reads(serve, make_provider) -> None:
    raw = sse(*text_stream("one ", "two ", "three"), newline="\r\n")
    raw = b": keep-alive\r\n\r\n" + raw.replace(b"data: [DONE]", b": ping\r\n\r\ndata: [DONE]")
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]  # reads cut lines, CRLFs and JSON apart
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=pieces)])
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request())
    assert response.message.content == "one two three"


async def test_utf8_character_split_across_reads(serve, make_provider) -> None:
    raw = sse(*text_stream("héllo ", "wörld ", "🎉"))
    cut = raw.index("🎉".encode()) + 2  # in the middle of the emoji's four bytes
    split = raw.index("é".encode()) + 1
    chunks = [raw[:split], raw[split:cut], raw[cut:]]
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=chunks)])
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request())
    assert response.message.content == "héllo wörld 🎉"


async def test_reasoning_content_streams_as_reasoning_deltas(serve, make_provider) -> None:
    events = [
        chunk({"role": "assistant", "reasoning_content": "Let me think. "}),
        chunk({"reasoning_content": "Two plus two."}),
        chunk({"content": "4"}),
        chunk({}, "stop"),
    ]
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse(*events)])])
    provider = make_provider(server.url + "/v1")
    out, response = await collect(provider, request())
    assert [e.text for e in out if isinstance(e, ReasoningDelta)] == ["Let me think. ", "Two plus two."]
    assert response.message.reasoning == "Let me think. Two plus two."
    assert response.message.content == "4"


async def test_finish_reason_without_done_is_complete(serve, make_provider) -> None:
    body = sse(*text_stream("ok"), done=False)
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request())
    assert response.message.content == "ok"


async def test_stream_without_done_or_finish_reason_is_incomplete(serve, make_provider) -> None:
    body = sse(chunk({"content": "The answer is"}), done=False)
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    seen = []
    with pytest.raises(IncompleteStreamError) as info:
        async for event in provider.stream(request()):
            seen.append(event)
    assert seen == [TextDelta("The answer is")]
    assert "[DONE]" in str(info.value) and "openai" in str(info.value)
    assert len(server.requests) == 1  # output reached the caller: never retried


async def test_connection_cut_mid_stream_is_incomplete_and_not_retried(serve, make_provider) -> None:
    head = sse(chunk({"content": "partial "}), done=False)
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[head, Pause(0.05), Cut()])])
    provider = make_provider(server.url + "/v1")
    seen = []
    with pytest.raises(IncompleteStreamError):
        async for event in provider.stream(request()):
            seen.append(event)
    assert seen == [TextDelta("partial ")]
    assert len(server.requests) == 1


async def test_cut_before_any_output_is_retried(serve, make_provider) -> None:
    replies = [
        Reply(200, headers=SSE_HEADERS, chunks=[Cut()]),
        Reply(200, headers=SSE_HEADERS, chunks=[sse(*text_stream("fine"))]),
    ]
    server = serve(replies)
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request())
    assert response.message.content == "fine"
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit_exceeded"},
            RateLimitError,
        ),
        (
            {"message": "maximum context length is 8192 tokens", "code": "context_length_exceeded"},
            ContextLengthError,
        ),
        ({"message": "The server had an error", "type": "server_error"}, ProviderError),
    ],
)
async def test_error_object_inside_the_stream_is_raised_typed(serve, make_provider, error, expected) -> None:
    body = sse(chunk({"content": "so far "}), {"error": error}, done=False)
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(expected) as info:
        await collect(provider, request())
    assert error["message"] in str(info.value)
    assert info.value.provider == "openai" and info.value.model == "gpt-4o-mini"
    assert len(server.requests) == 1


async def test_error_event_type(serve, make_provider) -> None:
    body = b'event: error\ndata: {"message": "overloaded", "type": "overloaded_error"}\n\n'
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ProviderError, match="overloaded"):
        await collect(provider, request())


async def test_slow_trickle_hits_the_total_deadline(serve, make_provider) -> None:
    def trickle():
        yield sse(chunk({"role": "assistant"}), done=False)
        for _ in range(100):
            yield Pause(0.1)
            yield sse(chunk({"content": "."}), done=False)

    server = serve(lambda _r: Reply(200, headers=SSE_HEADERS, chunks=trickle()))
    provider = make_provider(server.url + "/v1", total_timeout=1.0, read_timeout=5.0)
    with pytest.raises(ProviderTimeoutError, match="deadline"):
        await collect(provider, request())


async def test_length_cut_inside_tool_arguments_is_marked(serve, make_provider) -> None:
    call = {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Par'},
    }
    body = sse(chunk({"tool_calls": [call]}), chunk({}, "length"))
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request(tools=[WEATHER]))
    assert response.finish_reason == "length"
    assert response.message.finish_reason == "length"  # the loop must not run this call
    assert response.message.tool_calls[0].arguments == '{"city": "Par'


async def test_malformed_tool_arguments_pass_through_raw(serve, make_provider) -> None:
    call = {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{city: Paris"},
    }
    body = sse(chunk({"tool_calls": [call]}), chunk({}, "tool_calls"))
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    _, response = await collect(provider, request(tools=[WEATHER]))
    assert response.message.tool_calls[0].arguments == "{city: Paris"


async def test_server_that_ignores_stream_true_answers_json(serve, make_provider) -> None:
    completion = {
        "id": "x",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}
        ],
    }
    server = serve([json_reply(completion)])
    provider = make_provider(server.url + "/v1")
    out, response = await collect(provider, request())
    assert out == [TextDelta("whole")]
    assert response.message.content == "whole"


async def test_consumer_that_stops_early_closes_the_response(serve, make_provider) -> None:
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse(*text_stream("a", "b", "c"))])])
    provider = make_provider(server.url + "/v1")
    stream = provider.stream(request())
    first = await anext(stream)
    await stream.aclose()
    assert first == TextDelta("a")
