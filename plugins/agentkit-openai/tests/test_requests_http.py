"""What goes on the wire and what comes back, non-streaming: messages, images, tools, schemas, usage."""

from __future__ import annotations

import base64
import json

import pytest
from _openai_helpers import request

from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.providers import ModelRequest, OutputSchema, ToolSpec
from agentkit.testing.servers import json_reply
from agentkit_openai.wire import is_strict_compatible

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def completion(message: dict, usage: dict | None = None, finish: str = "stop") -> object:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return json_reply(body)


async def test_every_role_on_the_wire(serve, make_provider) -> None:
    server = serve([completion({"content": "done"})])
    provider = make_provider(server.url + "/v1", null_tool_call_content=True)  # the OpenAI spec's way
    messages = [
        SystemMessage("Be brief."),
        UserMessage("Weather in Paris?"),
        AssistantMessage("", tool_calls=[ToolCall("call_1", "get_weather", '{"city": "Paris"}')]),
        ToolMessage("call_1", "get_weather", "sunny"),
        AssistantMessage("It is sunny.", reasoning="not sent back"),
        UserMessage("Thanks"),
    ]
    response = await provider.complete(ModelRequest("gpt-4o-mini", messages, tools=[WEATHER]))
    assert response.message.content == "done"
    assert response.model == "gpt-4o-mini-2024-07-18"
    sent = server.requests[0].json()
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "Thanks"},
    ]
    assert "stream" not in sent


async def test_local_servers_get_empty_string_content_for_tool_only_turns(serve, make_provider) -> None:
    server = serve([completion({"content": "ok"})])
    provider = make_provider(server.url + "/v1", profile="llama-server")
    turn = AssistantMessage("", tool_calls=[ToolCall("c", "get_weather", "{}")])
    await provider.complete(ModelRequest("m", [UserMessage("x"), turn, ToolMessage("c", "get_weather", "r")]))
    assert server.requests[0].json()["messages"][1]["content"] == ""


async def test_images_by_url_file_and_bytes(serve, make_provider, tmp_path) -> None:
    image_file = tmp_path / "cat.png"
    image_file.write_bytes(PNG)
    server = serve([completion({"content": "a cat"})])
    provider = make_provider(server.url + "/v1")
    message = UserMessage(
        [
            TextPart("What is in these?"),
            ImagePart(url="https://example.com/cat.jpg", detail="low"),
            ImagePart.from_source(image_file),
            ImagePart.from_source(PNG),
        ]
    )
    await provider.complete(ModelRequest("gpt-4o-mini", [message]))
    content = server.requests[0].json()["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is in these?"}
    assert content[1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
    }
    expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert content[2] == {"type": "image_url", "image_url": {"url": expected}}
    assert content[3] == {"type": "image_url", "image_url": {"url": expected}}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
async def test_tool_choice(serve, make_provider, choice, wire) -> None:
    server = serve([completion({"content": "x"})])
    provider = make_provider(server.url + "/v1")
    await provider.complete(
        request(tools=[WEATHER], tool_choice=choice, params={"parallel_tool_calls": False})
    )
    sent = server.requests[0].json()
    assert sent["tool_choice"] == wire
    assert sent["parallel_tool_calls"] is False


async def test_no_tools_means_no_tool_choice(serve, make_provider) -> None:
    server = serve([completion({"content": "x"})])
    provider = make_provider(server.url + "/v1")
    await provider.complete(request(tool_choice="auto"))
    assert "tool_choice" not in server.requests[0].json() and "tools" not in server.requests[0].json()


async def test_params_cannot_override_what_agentkit_sets(make_provider) -> None:
    provider = make_provider("http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="messages"):
        await provider.complete(request(params={"messages": []}))


STRICT = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"t": {"type": "number"}},
                "required": ["t"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["city", "days"],
    "additionalProperties": False,
}
LOOSE = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "note": {"type": "string"}},
    "required": ["city"],
}


@pytest.mark.parametrize(("schema", "strict"), [(STRICT, True), (LOOSE, False)])
async def test_response_format_json_schema_strict_when_allowed(serve, make_provider, schema, strict) -> None:
    server = serve([completion({"content": '{"city": "Paris", "days": []}'})])
    provider = make_provider(server.url + "/v1")
    response = await provider.complete(request(output_schema=OutputSchema("Weather report!", schema)))
    assert json.loads(response.message.content)["city"] == "Paris"
    assert server.requests[0].json()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Weather_report_", "schema": schema, "strict": strict},
    }


async def test_response_format_json_object_mode(serve, make_provider) -> None:
    server = serve([completion({"content": "{}"})])
    provider = make_provider(server.url + "/v1", structured_output="json_object")
    await provider.complete(request(output_schema=OutputSchema("out", STRICT)))
    assert server.requests[0].json()["response_format"] == {"type": "json_object", "schema": STRICT}


def test_strictness_rule() -> None:
    assert is_strict_compatible(STRICT)
    assert not is_strict_compatible(LOOSE)
    nested_loose = {
        **STRICT,
        "properties": {**STRICT["properties"], "extra": {"type": "object", "properties": {}}},
    }
    nested_loose["required"] = [*STRICT["required"], "extra"]
    assert not is_strict_compatible(nested_loose)  # an inner object without additionalProperties: false
    with_defs = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "required": ["a"],
        "additionalProperties": False,
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": []}},
    }
    assert not is_strict_compatible(with_defs)


async def test_reasoning_content_and_detailed_usage(serve, make_provider) -> None:
    usage = {
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "total_tokens": 2300,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
    }
    server = serve([completion({"content": "42", "reasoning_content": "6 times 7"}, usage)])
    provider = make_provider(server.url + "/v1")
    response = await provider.complete(request())
    assert response.message.reasoning == "6 times 7"
    assert response.usage.input_tokens == 2000 and response.usage.output_tokens == 300
    assert response.usage.cached_tokens == 1920 and response.usage.reasoning_tokens == 256
    assert response.message.usage == response.usage


async def test_tool_calls_malformed_arguments_and_length(serve, make_provider) -> None:
    calls = [
        {
            "id": "a",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": "{not json"}},
    ]
    server = serve([completion({"content": None, "tool_calls": calls}, finish="length")])
    provider = make_provider(server.url + "/v1")
    response = await provider.complete(request(tools=[WEATHER]))
    assert [c.arguments for c in response.message.tool_calls] == ['{"city": "Paris"}', "{not json"]
    assert response.message.content == ""
    assert response.message.finish_reason == "length"


async def test_tool_choice_in_params_is_refused(serve, make_provider) -> None:
    """tool_choice is the request's own field: the loop decides it per call (one rule, one place)."""
    server = serve([completion({"content": "x"})])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ValueError, match=r"params\['tool_choice'\] cannot be set"):
        await provider.complete(request(tools=[WEATHER], params={"tool_choice": "get_weather"}))
    assert server.requests == []
