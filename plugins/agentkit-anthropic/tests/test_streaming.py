"""Streams: every event type, usage with cache tokens, and the faults a provider must survive."""

from __future__ import annotations

import time

import pytest
from agentkit_anthropic.provider import AnthropicProvider
from agentkit_anthropic.streaming import StreamAssembler
from fake_anthropic_server import FAST, KEY, Turn, redacted, text, thinking, tool_use

from agentkit.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    IncompleteStreamError,
    ModelNotFoundError,
    RateLimitError,
    ServerError,
)
from agentkit.events import ModelResponse, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.messages import ReasoningBlock, ToolCall, UserMessage
from agentkit.providers import ModelRequest, ToolSpec

ADD = ToolSpec("add", "Add.", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})


def req(**kwargs) -> ModelRequest:
    return ModelRequest("claude-sonnet-4-5", [UserMessage("What is 2 + 3?")], tools=[ADD], **kwargs)


async def collect(provider, request=None):
    events = [e async for e in provider.stream(request or req())]
    assert isinstance(events[-1], ModelResponse)
    return events[:-1], events[-1]


async def test_every_event_type_of_a_stream(fake, provider) -> None:
    fake.script(
        Turn(
            [
                thinking("I should add 2 and 3 with the tool.", "EqQBCgIYAhIM+sig/=="),
                redacted("EmwKAhgBEgy3va3pzix/LafPsn4a"),
                text("Let me add. Ünïcode ✓"),
                tool_use("toolu_01A", "add", {"a": 2, "b": 3}),
            ],
            usage={"input_tokens": 3, "output_tokens": 40, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 2000},
            piece=3,
            split=7,
        )
    )
    events, response = await collect(provider)
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "I should add 2 and 3 with the tool."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me add. Ünïcode ✓"
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert started == [ToolCallStarted(index=0, id="toolu_01A", name="add")]
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == '{"a": 2, "b": 3}'
    message = response.message
    assert message.tool_calls == (ToolCall("toolu_01A", "add", '{"a": 2, "b": 3}'),)
    assert message.reasoning_blocks == (
        ReasoningBlock("anthropic", text="I should add 2 and 3 with the tool.", signature="EqQBCgIYAhIM+sig/=="),
        ReasoningBlock("anthropic", data="EmwKAhgBEgy3va3pzix/LafPsn4a"),
    )
    assert response.finish_reason == "tool_calls"
    usage = response.usage
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_creation_tokens) == (3503, 2000, 1500)
    assert usage.output_tokens == 40 and usage.requests == 1
    assert fake.requests[-1]["stream"] is True


