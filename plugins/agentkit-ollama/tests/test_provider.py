"""The provider against a fake Ollama: chat, streaming, tools, images, thinking, models, embeddings."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from fake_ollama_server import Chat, FakeModel, FakeOllama

from agentkit.events import ModelResponse, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.messages import AssistantMessage, ImagePart, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.plugins import PluginHost
from agentkit.providers import ModelRequest, OutputSchema, ToolSpec
from agentkit_ollama import OllamaResponseInfo
from agentkit_ollama.provider import OllamaProvider

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def req(*messages, **kw) -> ModelRequest:
    return ModelRequest(model="qwen3:8b", messages=messages or (UserMessage("hi"),), **kw)


async def collect(provider, request):
    return [e async for e in provider.stream(request)]


def test_entry_point_registers_the_provider() -> None:
    host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-ollama"})  # others are not under test
    entry = host.registry("provider").get("ollama")
    assert entry.plugin == "agentkit-ollama"
    provider = entry.value(base_url="localhost:11500", api_key=None)
    assert isinstance(provider, OllamaProvider)
    assert provider.base_url == "http://localhost:11500"
    caps = provider.capabilities
    assert caps.streaming and caps.tools and caps.structured_output and caps.embeddings and caps.list_models


async def test_streams_text_and_ends_with_the_response(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="The sky is blue because of Rayleigh scattering.", eval_count=11))
    events = await collect(provider, req(SystemMessage("Be brief."), UserMessage("Why is the sky blue?")))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 5  # streamed in pieces
    assert "".join(deltas) == "The sky is blue because of Rayleigh scattering."
    response = events[-1]
    assert isinstance(response, ModelResponse)
    assert response.message.content == "The sky is blue because of Rayleigh scattering."
    assert response.finish_reason == response.message.finish_reason == "stop"
    assert response.model == "qwen3:8b"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.requests) == (26, 11, 1)
    assert response.message.usage == response.usage

    body = ollama.chat_requests()[0]
    assert body["model"] == "qwen3:8b" and body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]
    assert "tools" not in body and "options" not in body and "format" not in body


async def test_complete_returns_the_whole_answer(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="Hello! How are you today?"))
    response = await provider.complete(req())
    assert response.message.content == "Hello! How are you today?"


async def test_durations_are_kept_and_logged(
    ollama: FakeOllama, provider: OllamaProvider, caplog: pytest.LogCaptureFixture
) -> None:
    ollama.script(Chat(content="hi", eval_count=282))
    with caplog.at_level(logging.DEBUG, logger="agentkit_ollama"):
        await provider.complete(req())
    info = provider.last_response_info
    assert isinstance(info, OllamaResponseInfo)
    assert info.total_duration == pytest.approx(4.883583458)
    assert info.load_duration == pytest.approx(0.001334875)
    assert info.eval_duration == pytest.approx(4.535599)
    assert info.eval_rate == pytest.approx(282 / 4.535599)
    assert info.done_reason == "stop"
    assert any("282 tokens" in r.getMessage() and "tokens/s" in r.getMessage() for r in caplog.records)


async def test_tool_calls_arrive_as_json_text_with_stable_ids(
    ollama: FakeOllama, provider: OllamaProvider
) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}},
    ]
    ollama.script(Chat(tool_calls=calls), Chat(tool_calls=calls), Chat(tool_calls=calls))
    request = req(UserMessage("Weather in Paris and Zürich?"), tools=[WEATHER])
    events = await collect(provider, request)
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(e.index, e.name) for e in started] == [(0, "get_weather"), (1, "get_weather")]
    response = events[-1]
    assert isinstance(response, ModelResponse)
    assert response.finish_reason == "tool_calls"
    first, second = response.message.tool_calls
    assert json.loads(first.arguments) == {"city": "Paris"}
    assert json.loads(second.arguments) == {"city": "Zürich", "unit": "celsius"}
    assert [p.arguments for p in pieces] == [first.arguments, second.arguments]
    assert first.id != second.id and first.id.startswith("call_")
    assert [s.id for s in started] == [first.id, second.id]

    again = await provider.complete(request)  # same conversation, same ids
    assert [c.id for c in again.message.tool_calls] == [first.id, second.id]
    other = await provider.complete(req(UserMessage("Something else"), tools=[WEATHER]))
    assert other.message.tool_calls[0].id != first.id  # another turn, other ids

    body = ollama.chat_requests()[0]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]


async def test_tool_call_ids_from_ollama_are_kept(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(
        Chat(tool_calls=[{"id": "call_abc123", "name": "get_weather", "arguments": {"city": "Oslo"}}])
    )
    response = await provider.complete(req(tools=[WEATHER]))
    assert response.message.tool_calls == (ToolCall("call_abc123", "get_weather", '{"city": "Oslo"}'),)


async def test_tool_round_trip_is_sent_the_way_ollama_wants_it(
    ollama: FakeOllama, provider: OllamaProvider
) -> None:
    ollama.script(Chat(content="It is 11 degrees in Paris."))
    history = (
        UserMessage("Weather in Paris?"),
        AssistantMessage(
            tool_calls=[ToolCall("call_1", "get_weather", '{"city": "Paris"}')],
            reasoning="I should look it up.",
        ),
        ToolMessage("call_1", "get_weather", "11 degrees celsius"),
    )
    response = await provider.complete(req(*history, tools=[WEATHER]))
    assert response.message.content == "It is 11 degrees in Paris."
    messages = ollama.chat_requests()[0]["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "",
        "thinking": "I should look it up.",
        "tool_calls": [
            {
                "type": "function",
                "id": "call_1",
                "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
            }
        ],
    }
    assert messages[2] == {
        "role": "tool",
        "content": "11 degrees celsius",
        "tool_name": "get_weather",
        "tool_call_id": "call_1",
    }


async def test_tool_choice(ollama: FakeOllama, provider: OllamaProvider) -> None:
    other = ToolSpec("get_time", "Time", {"type": "object", "properties": {}})
    await provider.complete(req(tools=[WEATHER, other], tool_choice="none"))
    await provider.complete(req(tools=[WEATHER, other], tool_choice="get_time"))
    await provider.complete(req(tools=[WEATHER, other], tool_choice="auto"))
    none, named, auto = ollama.chat_requests()
    assert "tools" not in none
    assert [t["function"]["name"] for t in named["tools"]] == ["get_time"]
    assert [t["function"]["name"] for t in auto["tools"]] == ["get_weather", "get_time"]


async def test_thinking_becomes_reasoning(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(thinking="The user asks for 2+2. That is 4.", content="4"))
    events = await collect(provider, req(UserMessage("2+2?"), params={"think": True}))
    reasoning = [e.text for e in events if isinstance(e, ReasoningDelta)]
    assert "".join(reasoning) == "The user asks for 2+2. That is 4."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in events[:first_text])
    response = events[-1]
    assert response.message.reasoning == "The user asks for 2+2. That is 4."
    assert response.message.content == "4"
    assert ollama.chat_requests()[0]["think"] is True


async def test_reasoning_effort_maps_to_think_levels(ollama: FakeOllama, provider: OllamaProvider) -> None:
    await provider.complete(req(params={"reasoning_effort": "high"}))
    await provider.complete(req(params={"reasoning_effort": "none"}))
    high, none = ollama.chat_requests()
    assert high["think"] == "high" and none["think"] is False


async def test_structured_output_uses_format(ollama: FakeOllama, provider: OllamaProvider) -> None:
    schema = {
        "type": "object",
        "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
        "required": ["age", "available"],
    }
    ollama.script(Chat(content='{"age": 22, "available": false}'))
    response = await provider.complete(req(output_schema=OutputSchema("person", schema)))
    assert json.loads(response.message.content) == {"age": 22, "available": False}
    assert ollama.chat_requests()[0]["format"] == schema


async def test_images_are_sent_as_base64(ollama: FakeOllama, provider: OllamaProvider, tmp_path) -> None:
    path = tmp_path / "pig.png"
    path.write_bytes(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(b"GIF89a-bytes").decode()
    await provider.complete(
        req(
            UserMessage(
                [
                    "What is in these?",
                    ImagePart(path=str(path)),
                    ImagePart(data=b"\xff\xd8jpeg"),
                    ImagePart(url=data_url),
                ]
            )
        )
    )
    message = ollama.chat_requests()[0]["messages"][0]
    assert message["content"] == "What is in these?"
    assert [base64.b64decode(i) for i in message["images"]] == [PNG, b"\xff\xd8jpeg", b"GIF89a-bytes"]


async def test_an_image_url_is_refused_with_a_clear_error(provider: OllamaProvider) -> None:
    from agentkit.errors import BadRequestError

    with pytest.raises(BadRequestError, match="local path or the image's bytes"):
        await provider.complete(req(UserMessage(["look", ImagePart(url="https://example.com/x.png")])))


async def test_params_become_options(ollama: FakeOllama) -> None:
    provider = OllamaProvider(
        base_url=ollama.url, options={"temperature": 0.2, "num_ctx": 8192}, keep_alive="10m"
    )
    try:
        await provider.complete(
            req(
                params={
                    "temperature": 0,
                    "max_tokens": 100,
                    "seed": 42,
                    "top_p": 0.9,
                    "stop": "\n\n",
                    "keep_alive": -1,
                    "options": {"num_gpu": 1},
                }
            )
        )
        await provider.complete(req())
    finally:
        await provider.aclose()
    first, second = ollama.chat_requests()
    assert first["options"] == {
        "temperature": 0,
        "num_ctx": 8192,
        "num_predict": 100,
        "seed": 42,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "num_gpu": 1,
    }
    assert first["keep_alive"] == -1
    assert second["options"] == {"temperature": 0.2, "num_ctx": 8192}
    assert second["keep_alive"] == "10m"


async def test_length_limit_is_reported(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(
        Chat(content="A very long", done_reason="length"),
        Chat(tool_calls=[{"name": "get_weather", "arguments": {"city": "Par"}}], done_reason="length"),
    )
    assert (await provider.complete(req())).finish_reason == "length"
    cut = await provider.complete(req(tools=[WEATHER]))
    assert cut.finish_reason == cut.message.finish_reason == "length"  # the loop must not run it


async def test_missing_prompt_eval_count_means_zero(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="cached", prompt_eval_count=None, eval_count=2))
    response = await provider.complete(req())
    assert (response.usage.input_tokens, response.usage.output_tokens) == (0, 2)


# -- models ----------------------------------------------------------------------------------


async def test_list_models(ollama: FakeOllama, provider: OllamaProvider) -> None:
    models = await provider.list_models()
    assert [m.id for m in models] == ["nomic-embed-text", "qwen3:8b"]
    qwen = models[1]
    assert qwen.provider == "ollama"
    assert qwen.details["family"] == "qwen3" and qwen.details["parameter_size"] == "8.2B"
    assert qwen.details["size"] == 5_225_388_164
    assert ollama.paths() == ["GET /api/tags"]


async def test_context_window_from_show_is_cached(ollama: FakeOllama, provider: OllamaProvider) -> None:
    assert await provider.context_window("qwen3:8b") == 40960
    assert await provider.context_window("qwen3:8b") == 40960
    assert ollama.paths() == ["POST /api/show"]
    assert ollama.requests[0].json() == {"model": "qwen3:8b"}


async def test_context_window_prefers_modelfile_num_ctx() -> None:
    with FakeOllama([FakeModel("tuned:latest", "llama", 131072, num_ctx=16384)]) as server:
        provider = OllamaProvider(base_url=server.url)
        assert await provider.context_window("tuned:latest") == 16384
        await provider.aclose()


async def test_configured_num_ctx_takes_precedence(ollama: FakeOllama) -> None:
    for settings in ({"num_ctx": 8192}, {"options": {"num_ctx": 8192}}):
        provider = OllamaProvider(base_url=ollama.url, **settings)
        assert await provider.context_window("qwen3:8b") == 8192
        await provider.complete(req())
        await provider.aclose()
    assert "POST /api/show" not in ollama.paths()
    assert all(body["options"]["num_ctx"] == 8192 for body in ollama.chat_requests())


async def test_embed(ollama: FakeOllama, provider: OllamaProvider) -> None:
    vectors = await provider.embed("nomic-embed-text", ["Why is the sky blue?", "Why is the grass green?"])
    assert len(vectors) == 2 and all(len(v) == 8 for v in vectors)
    assert vectors[0] != vectors[1]
    assert vectors == await provider.embed(
        "nomic-embed-text", ["Why is the sky blue?", "Why is the grass green?"]
    )
    assert ollama.requests[0].json() == {
        "model": "nomic-embed-text",
        "input": ["Why is the sky blue?", "Why is the grass green?"],
    }
    assert await provider.embed("nomic-embed-text", []) == []
    assert len(ollama.requests) == 2
