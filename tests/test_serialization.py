"""Round trips through agentkit's JSON shape (agentkit.serialization), as property tests.

The one specialised decoder (agentkit._bulk, stored messages in bulk with msgspec) is checked
against the generic converter at the end: same messages, and anything unusual left to it.

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

from agentkit import _bulk
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
    Part,
    ReasoningBlock,
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
    cache_creation_tokens=small_int,
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
    reasoning_blocks=st.none()
    | st.lists(
        st.builds(ReasoningBlock, provider=text, text=text, signature=opt_text, data=opt_text), max_size=2
    ).map(tuple),
    duration=st.none() | st.floats(min_value=0, max_value=1e6),
)
tool_message = st.builds(ToolMessage, tool_call_id=text, name=text, content=text, is_error=st.booleans())
message = st.one_of(system_message, user_message, assistant_message, tool_message)

model_response = st.builds(
    ModelResponse,
    message=assistant_message,
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
    prior_messages=st.none() | st.lists(message, max_size=3).map(tuple),
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


def typing_args(union: Any) -> tuple[Any, ...]:
    import typing

    return typing.get_args(union)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(any_value)
def test_every_value_round_trips_by_its_class(value):
    data = to_dict(value)
    assert from_dict(data, type(value)) == value
    assert from_dict(through_json(data), type(value)) == value
    assert to_dict(from_dict(through_json(data), type(value))) == data  # fields left out of == too (duration)


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
            "cache_creation_tokens": 0,
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
    # usage, model and finish_reason are the message's, written once (ModelResponse reads them from it)
    response = ModelResponse(AssistantMessage("hi", model="m", usage=Usage(1, 2), finish_reason="stop"))
    assert to_dict(response) == {
        "type": "model_response",
        "message": {
            "role": "assistant",
            "content": "hi",
            "tool_calls": [],
            "model": "m",
            "usage": to_dict(Usage(1, 2)),
            "finish_reason": "stop",
        },
        "cached": False,
    }
    assert (response.usage, response.model, response.finish_reason) == (Usage(1, 2), "m", "stop")
    assert ModelResponse(AssistantMessage("no usage")).usage == Usage()
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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "assistant", "content": 5}, "expected a string, got a number @ $.content"),
        ({"role": "assistant", "content": None}, "expected a string, got null @ $.content"),
        (
            {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x", "is_error": 0},
            "expected a boolean",
        ),
        ({"role": "assistant", "usage": {"input_tokens": "3"}}, "expected an integer, got a string"),
        ({"role": "assistant", "usage": {"input_tokens": 1.5}}, "@ $.usage.input_tokens"),
        ({"role": "assistant", "usage": {"input_tokens": True}}, "expected an integer, got a boolean"),
        (
            {"role": "assistant", "tool_calls": [{"id": "a", "arguments": "{}"}]},
            "missing @ $.tool_calls[0].name",
        ),
        ({"role": "assistant", "tool_calls": None}, "@ $.tool_calls"),
        ({"role": "tool", "tool_call_id": "c", "name": "f"}, "required field missing @ $.content"),
        ({"role": "user", "content": [{"type": "image", "data": "not base64!"}]}, "expected base64 text"),
        ({"role": "user", "content": [{"type": "image"}]}, "exactly one of url=, path= or data="),
    ],
)
def test_values_of_the_wrong_type_are_refused_where_they_are(data, message):
    """Scalars are exactly their type (no str(5), no bool(0)); the error says where."""
    with pytest.raises(ValueError) as info:
        messages_from_dicts([data])
    assert message in str(info.value)


def test_numbers_read_as_floats_and_bytes_as_base64():
    assert (
        from_dict({"cost": 3}, Usage) == Usage(cost=3.0) and type(from_dict({"cost": 3}, Usage).cost) is float
    )
    assert from_dict({"type": "image", "data": "iVBORw=="}, ImagePart).data == b"\x89PNG"


# -- one converter configuration, no global state ----------------------------------------------


def test_the_converter_does_not_see_hooks_registered_on_the_global_converter():
    import cattrs

    value = UserMessage("hi")
    before = make_converter().unstructure(value, UserMessage)
    cattrs.global_converter.register_unstructure_hook(UserMessage, lambda m: {"leaked": True})
    cattrs.global_converter.register_structure_hook(str, lambda v, _: "leaked")
    try:
        fresh = make_converter()
        assert fresh.unstructure(value, UserMessage) == before == to_dict(value)
        assert fresh.structure(before, Message) == value
    finally:
        cattrs.global_converter = cattrs.Converter()


def test_converters_are_independent_of_each_other():
    one, two = make_converter(), make_converter()
    one.register_structure_hook(str, lambda v, _: "changed")
    assert two.structure({"role": "system", "content": "kept"}, Message) == SystemMessage("kept")
    assert from_dict({"role": "system", "content": "kept"}, Message) == SystemMessage("kept")


# -- a new field or class is a change in the class only ----------------------------------------


@attrs.frozen
class NotedToolMessage(ToolMessage):
    """A message class the converter has never heard of: a subclass with more fields."""

    images: tuple[Part, ...] = ()
    priority: int | None = None
    summary: str | tuple[Part, ...] = ""  # text, or parts (as ToolMessage.content may become)


def test_a_subclass_with_new_fields_round_trips_without_touching_the_converter():
    parts = (TextPart("see"), ImagePart(data=b"\x89PNG", media_type="image/png"))
    for value in (
        NotedToolMessage("c1", "shot", "ok", images=parts, priority=2, summary=parts),
        NotedToolMessage("c2", "shot", "ok", summary="just text"),
    ):
        data = through_json(to_dict(value))
        assert next(iter(data)) == "role" and data["role"] == "tool"
        assert from_dict(data, NotedToolMessage) == value
    data = to_dict(NotedToolMessage("c3", "shot", "ok"))
    assert "priority" not in data  # None is left out, like every field whose default is None
    with pytest.raises(ValueError, match=r"expected a string or an array, got a number @ \$.summary"):
        from_dict({**data, "summary": 3}, NotedToolMessage)


def _sample(tp: Any) -> Any:
    """A value of a field's type, unlike its default: enough to see every field on the wire."""
    import collections.abc
    import typing

    origin = typing.get_origin(tp)
    if tp is Any or origin in (dict, collections.abc.Mapping):
        return {"k": [1]}
    if origin is tuple:
        return (_sample(typing.get_args(tp)[0]),)
    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    first = args[0]
    if typing.get_origin(first) is tuple:  # an optional tuple
        return _sample(first)
    if first in (str, bool, bytes, int, float):
        return {str: "v", bool: True, bytes: b"v", int: 7, float: 7.5}[first]
    if attrs.has(first):
        return _every_field(first)
    raise AssertionError(f"teach _sample the type {tp!r}")