async def test_the_whole_answer_without_streaming_reads_the_same(fake, provider) -> None:
    fake.script(Turn([thinking("hmm", "sig"), text("5")], usage={"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 10}))
    response = await provider.complete(req())
    assert response.message.content == "5" and response.message.reasoning == "hmm"
    assert response.message.reasoning_blocks == (ReasoningBlock("anthropic", text="hmm", signature="sig"),)
    assert response.usage.input_tokens == 15 and response.usage.cached_tokens == 10


async def test_max_tokens_is_a_length_finish(fake, provider) -> None:
    fake.script(Turn([text("cut sh")], stop_reason="max_tokens"))
    _, response = await collect(provider)
    assert response.finish_reason == "length"


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_error"), (529, "overloaded_error")])
async def test_429_and_529_are_retried_after_retry_after(fake, provider, status, kind) -> None:
    fake.script(Turn(status=status, error_type=kind, headers={"retry-after": "0.3"}), Turn([text("fine")]))
    start = time.monotonic()
    _, response = await collect(provider)
    assert time.monotonic() - start >= 0.3
    assert response.message.content == "fine" and len(fake.requests) == 2


async def test_529_beyond_the_retry_budget_is_a_server_error(fake) -> None:
    fake.default_turn = Turn(status=529, error_type="overloaded_error", error_message="Overloaded")
    provider = AnthropicProvider(base_url=fake.url, api_key=KEY, **dict(FAST, max_retries=1))
    with pytest.raises(ServerError) as info:
        await provider.complete(req())
    assert info.value.status_code == 529 and "overloaded" in str(info.value).lower()
    assert len(fake.requests) == 2
    await provider.aclose()


async def test_a_long_retry_after_is_a_rate_limit_error_with_the_wait(fake, provider) -> None:
    fake.script(Turn(status=429, error_type="rate_limit_error", headers={"retry-after": "3600"}))
    with pytest.raises(RateLimitError) as info:
        await provider.complete(req())
    assert info.value.retry_after == 3600


async def test_an_error_event_before_any_delta_is_retried(fake, provider) -> None:
    fake.script(Turn([text("never")], error_event_after=1), Turn([text("second try")]))
    _, response = await collect(provider)
    assert response.message.content == "second try" and len(fake.requests) == 2


async def test_an_error_event_mid_stream_raises_its_type(fake, provider) -> None:
    fake.script(Turn([text("Hello there, this is long")], error_event_after=5, piece=2))
    seen = []
    with pytest.raises(ServerError) as info:
        async for event in provider.stream(req()):
            seen.append(event)
    assert any(isinstance(e, TextDelta) for e in seen)  # deltas were delivered: no retry
    assert info.value.status_code == 529 and "overloaded_error" in str(info.value)
    assert len(fake.requests) == 1


async def test_a_cut_stream_is_an_incomplete_stream(fake, provider) -> None:
    fake.script(Turn([text("Hello there, this is long")], cut_after=6, piece=2))
    with pytest.raises(IncompleteStreamError):
        async for _ in provider.stream(req()):
            pass
    assert len(fake.requests) == 1


async def test_a_stream_that_ends_before_message_stop_is_incomplete(fake, provider) -> None:
    fake.default_turn = Turn([text("Hello there")], stop_after=6, piece=2)
    with pytest.raises(IncompleteStreamError, match="message_stop"):
        async for _ in provider.stream(req()):
            pass


async def test_malformed_tool_json_is_kept_as_sent(fake, provider) -> None:
    fake.script(Turn([tool_use("toolu_1", "add", raw=['{"a": 2', ', "b": ', "}"])]))
    events, response = await collect(provider)
    assert response.message.tool_calls == (ToolCall("toolu_1", "add", '{"a": 2, "b": }'),)
    assert [e.arguments for e in events if isinstance(e, ToolCallDelta)] == ['{"a": 2', ', "b": ', "}"]


@pytest.mark.parametrize(
    ("status", "kind", "message", "error"),
    [
        (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", ContextLengthError),
        (400, "invalid_request_error", "max_tokens: Field required", BadRequestError),
        (404, "not_found_error", "model: claude-nope", ModelNotFoundError),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", BadRequestError),
        (403, "permission_error", "Your API key does not have permission to use the specified resource.",
         AuthenticationError),
    ],
)
async def test_errors_are_typed_from_the_body(fake, provider, status, kind, message, error) -> None:
    fake.script(Turn(status=status, error_type=kind, error_message=message))
    with pytest.raises(error) as info:
        await provider.complete(req())
    assert type(info.value) is error and kind in str(info.value)
    assert len(fake.requests) == 1  # never retried
    if status == 413:
        assert "32 MB" in str(info.value)
    if status == 403:
        assert "permission denied" in str(info.value) and info.value.env_var == "ANTHROPIC_API_KEY"


async def test_an_api_error_is_a_server_error_retried(fake, provider) -> None:
    fake.script(Turn(status=500, error_type="api_error", error_message="Internal server error"), Turn([text("ok")]))
    assert (await provider.complete(req())).message.content == "ok" and len(fake.requests) == 2


def test_unknown_events_are_skipped_and_pings_anywhere() -> None:
    assembler = StreamAssembler(provider="anthropic", model="m")
    assembler.feed("message_start", '{"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 1}}}')
    assert assembler.feed("ping", '{"type": "ping"}') == []
    assert assembler.feed("future_event", '{"type": "future_event", "x": 1}') == []
    assembler.feed(None, '{"type": "message_stop"}')
    assert assembler.response().message.content == ""
