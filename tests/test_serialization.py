"""Round trips through agentkit's JSON shape (agentkit.serialization), as property tests.

For every value ``x``: ``from_dict(to_dict(x), type(x)) == x``, also through ``json.dumps``
and ``json.loads``, and tagged unions (``Message``, ``StreamEvent``) come back as the right
class. The exact shape is pinned by a few examples, because stored sessions depend on it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.events import (
    ModelResponse,
    ReasoningDelta,
    RunCompleted,
    RunResult,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnCompleted,
)
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.providers import ModelRequest, OutputSchema, ToolSpec
from agentkit.serialization import (
    FORMAT_VERSION,
    from_dict,
    make_converter,
    messages_from_dicts,
    messages_to_dicts,
    to_dict,
)

text = st.text(max_size=30)
opt_text = st.none() | text
small_int = st.integers(min_value=0, max_value=2**40)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)

json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | text
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_object = st.dictionaries(text, json_value, max_size=4)

usage = st.builds(
    Usage,
    input_tokens=small_int,
    output_tokens=small_int,
    cached_tokens=small_int,
    reasoning_tokens=small_int,
    requests=small_int,
    cost=st.none() | finite,
)
tool_call = st.builds(ToolCall, id=text, name=text, arguments=text)
text_part = st.builds(TextPart, text=text)
image_part = st.one_of(
    st.builds(ImagePart, url=text, media_type=opt_text, detail=opt_text),
    st.builds(ImagePart, path=text, media_type=opt_text, detail=opt_text),
    st.builds(ImagePart, data=st.binary(max_size=40), media_type=opt_text, detail=opt_text),
)
part = text_part | image_part

system_message = st.builds(SystemMessage, content=text)
user_message = st.builds(UserMessage, content=st.lists(part, max_size=3).map(tuple))
assistant_message = st.builds(
    AssistantMessage,
    content=text,
    tool_calls=st.lists(tool_call, max_size=3).map(tuple),
    reasoning=opt_text,
    model=opt_text,
    usage=st.none() | usage,
    finish_reason=opt_text,
)
tool_message = st.builds(ToolMessage, tool_call_id=text, name=text, content=text, is_error=st.booleans())
message = st.one_of(system_message, user_message, assistant_message, tool_message)

model_response = st.builds(
    ModelResponse,
    message=assistant_message,
    usage=usage,
    model=opt_text,
    finish_reason=opt_text,
    cached=st.booleans(),
)
run_result = st.builds(
    RunResult,
    text=text,
    messages=st.lists(message, max_size=4).map(tuple),
    usage=usage,
    output=json_value,
    turns=small_int,
    stopped=st.booleans(),
    run_id=opt_text,
)
stream_event = st.one_of(
    st.builds(TextDelta, text=text),
    st.builds(ReasoningDelta, text=text),
    st.builds(ToolCallStarted, index=small_int, id=text, name=text),
    st.builds(ToolCallDelta, index=small_int, id=text, arguments=text),
    st.builds(ToolCallResult, call=tool_call, result=tool_message),
    st.builds(TurnCompleted, response=model_response, turn=small_int),
    st.builds(RunCompleted, result=run_result),
)
tool_spec = st.builds(ToolSpec, name=text, description=text, parameters=json_object)
output_schema = st.builds(
    OutputSchema, name=text, schema=json_object, strict=st.booleans(), description=opt_text
)
model_request = st.builds(
    ModelRequest,
    model=text,
    messages=st.lists(message, max_size=3).map(tuple),
    tools=st.lists(tool_spec, max_size=2).map(tuple),
    tool_choice=opt_text,
    output_schema=st.none() | output_schema,
    params=json_object,
)

any_value = st.one_of(
    usage,
    tool_call,
    part,
    message,
    model_response,
    run_result,
    stream_event,
    tool_spec,
    output_schema,
    model_request,
)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(any_value)
def test_every_value_round_trips_by_its_class(value):
    data = to_dict(value)
    assert from_dict(data, type(value)) == value
    assert from_dict(through_json(data), type(value)) == value


@settings(max_examples=100, deadline=None)
@given(message)
def test_messages_round_trip_through_the_union(value):
    back = from_dict(through_json(to_dict(value)), Message)
    assert type(back) is type(value) and back == value


@settings(max_examples=100, deadline=None)
@given(stream_event)
def test_events_round_trip_through_the_union(value):
    back = from_dict(through_json(to_dict(value)), StreamEvent)
    assert type(back) is type(value) and back == value


@settings(max_examples=50, deadline=None)
@given(st.lists(message, max_size=5))
def test_message_lists_round_trip(values):
    assert messages_from_dicts(through_json(messages_to_dicts(values))) == values


@settings(max_examples=50, deadline=None)
@given(any_value)
def test_a_fresh_converter_gives_the_same_shape(value):
    assert make_converter().unstructure(value, type(value)) == to_dict(value)


@settings(max_examples=50, deadline=None)
@given(any_value)
def test_none_fields_are_left_out(value):
    def walk(data: Any) -> None:
        if isinstance(data, dict):
            assert None not in data.values() or _free_form(data)
            for v in data.values():
                walk(v)
        elif isinstance(data, list):
            for v in data:
                walk(v)

    if not isinstance(value, RunResult | RunCompleted | ToolSpec | OutputSchema | ModelRequest):
        walk(to_dict(value))


def _free_form(data: dict) -> bool:
    return not any(k in data for k in ("role", "type", "id", "input_tokens"))


# -- the shape itself -----------------------------------------------------------------------------


def test_format_version():
    assert FORMAT_VERSION == 1


def test_message_shapes_are_pinned():
    assert to_dict(SystemMessage("be brief")) == {"role": "system", "content": "be brief"}
    assert to_dict(UserMessage(["look", ImagePart(data=b"\x89PNG", media_type="image/png")])) == {
        "role": "user",
        "content": [
            {"type": "text", "text": "look"},
            {"type": "image", "data": "iVBORw==", "media_type": "image/png"},
        ],
    }
    assert to_dict(
        AssistantMessage(
            "", tool_calls=[ToolCall("c1", "get_weather", '{"city": "Paris"}')], usage=Usage(3, 4, requests=1)
        )
    ) == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": '{"city": "Paris"}'}],
        "usage": {
            "input_tokens": 3,
            "output_tokens": 4,
            "cached_tokens": 0,
            "reasoning_tokens": 0,
            "requests": 1,
        },
    }
    assert to_dict(ToolMessage("c1", "get_weather", "sunny")) == {
        "role": "tool",
        "tool_call_id": "c1",
        "name": "get_weather",
        "content": "sunny",
        "is_error": False,
    }


def test_event_shapes_are_pinned():
    assert to_dict(TextDelta("he")) == {"type": "text_delta", "text": "he"}
    assert to_dict(ToolCallStarted(0, "c1", "f")) == {
        "type": "tool_call_started",
        "index": 0,
        "id": "c1",
        "name": "f",
    }


def test_run_result_output_is_free_form_json():
    result = RunResult(text="{}", messages=[], output={"answer": [1, 2]})
    assert to_dict(result)["output"] == {"answer": [1, 2]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "wizard", "content": "x"}, "unknown role 'wizard'"),
        ({"content": "x"}, "unknown role None"),
        ("hello", "expected an object"),
        ({"role": "user", "content": [{"type": "video"}]}, "unknown type 'video'"),
        ({"role": "system", "content": "x", "colour": "red"}, "unknown field(s) for SystemMessage: colour"),
    ],
)
def test_bad_messages_are_errors_naming_the_problem(data, message):
    with pytest.raises(ValueError) as info:
        messages_from_dicts([{"role": "system", "content": "ok"}, data])
    assert str(info.value).startswith("message 1: ")
    assert message in str(info.value)


def test_a_tag_that_contradicts_the_class_is_an_error():
    with pytest.raises(ValueError, match=r"role 'assistant' does not match SystemMessage"):
        from_dict({"role": "assistant", "content": "x"}, SystemMessage)
