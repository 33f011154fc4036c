"""The wire format: agentkit's values as plain JSON-able dicts, and back.

One converter, built by :func:`make_converter`, holds every rule. Its output is
agentkit's backend-neutral session format (``docs/session-format.md``): messages are
objects tagged by ``role``, parts and events by ``type``, bytes are base64 text, and
``None`` fields are left out. ``from_dict(to_dict(x), type(x)) == x`` for every value.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, get_args

import attrs
import cattrs

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


def make_converter() -> cattrs.Converter:
    """Build the converter that defines agentkit's JSON shape."""
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
                kwargs[f.name] = conv.structure(value[f.name], f.type)
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

    for alias, structure in ((Message, msg_structure), (Part, part_structure), (StreamEvent, event_structure)):
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

    # The hot types get hand-written hooks (sessions store and load thousands of messages).
    # They give the same JSON as the generic hooks above and hand anything unusual to them,
    # so the strict checks and their error messages still apply.
    for cls, fast_unstructure in _FAST_UNSTRUCTURE.items():
        conv.register_unstructure_hook(cls, fast_unstructure)
    generic_message = conv.get_structure_hook(Message)

    def structure_message(value: Any, _t: Any) -> Any:
        fast = _structure_message_fast(value)
        return generic_message(value, _t) if fast is _SLOW else fast

    conv.register_structure_hook(Message, structure_message)
    return conv


# -- fast paths -------------------------------------------------------------------------------

_SLOW: Any = object()
_USAGE_INTS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "requests")
_USAGE_KEYS = frozenset((*_USAGE_INTS, "cost"))
_CALL_KEYS = frozenset(("id", "name", "arguments"))
_ASSISTANT_KEYS = frozenset(("role", "content", "tool_calls", "reasoning", "model", "usage", "finish_reason"))
_TOOL_KEYS = frozenset(("role", "tool_call_id", "name", "content", "is_error"))


def _unstructure_usage(u: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cached_tokens": u.cached_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "requests": u.requests,
    }
    if u.cost is not None:
        out["cost"] = u.cost
    return out


def _unstructure_user(m: UserMessage) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": p.text} if type(p) is TextPart else converter().unstructure(p, type(p))
            for p in m.content
        ],
    }


def _unstructure_assistant(m: AssistantMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "role": "assistant",
        "content": m.content,
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in m.tool_calls],
    }
    if m.reasoning is not None:
        out["reasoning"] = m.reasoning
    if m.model is not None:
        out["model"] = m.model
    if m.usage is not None:
        out["usage"] = _unstructure_usage(m.usage)
    if m.finish_reason is not None:
        out["finish_reason"] = m.finish_reason
    return out


_FAST_UNSTRUCTURE: dict[type, Any] = {
    SystemMessage: lambda m: {"role": "system", "content": m.content},
    UserMessage: _unstructure_user,
    AssistantMessage: _unstructure_assistant,
    ToolMessage: lambda m: {
        "role": "tool",
        "tool_call_id": m.tool_call_id,
        "name": m.name,
        "content": m.content,
        "is_error": m.is_error,
    },
    TextPart: lambda p: {"type": "text", "text": p.text},
    ToolCall: lambda c: {"id": c.id, "name": c.name, "arguments": c.arguments},
    Usage: _unstructure_usage,
}


def _optional_str(value: Any) -> bool:
    return value is None or type(value) is str


def _structure_usage(d: Any) -> Any:
    if type(d) is not dict or not d.keys() <= _USAGE_KEYS:
        return _SLOW
    get = d.get
    i, o, c, r, n, cost = (
        get("input_tokens", 0),
        get("output_tokens", 0),
        get("cached_tokens", 0),
        get("reasoning_tokens", 0),
        get("requests", 0),
        get("cost"),
    )
    if not (type(i) is type(o) is type(c) is type(r) is type(n) is int):
        return _SLOW
    if cost is not None:
        if type(cost) not in (int, float):
            return _SLOW
        cost = float(cost)
    return Usage(i, o, c, r, n, cost)


def _structure_message_fast(d: Any) -> Any:
    """The message, or _SLOW when anything is unusual (the generic path then decides)."""
    if type(d) is not dict:
        return _SLOW
    role = d.get("role")
    content = d.get("content")
    if role == "user":
        if d.keys() != {"role", "content"} or type(content) is not list:
            return _SLOW
        parts = []
        for p in content:
            if type(p) is not dict or p.keys() != {"type", "text"} or p["type"] != "text" or type(p["text"]) is not str:
                return _SLOW
            parts.append(TextPart(p["text"]))
        return UserMessage(parts)
    if role == "assistant":
        calls_in = d.get("tool_calls", ())
        if not d.keys() <= _ASSISTANT_KEYS or type(content if content is not None else "") is not str:
            return _SLOW
        if not (_optional_str(d.get("reasoning")) and _optional_str(d.get("model"))):
            return _SLOW
        if not _optional_str(d.get("finish_reason")) or type(calls_in) not in (list, tuple):
            return _SLOW
        calls = []
        for c in calls_in:
            if type(c) is not dict or c.keys() != _CALL_KEYS or not all(type(v) is str for v in c.values()):
                return _SLOW
            calls.append(ToolCall(c["id"], c["name"], c["arguments"]))
        usage = d.get("usage")
        if usage is not None:
            usage = _structure_usage(usage)
            if usage is _SLOW:
                return _SLOW
        return AssistantMessage(
            content=content if content is not None else "",
            tool_calls=calls,
            reasoning=d.get("reasoning"),
            model=d.get("model"),
            usage=usage,
            finish_reason=d.get("finish_reason"),
        )
    if role == "tool":
        is_error = d.get("is_error", False)
        if not d.keys() <= _TOOL_KEYS or type(is_error) is not bool:
            return _SLOW
        values = (d.get("tool_call_id"), d.get("name"), content)
        if any(type(v) is not str for v in values):
            return _SLOW
        return ToolMessage(*values, is_error=is_error)  # type: ignore[arg-type]
    if role == "system":
        if d.keys() != {"role", "content"} or type(content) is not str:
            return _SLOW
        return SystemMessage(content)
    return _SLOW


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
    conv = converter()
    out: list[Message] = []
    for i, item in enumerate(data):
        fast = _structure_message_fast(item)
        if fast is not _SLOW:
            out.append(fast)
            continue
        try:
            out.append(conv.structure(item, Message))  # type: ignore[arg-type]
        except Exception as exc:  # cattrs wraps errors in groups; flatten to one line
            raise ValueError(f"message {i}: {_describe(exc)}") from exc
    return out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return str(exc) or type(exc).__name__
