"""The wire format: agentkit's values as plain JSON-able dicts, and back.

One converter, built by :func:`make_converter`, holds every rule. Its output is
agentkit's backend-neutral session format (``docs/session-format.md``): messages are
objects tagged by ``role``, parts and events by ``type``, bytes are base64 text, and
``None`` fields are left out. ``from_dict(to_dict(x), type(x)) == x`` for every value.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, get_args

import attrs
import cattrs

from ._fastpath import FAST_UNSTRUCTURE, SLOW, decode_json, gc_paused
from ._fastpath import structure_message as fast_message
from ._msgspec_messages import decode_messages
from .events import (
    ModelResponse,
    ReasoningDelta,
    RunCompleted,
    RunResult,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallResult,
    ToolCallStarted,
    ToolProgress,
    TurnCompleted,
)
from .messages import (
    AssistantMessage,
    ImagePart,
    Message,
    Part,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from .providers import ModelRequest, OutputSchema, ToolSpec

__all__ = [
    "FORMAT_VERSION",
    "converter",
    "from_dict",
    "make_converter",
    "messages_from_dicts",
    "messages_from_json_texts",
    "messages_to_dicts",
    "to_dict",
]

T = TypeVar("T")

#: Version of the JSON shape below; stored with exported sessions.
FORMAT_VERSION = 1

_MESSAGE_TYPES: dict[str, type] = {
    "system": SystemMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
    "tool": ToolMessage,
}
_PART_TYPES: dict[str, type] = {"text": TextPart, "image": ImagePart}
_EVENT_TYPES: dict[str, type] = {
    "text_delta": TextDelta,
    "reasoning_delta": ReasoningDelta,
    "tool_call_started": ToolCallStarted,
    "tool_call_delta": ToolCallDelta,
    "tool_result": ToolCallResult,
    "tool_progress": ToolProgress,
    "turn_completed": TurnCompleted,
    "run_completed": RunCompleted,
    "model_response": ModelResponse,
}


def _tagged(tag_field: str, types: Mapping[str, type]) -> tuple[Any, Any]:
    def structure(value: Any, _type: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected an object with a {tag_field!r} field, got {type(value).__name__}")
        tag = value.get(tag_field)
        cls = types.get(tag)  # type: ignore[arg-type]
        if cls is None:
            raise ValueError(f"unknown {tag_field} {tag!r}; expected one of {', '.join(types)}")
        return _conv().structure({k: v for k, v in value.items() if k != tag_field}, cls)

    def unstructure(value: Any) -> Any:
        return _conv().unstructure(value, type(value))

    return structure, unstructure


def _conv() -> cattrs.Converter:
    return converter()


def make_converter(*, fast_paths: bool = True) -> cattrs.Converter:
    """Build the converter that defines agentkit's JSON shape.

    ``fast_paths=False`` leaves out the hand-written hooks of :mod:`agentkit._fastpath`
    (same JSON, slower); the tests compare the two.
    """
    conv = cattrs.Converter(omit_if_default=False)

    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_structure_hook(bytes, lambda v, _: base64.b64decode(v) if isinstance(v, str) else bytes(v))

    def attrs_hooks(cls: type) -> None:
        fields = attrs.fields(cls)
        init_names = {f.name for f in fields if f.init}
        tag_names = {f.name for f in fields if not f.init}

        def unstructure(value: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for f in fields:  # tags first, so the JSON reads naturally
                if f.name in tag_names:
                    out[f.name] = getattr(value, f.name)
            for f in fields:
                if f.name in tag_names:
                    continue
                v = getattr(value, f.name)
                if v is None:
                    continue
                out[f.name] = conv.unstructure(v, f.type if not isinstance(f.type, str) else type(v))
            return out

        def structure(value: Any, _t: Any) -> Any:
            if not isinstance(value, Mapping):
                raise ValueError(f"expected an object for {cls.__name__}, got {type(value).__name__}")
            kwargs = {}
            for f in fields:
                if f.name not in init_names or f.name not in value:
                    continue
                try:
                    kwargs[f.name] = conv.structure(value[f.name], f.type)
                except Exception as exc:  # name the field: "'NoneType' object is not iterable" alone helps nobody
                    raise ValueError(f"{f.name}: {_describe(exc)}") from exc
            unknown = set(value) - init_names - tag_names
            for f in fields:  # a tag that names another class must not be read as this one
                if f.name in tag_names and f.name in value and value[f.name] != f.default:
                    raise ValueError(
                        f"{f.name} {value[f.name]!r} does not match {cls.__name__} (expected {f.default!r})"
                    )
            if unknown:
                raise ValueError(f"unknown field(s) for {cls.__name__}: {', '.join(sorted(unknown))}")
            return cls(**kwargs)

        conv.register_unstructure_hook(cls, unstructure)
        conv.register_structure_hook(cls, structure)

    for cls in (
        *_MESSAGE_TYPES.values(),
        *_PART_TYPES.values(),
        *_EVENT_TYPES.values(),
        RunResult,
        ModelRequest,
        ToolSpec,
        OutputSchema,
    ):
        attrs.resolve_types(cls)
        attrs_hooks(cls)
    for cls in (ToolCall, Usage):
        attrs.resolve_types(cls)
        attrs_hooks(cls)

    msg_structure, msg_unstructure = _tagged("role", _MESSAGE_TYPES)
    part_structure, part_unstructure = _tagged("type", _PART_TYPES)
    event_structure, event_unstructure = _tagged("type", _EVENT_TYPES)

    def unstructure_tagged(value: Any) -> Any:
        return conv.unstructure(value, type(value))

    for alias, structure in (
        (Message, msg_structure),
        (Part, part_structure),
        (StreamEvent, event_structure),
    ):
        conv.register_structure_hook(alias, structure)
        conv.register_unstructure_hook(alias, unstructure_tagged)
    for member in (*get_args(Message), *get_args(Part), *get_args(StreamEvent)):
        assert member in (*_MESSAGE_TYPES.values(), *_PART_TYPES.values(), *_EVENT_TYPES.values())

    # Mappings (params, schemas) and RunResult.output are free-form JSON.
    def is_free_form(t: Any) -> bool:
        return t is Any or t == Mapping[str, Any]

    conv.register_structure_hook_func(is_free_form, lambda v, t: dict(v) if t is not Any else v)
    conv.register_unstructure_hook_func(is_free_form, _plain)
    del msg_unstructure, part_unstructure, event_unstructure

    # The hot types get hand-written hooks (agentkit._fastpath: sessions store and load
    # thousands of messages). They give the same JSON as the generic hooks above and hand
    # anything unusual to them, so the strict checks and their error messages still apply.
    if not fast_paths:
        return conv
    for cls, fast_unstructure in FAST_UNSTRUCTURE.items():
        conv.register_unstructure_hook(cls, fast_unstructure)
    generic_message = conv.get_structure_hook(Message)

    def structure_message(value: Any, _t: Any) -> Any:
        fast = fast_message(value)
        return generic_message(value, _t) if fast is SLOW else fast

    conv.register_structure_hook(Message, structure_message)
    return conv


def _plain(value: Any) -> Any:
    """Free-form values (dicts, lists, attrs instances, dataclasses) as JSON-able data."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if attrs.has(type(value)) and type(value) in _known_types():
        return converter().unstructure(value, type(value))
    import dataclasses
    import enum

    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if hasattr(value, "model_dump"):  # pydantic, when installed
        return value.model_dump(mode="json")
    return str(value)