def _every_field(cls: type) -> Any:
    attrs.resolve_types(cls)
    kwargs = {f.alias: _sample(f.type) for f in attrs.fields(cls) if f.init}
    if cls is ImagePart:
        kwargs.update(path=None, data=None)
    return cls(**kwargs)


@pytest.mark.parametrize(
    "cls",
    [
        *typing_args(Message),
        *typing_args(Part),
        *typing_args(StreamEvent),
        RunResult,
        ModelRequest,
        ToolCall,
        Usage,
    ],
    ids=lambda c: c.__name__,
)
def test_every_field_of_every_class_is_on_the_wire(cls):
    """Introspects the classes: a field added to any of them is written and read back."""
    value = _every_field(cls)
    data = through_json(to_dict(value))
    expected = {f.name for f in attrs.fields(cls) if getattr(value, f.name) is not None}
    assert set(data) == expected
    assert from_dict(data, cls) == value


# -- the one specialised decoder: stored messages in bulk --------------------------------------


def _generic(texts: list[str]) -> Any:
    try:
        return messages_from_dicts([json.loads(t) for t in texts])
    except ValueError as exc:
        return type(exc)


def _bulk_or_error(texts: list[str]) -> Any:
    try:
        return messages_from_json_texts(texts)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(st.lists(message, min_size=1, max_size=10), st.booleans())
def test_the_bulk_decoder_builds_what_the_generic_path_builds(values, as_bytes):
    texts = [json.dumps(d, ensure_ascii=False) for d in messages_to_dicts(values)]
    joined = "[" + ",".join(texts) + "]"
    typed = _bulk.decode_messages(joined.encode("utf-8", "surrogatepass") if as_bytes else joined)
    if typed is not None:
        assert typed == values == messages_from_dicts(json.loads(joined))
        for built, value in zip(typed, values, strict=True):
            assert type(built) is type(value) and attrs.asdict(built) == attrs.asdict(value)
    else:  # only text that msgspec does not take (a lone surrogate) or unusual images
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in joined)  # a lone surrogate: not UTF-8
    assert messages_from_json_texts(texts) == values


def test_the_usual_messages_take_the_bulk_decoder():
    values = [
        SystemMessage("be brief"),
        UserMessage(["hi", ImagePart(url="https://example.com/a.png")]),
        AssistantMessage("", tool_calls=(ToolCall("c1", "f", "{}"),), model="m", usage=Usage(1, 2, cost=0.5)),
        AssistantMessage("plain", finish_reason="stop"),
        ToolMessage("c1", "f", "ok", is_error=True),
    ]
    assert _bulk.decode_messages(json.dumps(messages_to_dicts(values))) == values


