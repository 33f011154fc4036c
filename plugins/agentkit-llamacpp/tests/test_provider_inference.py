"""Real inference with SmolLM2-135M through the provider. Assertions on protocol and types, not wording."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentkit.events import ModelResponse, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.providers import ModelRequest, OutputSchema, ToolSpec

pytestmark = [pytest.mark.llama, pytest.mark.usefixtures("llama_available")]

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def provider():  # type: ignore[no-untyped-def]
    from agentkit_llamacpp.provider import LlamaCppProvider

    return LlamaCppProvider()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_chat_answer_with_usage(provider) -> None:  # type: ignore[no-untyped-def]
    request = ModelRequest("smollm2", [UserMessage("What is the capital of France?")], params={"max_tokens": 16})
    response = run(provider.complete(request))
    assert isinstance(response, ModelResponse)
    assert isinstance(response.message.content, str) and response.message.content.strip()
    assert response.usage.input_tokens > 0 and 0 < response.usage.output_tokens <= 16
    assert response.finish_reason in ("stop", "length")


def test_stream_deltas_add_up_to_the_message(provider) -> None:  # type: ignore[no-untyped-def]
    request = ModelRequest("smollm2", [UserMessage("Say hello.")], params={"max_tokens": 12, "seed": 1})

    async def collect():  # type: ignore[no-untyped-def]
        return [e async for e in provider.stream(request)]

    events = run(collect())
    assert isinstance(events[-1], ModelResponse)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == events[-1].message.content
    assert events[-1].usage.output_tokens == len(deltas)


def test_forced_tool_call_has_schema_valid_arguments(provider) -> None:  # type: ignore[no-untyped-def]
    request = ModelRequest(
        "smollm2",
        [UserMessage("What's the weather in Paris?")],
        tools=[WEATHER],
        tool_choice="get_weather",
        params={"max_tokens": 64},
    )
    response = run(provider.complete(request))
    (call,) = response.message.tool_calls
    assert call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["city"], str)
    assert response.finish_reason == "tool_calls"


def test_tool_turn_streams_as_tool_call_events(provider) -> None:  # type: ignore[no-untyped-def]
    request = ModelRequest(
        "smollm2",
        [UserMessage("Weather in Rome?")],
        tools=[WEATHER],
        tool_choice="get_weather",
        params={"max_tokens": 64},
    )

    async def collect():  # type: ignore[no-untyped-def]
        return [e async for e in provider.stream(request)]

    events = run(collect())
    assert isinstance(events[0], ToolCallStarted) and events[0].name == "get_weather"
    assert isinstance(events[1], ToolCallDelta)
    assert events[-1].message.tool_calls[0].arguments == events[1].arguments


def test_tool_result_is_shown_to_the_model(provider) -> None:  # type: ignore[no-untyped-def]
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    request = ModelRequest(
        "smollm2",
        [
            UserMessage("What's the weather in Paris?"),
            AssistantMessage(tool_calls=[call]),
            ToolMessage("call_1", "get_weather", "sunny, 21 C"),
        ],
        tools=[WEATHER],
        tool_choice="none",
        params={"max_tokens": 24},
    )
    response = run(provider.complete(request))
    assert response.message.tool_calls == ()
    assert response.message.content.strip()


def test_structured_output_follows_the_schema(provider) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    request = ModelRequest(
        "smollm2",
        [UserMessage("Describe a person named Bob who is 30, as JSON.")],
        output_schema=OutputSchema("person", schema),
        params={"max_tokens": 48},
    )
    data = json.loads(run(provider.complete(request)).message.content)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


def test_models_are_loaded_once_and_shared(provider) -> None:  # type: ignore[no-untyped-def]
    from agentkit_llamacpp.provider import LlamaCppProvider, loaded_models

    window = run(provider.context_window("smollm2"))
    before = loaded_models()
    other = LlamaCppProvider()
    assert run(other.context_window("smollm2")) == window
    assert loaded_models() == before
    assert 1900 < window < 2048  # n_ctx 2048, less the instructions of a turn with tools


def test_unknown_param_is_a_clear_error(provider) -> None:  # type: ignore[no-untyped-def]
    from agentkit.errors import BadRequestError

    request = ModelRequest("smollm2", [UserMessage("hi")], params={"logit_bias": {}})
    with pytest.raises(BadRequestError, match="logit_bias"):
        run(provider.complete(request))


def test_event_loop_is_not_blocked_during_generation(provider) -> None:  # type: ignore[no-untyped-def]
    request = ModelRequest("smollm2", [UserMessage("Count to twenty.")], params={"max_tokens": 48})

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await provider.complete(request)
        task.cancel()
        return ticks

    assert run(main()) > 3