@functools.cache
def _known_types() -> frozenset[type]:
    from .messages import ToolCall, Usage

    return frozenset(
        {*_MESSAGE_TYPES.values(), *_PART_TYPES.values(), *_EVENT_TYPES.values(), RunResult, ToolCall, Usage}
    )


@functools.cache
def converter() -> cattrs.Converter:
    """The process-wide converter, built on first use."""
    return make_converter()


def to_dict(value: Any) -> Any:
    """Any agentkit value (message, event, result, request) as JSON-able data."""
    return converter().unstructure(value, type(value))


def from_dict(data: Any, cls: type[T] | Any) -> T:
    """The inverse of :func:`to_dict`; ``cls`` may be a class or ``Message``/``StreamEvent``."""
    return converter().structure(data, cls)  # type: ignore[no-any-return]


def messages_to_dicts(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as JSON-able dicts, in the session format."""
    conv = converter()
    return [conv.unstructure(m, type(m)) for m in messages]  # fast hooks: see _FAST_UNSTRUCTURE


def messages_from_dicts(data: Iterable[Mapping[str, Any]]) -> list[Message]:
    """Messages from dicts in the session format; raises ``ValueError`` naming the bad one."""
    items = data if isinstance(data, list) else list(data)
    with gc_paused():
        out: list[Message] = list(map(fast_message, items))
    for message in out:
        if message is SLOW:
            break
    else:
        return out
    conv = converter()  # something unusual: the generic path decides, naming the bad one
    for i, item in enumerate(items):
        if out[i] is not SLOW:
            continue
        try:
            out[i] = conv.structure(item, Message)  # type: ignore[arg-type]
        except Exception as exc:  # cattrs wraps errors in groups; flatten to one line
            raise ValueError(f"message {i}: {_describe(exc)}") from exc
    return out


def messages_from_json_texts(texts: Sequence[str] | Sequence[bytes]) -> list[Message]:
    """Messages from one JSON text each (a store's rows, a file's lines), the fast way.

    The texts are decoded in batches: each batch joined into one JSON array and parsed with
    one call before the next batch is parsed, so the intermediate values stay in the CPU's
    caches. With msgspec installed (the storage plugins install it) a batch of the usual
    messages is parsed straight into typed structs and turned into messages; otherwise, or
    when the structs refuse something, into dicts checked one by one. The result is exactly
    what ``json.loads`` and :func:`messages_from_dicts` give text by text: a batch with
    anything unusual is decoded again that way. Raises ``ValueError`` when a text is not one
    session-format message; a store then decodes the texts one by one to name the bad one.
    Many texts are decoded with the garbage collector paused (see ``_fastpath.gc_paused``).
    """
    if len(texts) < _JSON_BATCH:
        return _from_json_texts(texts)
    with gc_paused():
        return _from_json_texts(texts)


def _from_json_texts(texts: Sequence[str] | Sequence[bytes]) -> list[Message]:
    out: list[Message] = []
    step = _JSON_BATCH
    for start in range(0, len(texts), step):
        batch: Any = texts[start : start + step]
        joined = b"[" + b",".join(batch) + b"]" if isinstance(batch[0], bytes) else "[" + ",".join(batch) + "]"
        typed = decode_messages(joined)  # msgspec, straight to messages
        if typed is not None and len(typed) == len(batch):
            out += typed
            continue
        items = decode_json(joined)
        if type(items) is not list or len(items) != len(batch):
            raise ValueError(f"texts {start} to {start + len(batch) - 1} are not one JSON value each")
        made = list(map(fast_message, items))
        for message in made:
            if message is SLOW:  # exotic content: json and the generic hooks decide
                made = messages_from_dicts([json.loads(text) for text in batch])
                break
        out += made
    return out


_JSON_BATCH = 512


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return str(exc) or type(exc).__name__