def test_the_bulk_decoder_runs_the_constructors():
    """Validators run: an image with two sources is refused by ImagePart, so by the batch."""
    text = json.dumps({"role": "user", "content": [{"type": "image", "url": "u", "path": "p"}]})
    assert _bulk.decode_messages("[" + text + "]") is None
    with pytest.raises(ValueError, match="exactly one of"):
        messages_from_json_texts([text])


def test_the_bulk_decoder_follows_new_fields_of_the_classes(monkeypatch):
    """Derived from the classes: a union with a new class and new fields needs no code."""
    monkeypatch.setattr(_bulk, "Message", NotedToolMessage | SystemMessage)
    _bulk._decoder.cache_clear()
    try:
        values = [
            NotedToolMessage("c", "f", "ok", images=(TextPart("x"),), priority=3, summary=(TextPart("s"),)),
            NotedToolMessage("c", "f", "ok", summary="text"),
            SystemMessage("s"),
        ]
        joined = json.dumps([to_dict(v) for v in values])
        assert _bulk.decode_messages(joined) == values
    finally:
        _bulk._decoder.cache_clear()


ODD_MESSAGES: list[Any] = [
    {"role": "user", "content": "not a list of parts"},
    {"role": "user", "content": [{"text": "no type"}]},
    {"role": "user", "content": [{"type": "text", "text": "x", "extra": 1}]},
    {"role": "user", "content": [{"type": "image", "url": "https://example.com/a.png"}]},
    {"role": "user", "content": [{"type": "image", "data": "iVBORw=="}]},
    {"role": "user", "content": [{"type": "image", "data": "iVBO Rw=="}]},
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
    {"role": "assistant", "content": "", "model": None, "reasoning": None},
    {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x", "is_error": 0},
    {"role": "tool", "tool_call_id": "c", "name": "f", "content": "x"},
    {"role": "tool", "tool_call_id": "c", "name": "f"},
    {"role": "system", "content": "x", "extra": 1},
    {"role": "system", "content": None},
    {"role": "wizard"},
    {"content": "no role"},
    ["not", "a", "dict"],
    "a string",
    None,
]


@pytest.mark.parametrize("data", ODD_MESSAGES)
def test_odd_messages_decode_as_the_generic_path_decides(data):
    text = json.dumps(data)
    typed = _bulk.decode_messages("[" + text + "]")
    expected = _generic([text])
    if typed is not None:  # the structs took it: it must be what the generic path builds
        assert typed == expected
    assert repr(_bulk_or_error([text])) == repr(expected)  # repr: NaN is not equal to itself


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
        '{"role": "assistant", "content": "", "usage": {"cost": NaN}}',
        '{"role": "assistant", "content": "", "usage": {"input_tokens": 123456789012345678901234567890}}',
    ],
)
def test_texts_json_reads_in_its_own_way_decode_like_json(text):
    expected = _generic([text])
    typed = _bulk.decode_messages("[" + text + "]")
    if typed is not None:
        assert typed == expected
    assert repr(_bulk_or_error([text])) == repr(expected)  # repr: NaN is not equal to itself


@settings(max_examples=50, deadline=None)
@given(st.lists(message, max_size=20))
def test_without_msgspec_the_results_are_the_same(values):
    texts = [json.dumps(d, ensure_ascii=False) for d in messages_to_dicts(values)]
    with_msgspec = messages_from_json_texts(texts)
    _bulk._decoder.cache_clear()
    real, _bulk.msgspec = _bulk.msgspec, None  # as where msgspec is not installed
    try:
        assert _bulk.decode_messages("[" + ",".join(texts) + "]") is None if texts else True
        assert messages_from_json_texts(texts) == with_msgspec == values
    finally:
        _bulk.msgspec = real
        _bulk._decoder.cache_clear()


def test_batches_cover_every_text():
    values = [UserMessage(f"q{i}") if i % 2 else AssistantMessage(f"a{i}") for i in range(1300)]
    texts = [json.dumps(d) for d in messages_to_dicts(values)]
    assert messages_from_json_texts(texts) == values
    assert messages_from_json_texts([t.encode() for t in texts]) == values
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


def test_the_gc_is_left_as_it_was():
    texts = [json.dumps(d) for d in messages_to_dicts([UserMessage("q")] * 10)]
    gc.disable()
    try:
        messages_from_json_texts(texts)
        assert not gc.isenabled()
    finally:
        gc.enable()
    messages_from_json_texts(texts)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        messages_from_json_texts(['{"role": "wizard"}'])
    assert gc.isenabled()
