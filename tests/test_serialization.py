"""Round trips through agentkit's JSON shape (agentkit.serialization), as property tests.

The hand-written fast paths (agentkit._fastpath) are checked against the generic converter
at the end: same values, same JSON, and anything unusual left to the generic path.

For every value ``x``: ``from_dict(to_dict(x), type(x)) == x``, also through ``json.dumps``
and ``json.loads``, and tagged unions (``Message``, ``StreamEvent``) come back as the right
class. The exact shape is pinned by a few examples, because stored sessions depend on it.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import _fastpath, _msgspec_messages
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
    messages_from_json_texts,
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


# -- the fast paths ---------------------------------------------------------------------------

generic = make_converter(fast_paths=False)


@settings(max_examples=200, deadline=None)
@given(message)
def test_the_fast_path_builds_what_the_constructors_build(value):
    data = through_json(messages_to_dicts([value])[0])
    fast = _fastpath.structure_message(data)
    if fast is _fastpath.SLOW:  # images and the like: the generic path's job
        assert any(not isinstance(p, TextPart) for p in getattr(value, "content", ()))
        return
    assert type(fast) is type(value) and fast == value and hash(fast) == hash(value)
    assert attrs.asdict(fast) == attrs.asdict(value)  # every field set, tags included
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.role = "user"  # type: ignore[misc]


def test_the_usual_messages_take_the_fast_path():
    call = ToolCall("c1", "f", "{}")
    for value in (
        SystemMessage("be brief"),
        UserMessage("hi"),
        AssistantMessage(
            "", tool_calls=(call,), model="m", usage=Usage(1, 2, cost=0.5), finish_reason="stop"
        ),
        ToolMessage("c1", "f", "ok", is_error=True),
    ):
        built = _fastpath.structure_message(through_json(messages_to_dicts([value])[0]))
        assert built is not _fastpath.SLOW and built == value


@pytest.mark.parametrize(
    "data",
    [
        {"role": "user", "content": "not a list of parts"},
        {"role": "user", "content": [{"type": "text", "text": 3}]},
        {"role": "user", "content": [{"type": "text"}, {"type": "text", "text": "x"}]},
        {"role": "assistant", "content": 5},
        {"role": "assistant", "content": "", "tool_calls": None},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "name": "b", "args": "{}"}]},
        {"role": "assistant", "content": "", "usage": {"input_tokens": "3"}},
        {"role": "assistant", "content": "", "usage": {"input_tokens": True}},
        {"role": "assistant", "content": "", "model": 3},
        {"role": "assistant", "content": "", "colour": "red"},
        {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x", "is_error": 0},
        {"role": "tool", "tool_call_id": "c", "name": "f"},
        {"role": "system", "content": "x", "extra": 1},
        {"role": "wizard"},
        ["not", "a", "dict"],
    ],
)
def test_anything_unusual_goes_to_the_generic_path(data):
    assert _fastpath.structure_message(data) is _fastpath.SLOW


def test_bad_messages_still_get_the_generic_errors():
    with pytest.raises(ValueError, match=r"message 1: .*tool_calls"):
        messages_from_dicts([{"role": "system", "content": "ok"}, {"role": "assistant", "tool_calls": None}])


@settings(max_examples=200, deadline=None)
@given(message)
def test_the_fast_json_is_the_generic_json(value):
    fast = messages_to_dicts([value])[0]
    assert fast == generic.unstructure(value, type(value))
    assert list(fast) == list(generic.unstructure(value, type(value)))  # same key order too
    assert messages_from_dicts([through_json(fast)]) == [generic.structure(through_json(fast), Message)]


# -- decoding many texts ----------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.lists(message, max_size=20), st.booleans())
def test_texts_decode_like_one_dict_at_a_time(values, as_bytes):
    texts = [json.dumps(d, ensure_ascii=False) for d in messages_to_dicts(values)]
    given_texts = [t.encode() for t in texts] if as_bytes else texts
    assert (
        messages_from_json_texts(given_texts) == messages_from_dicts([json.loads(t) for t in texts]) == values
    )


def test_batches_cover_every_text():
    values = [UserMessage(f"q{i}") if i % 2 else AssistantMessage(f"a{i}") for i in range(1300)]
    texts = [json.dumps(d) for d in messages_to_dicts(values)]
    assert messages_from_json_texts(texts) == values
    assert messages_from_json_texts([]) == []


@pytest.mark.parametrize(
    "texts",
    [
        ['{"role": "user", "content": [{"type": "text", "text": "ok"}]}', "{not json"],
        ['{"role": "system", "content": "a"}, {"role": "system", "content": "b"}'],  # two in one
        ['{"role": "wizard"}'],
    ],
)
def test_bad_texts_are_value_errors(texts):
    with pytest.raises(ValueError):
        messages_from_json_texts(texts)


@pytest.mark.parametrize("msgspec", [True, False], ids=["msgspec", "json-only"])
@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN, "b": Infinity}',
        '"\\ud800 lone surrogate"',
        '{"a": 1, "a": 2}',
        '[1.5, -0.0, 1e308, "\\u00e9", null, true]',
        "[" + ",".join(['{"k": "' + "x" * 100 + '"}'] * 1000) + "]",  # large: parsed with the GC paused
    ],
)
def test_decode_json_answers_exactly_like_json(text, msgspec, monkeypatch):
    if not msgspec:
        monkeypatch.setattr(_fastpath, "_fast_loads", None)
    expected = json.loads(text)
    got = _fastpath.decode_json(text)
    assert json.dumps(got) == json.dumps(expected)
    assert _fastpath.decode_json(text.encode("utf-8", "surrogatepass")) is not None
    assert gc.isenabled()
    with pytest.raises(ValueError):
        _fastpath.decode_json(text + "}")


def test_integers_beyond_64_bits_are_exact():
    big = 123456789012345678901234567890
    texts = [
        json.dumps({"role": "assistant", "content": "", "usage": {"input_tokens": big}}),
        json.dumps({"role": "assistant", "content": "", "usage": {"input_tokens": 1, "cost": big}}),
    ]
    got = messages_from_json_texts(texts)
    assert got == messages_from_dicts([json.loads(t) for t in texts])
    assert got[0].usage.input_tokens == big and type(got[0].usage.input_tokens) is int


# -- msgspec: typed structs straight to messages -----------------------------------------------


def _generic_or_error(dicts: list[Any]) -> Any:
    try:
        return messages_from_dicts(dicts)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(st.lists(message, min_size=1, max_size=10))
def test_the_typed_path_builds_what_the_generic_path_builds(values):
    joined = json.dumps(messages_to_dicts(values), ensure_ascii=False)
    typed = _msgspec_messages.decode_messages(joined)
    if typed is None:  # images and the like: the dict path's job
        assert any(not isinstance(p, TextPart) for v in values for p in getattr(v, "content", ()))
        return
    assert typed == values == messages_from_dicts(json.loads(joined))
    for fast, value in zip(typed, values, strict=True):
        assert type(fast) is type(value) and attrs.asdict(fast) == attrs.asdict(value)


def test_the_usual_messages_take_the_typed_path():
    call = ToolCall("c1", "f", "{}")
    values = [
        SystemMessage("be brief"),
        UserMessage("hi"),
        AssistantMessage("", tool_calls=(call,), model="m", usage=Usage(1, 2, cost=0.5), finish_reason="stop"),
        AssistantMessage("plain"),
        ToolMessage("c1", "f", "ok", is_error=True),
    ]
    assert _msgspec_messages.decode_messages(json.dumps(messages_to_dicts(values))) == values


ODD_MESSAGES: list[Any] = [
    {"role": "user", "content": "not a list of parts"},
    {"role": "user", "content": [{"text": "no type"}]},
    {"role": "user", "content": [{"type": "text", "text": "x", "extra": 1}]},
    {"role": "user", "content": [{"type": "image", "url": "https://example.com/a.png"}]},
    {"role": "user", "content": [{"type": "text", "text": "\ud800"}]},
    {"role": "assistant"},
    {"role": "assistant", "content": None},
    {"role": "assistant", "content": 5},
    {"role": "assistant", "content": "", "tool_calls": None},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "name": "b"}]},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "name": "b", "arguments": "{}", "x": 1}]},
    {"role": "assistant", "content": "", "usage": None},
    {"role": "assistant", "content": "", "usage": {}},
    {"role": "assistant", "content": "", "usage": {"input_tokens": 1.0}},
    {"role": "assistant", "content": "", "usage": {"input_tokens": True}},
    {"role": "assistant", "content": "", "usage": {"input_tokens": 2**70}},
    {"role": "assistant", "content": "", "usage": {"input_tokens": -1}},
    {"role": "assistant", "content": "", "usage": {"cost": 3}},
    {"role": "assistant", "content": "", "usage": {"cost": "3"}},
    {"role": "assistant", "content": "", "usage": {"tokens": 3}},
    {"role": "assistant", "content": "", "colour": "red"},
    {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x", "is_error": 0},
    {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x"},
    {"role": "tool", "tool_call_id": "c", "name": "f"},
    {"role": "system", "content": "x", "extra": 1},
    {"role": "system", "content": None},
    {"role": "wizard"},
    {"content": "no role"},
    ["not", "a", "dict"],
]


@pytest.mark.parametrize("data", ODD_MESSAGES)
def test_odd_messages_decode_as_the_generic_path_decides(data):
    text = json.dumps(data)
    typed = _msgspec_messages.decode_messages("[" + text + "]")
    expected = _generic_or_error([data])
    if typed is not None:  # the structs took it: it must be what the generic path builds
        assert typed == expected
    try:
        got: Any = messages_from_json_texts([text])
    except ValueError as exc:
        got = type(exc)
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"role": "system", "content": "first", "content": "last"}',  # json keeps the last
        '{"role": "user", "role": "user", "content": [{"type": "text", "text": "x"}]}',
        '{"role": "assistant", "content": "", "usage": {"input_tokens": 1, "input_tokens": 2}}',
        '{"role": "assistant", "content": "\\u00e9\\ud83d\\ude00", "usage": {"cost": 1e308}}',
        '{"role": "assistant", "content": "\\ud800 alone"}',
        '{"role": "assistant", "content": "\ud83d\ude00 as two code points in a str"}',
        '{"role": "assistant", "content": "", "usage": {"cost": 1e400}}',
    ],
)
def test_texts_json_reads_in_its_own_way_decode_like_json(text):
    expected = _generic_or_error([json.loads(text)])
    typed = _msgspec_messages.decode_messages("[" + text + "]")
    if typed is not None:
        assert typed == expected
    try:
        got: Any = messages_from_json_texts([text])
    except ValueError as exc:
        got = type(exc)
    assert got == expected


def test_without_msgspec_the_dict_path_decodes_alone(monkeypatch):
    monkeypatch.setattr(_msgspec_messages, "_decoder", None)
    monkeypatch.setattr(_fastpath, "_fast_loads", None)
    values = [UserMessage("q"), AssistantMessage("a", usage=Usage(1, 2))]
    texts = [json.dumps(d) for d in messages_to_dicts(values)]
    assert _msgspec_messages.decode_messages("[" + ",".join(texts) + "]") is None
    assert messages_from_json_texts(texts) == values


def test_the_gc_is_left_as_it_was():
    gc.disable()
    try:
        with _fastpath.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with _fastpath.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), _fastpath.gc_paused():
        raise KeyError
    assert gc.isenabled()
