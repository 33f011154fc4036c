"""The translation rules, on plain dicts."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from agentkit.events import ModelResponse, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.messages import AssistantMessage, ToolCall, UserMessage
from agentkit.providers import ModelRequest, ToolSpec
from agentkit_ollama.provider import context_from_show
from agentkit_ollama.wire import ChatAssembler, build_chat_body, message_to_wire, split_params


def test_split_params() -> None:
    options, top = split_params(
        {
            "temperature": 0.1,
            "max_tokens": 5,
            "stop": "END",
            "think": "low",
            "keep_alive": "1h",
            "format": "json",
            "options": {"num_gpu": 0},
            "mirostat": 2,
            "future_option": 1,
            "seed": None,
        }
    )
    assert options == {
        "temperature": 0.1,
        "num_predict": 5,
        "stop": ["END"],
        "num_gpu": 0,
        "mirostat": 2,
        "future_option": 1,
    }
    assert top == {"think": "low", "keep_alive": "1h", "format": "json"}


def test_params_override_defaults_key_by_key() -> None:
    request = ModelRequest("m", [UserMessage("x")], params={"temperature": 1.0, "think": False})
    body = build_chat_body(
        request, defaults={"options": {"temperature": 0.0, "num_ctx": 4096}, "think": True}
    )
    assert body["options"] == {"temperature": 1.0, "num_ctx": 4096}
    assert body["think"] is False


def test_mappings_are_sent_as_plain_json() -> None:
    spec = ToolSpec("t", "d", MappingProxyType({"type": "object", "properties": MappingProxyType({})}))
    body = build_chat_body(ModelRequest("m", [UserMessage("x")], tools=[spec]))
    assert json.loads(json.dumps(body))["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {},
    }


def test_foreign_tool_arguments_are_sent_as_an_object() -> None:
    message = AssistantMessage(tool_calls=[ToolCall("a", "t", "not json"), ToolCall("b", "t", "[1]")])
    wire = message_to_wire(message)
    assert [c["function"]["arguments"] for c in wire["tool_calls"]] == [{}, {}]


def test_assembler_events_and_response() -> None:
    request = ModelRequest("qwen3:8b", [UserMessage("x")])
    assembler = ChatAssembler(request)
    events = []
    for line in [
        {"message": {"role": "assistant", "content": "", "thinking": "hm"}, "done": False},
        {"message": {"role": "assistant", "content": "Hi"}, "done": False},
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"index": 0, "name": "t", "arguments": {"a": [1, "é"]}}}],
            },
            "done": False,
        },
        {
            "model": "qwen3:8b",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            "prompt_eval_count": 3,
            "eval_count": 4,
        },
    ]:
        events += assembler.feed(line)
    assert [type(e) for e in events] == [ReasoningDelta, TextDelta, ToolCallStarted, ToolCallDelta]
    assert isinstance(assembler.response, ModelResponse)
    call = assembler.response.message.tool_calls[0]
    assert json.loads(call.arguments) == {"a": [1, "é"]} and "é" in call.arguments
    assert assembler.response.finish_reason == "tool_calls"
    assert assembler.info is not None and assembler.info.eval_rate is None  # no durations sent


def test_context_from_show() -> None:
    assert (
        context_from_show({"model_info": {"general.architecture": "llama", "llama.context_length": 8192}})
        == 8192
    )
    assert (
        context_from_show({"parameters": 'num_ctx                        4096\nstop "x"', "model_info": {}})
        == 4096
    )
    assert context_from_show({"model_info": {"general.architecture": "x", "y.context_length": 2048}}) == 2048
    assert context_from_show({}) is None


@pytest.mark.parametrize("choice", [None, "auto", "required"])
def test_tool_choice_that_cannot_be_enforced_sends_all_tools(choice: str | None) -> None:
    specs = [ToolSpec("a", "", {}), ToolSpec("b", "", {})]
    body = build_chat_body(ModelRequest("m", [UserMessage("x")], tools=specs, tool_choice=choice))
    assert [t["function"]["name"] for t in body["tools"]] == ["a", "b"]
