"""Hand-written (de)serialization for the hot types: messages, parts, tool calls, usage.

Stores write and read thousands of messages, and the generic cattrs hooks cost several
microseconds per object. The functions here give exactly the JSON of the generic hooks in
:mod:`agentkit.serialization`; on the way in they accept only the common, well-formed shapes
and return :data:`SLOW` for anything else, so the generic path (with its strict checks and
error messages) decides about everything unusual. The tests check both paths agree.

Objects are built by :func:`_maker` functions, which fill an attrs class's slots directly:
the same instance the class's ``__init__`` would make (its converters are no-ops for values
that are already tuples of parts), minus the per-field frozen-``setattr`` machinery.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator
from typing import Any

from .messages import AssistantMessage, SystemMessage, TextPart, ToolCall, ToolMessage, Usage, UserMessage

__all__ = ["FAST_UNSTRUCTURE", "SLOW", "decode_json", "gc_paused", "structure_message"]

#: Returned by the ``structure`` functions when the value needs the generic path.
SLOW: Any = object()

_fast_loads: Callable[[str | bytes], Any] | None
try:  # msgspec parses 1.5-2x faster; the storage plugins install it
    from msgspec.json import decode as _fast_loads
except ImportError:  # pragma: no cover - exercised where msgspec is absent
    _fast_loads = None


def decode_json(data: str | bytes) -> Any:
    """``json.loads``, faster when msgspec is installed.

    Documents msgspec refuses (``NaN``, ``Infinity``, escaped lone surrogates) are parsed by
    ``json`` instead, so the result is always what ``json.loads`` gives. A large document is
    parsed with the garbage collector paused (see :func:`gc_paused`).
    """
    if len(data) < 65536:
        return _decode(data)
    with gc_paused():
        return _decode(data)


def _decode(data: str | bytes) -> Any:
    if _fast_loads is not None:
        try:
            return _fast_loads(data)
        except ValueError:
            pass
    return json.loads(data)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while decoding a large batch of (acyclic) values.

    Building 10,000 messages allocates tens of thousands of containers, which triggers
    collections that walk every live object, for nothing: none of them can be garbage yet.
    Collection resumes afterwards (if it was on), and reference counting frees memory
    meanwhile as usual.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of ``cls``'s fields, in the order given (which must name them all)."""
    import attrs

    assert {f.name for f in attrs.fields(cls)} == set(names), (cls, names)
    return tuple(getattr(cls, n).__set__ for n in names)


def _maker(cls: type) -> Callable[[Any], Any]:
    """``make(value)``: an instance of the one-field attrs slots class ``cls`` (plus its
    ``init=False`` tag field, set to its default), without the frozen ``__init__``."""
    import attrs

    (field,) = [f for f in attrs.fields(cls) if f.init]
    (tag,) = [f for f in attrs.fields(cls) if not f.init]
    set_value, set_tag = _setters(cls, field.name, tag.name)
    tag_value, new = tag.default, object.__new__

    def make(value: Any) -> Any:
        obj: Any = new(cls)
        set_value(obj, value)
        set_tag(obj, tag_value)
        return obj

    return make


_new_text = _maker(TextPart)
_new_user = _maker(UserMessage)  # content: a tuple of parts, as its converter makes
_new_system = _maker(SystemMessage)

# The functions below take their setters as default arguments: locals are the fastest lookup.
_USAGE_SETTERS = _setters(
    Usage, "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "requests", "cost"
)
_CALL_SETTERS = _setters(ToolCall, "id", "name", "arguments")
_TOOL_SETTERS = _setters(ToolMessage, "tool_call_id", "name", "content", "is_error", "role")
_ASSISTANT_SETTERS = _setters(
    AssistantMessage, "content", "tool_calls", "reasoning", "model", "usage", "finish_reason", "role"
)


def _new_usage(
    i: int,
    o: int,
    c: int,
    r: int,
    n: int,
    cost: float | None,
    new: Any = object.__new__,
    s: Any = _USAGE_SETTERS,
) -> Usage:
    obj: Any = new(Usage)
    s[0](obj, i)
    s[1](obj, o)
    s[2](obj, c)
    s[3](obj, r)
    s[4](obj, n)
    s[5](obj, cost)
    return obj  # type: ignore[no-any-return]


def _new_call(
    cid: str, name: str, arguments: str, new: Any = object.__new__, s: Any = _CALL_SETTERS
) -> ToolCall:
    obj: Any = new(ToolCall)
    s[0](obj, cid)
    s[1](obj, name)
    s[2](obj, arguments)
    return obj  # type: ignore[no-any-return]


def _new_tool(
    call_id: str, name: str, content: str, is_error: bool, new: Any = object.__new__, s: Any = _TOOL_SETTERS
) -> ToolMessage:
    obj: Any = new(ToolMessage)
    s[0](obj, call_id)
    s[1](obj, name)
    s[2](obj, content)
    s[3](obj, is_error)
    s[4](obj, "tool")
    return obj  # type: ignore[no-any-return]


def _new_assistant(
    content: str,
    calls: tuple[ToolCall, ...],
    reasoning: str | None,
    model: str | None,
    usage: Usage | None,
    finish: str | None,
    new: Any = object.__new__,
    s: Any = _ASSISTANT_SETTERS,
) -> AssistantMessage:
    obj: Any = new(AssistantMessage)
    s[0](obj, content)
    s[1](obj, calls)
    s[2](obj, reasoning)
    s[3](obj, model)
    s[4](obj, usage)
    s[5](obj, finish)
    s[6](obj, "assistant")
    return obj  # type: ignore[no-any-return]


# -- out: values to dicts ---------------------------------------------------------------------


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
    from .serialization import converter

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


FAST_UNSTRUCTURE: dict[type, Callable[[Any], Any]] = {
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

# -- in: dicts to values ----------------------------------------------------------------------

_USAGE_KEYS = frozenset(
    ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "requests", "cost")
)
_ASSISTANT_KEYS = frozenset(("role", "content", "tool_calls", "reasoning", "model", "usage", "finish_reason"))
_TOOL_KEYS = frozenset(("role", "tool_call_id", "name", "content", "is_error"))
_NO_CALLS: list[Any] = []


def structure_usage(d: Any) -> Any:
    """A :class:`Usage` from its dict, or :data:`SLOW`."""
    if type(d) is not dict or not d.keys() <= _USAGE_KEYS:
        return SLOW
    get = d.get
    i = get("input_tokens", 0)
    o = get("output_tokens", 0)
    c = get("cached_tokens", 0)
    r = get("reasoning_tokens", 0)
    n = get("requests", 0)
    if (
        type(i) is not int
        or type(o) is not int
        or type(c) is not int
        or type(r) is not int
        or type(n) is not int
    ):
        return SLOW
    cost = get("cost")
    if cost is not None:
        if type(cost) is not float and type(cost) is not int:
            return SLOW
        cost = float(cost)
    return _new_usage(i, o, c, r, n, cost)


def structure_message(d: Any) -> Any:
    """The message a session-format dict describes, or :data:`SLOW`."""
    if type(d) is not dict:
        return SLOW
    get = d.get
    role = get("role")
    if role == "assistant":
        if not d.keys() <= _ASSISTANT_KEYS:
            return SLOW
        content = get("content", "")
        reasoning = get("reasoning")
        model = get("model")
        finish = get("finish_reason")
        if content is None:
            content = ""
        if (
            type(content) is not str
            or (reasoning is not None and type(reasoning) is not str)
            or (model is not None and type(model) is not str)
            or (finish is not None and type(finish) is not str)
        ):
            return SLOW
        calls_in = get("tool_calls", _NO_CALLS)
        if type(calls_in) is not list:
            return SLOW
        calls: tuple[ToolCall, ...] = ()
        if calls_in:
            made = []
            for call in calls_in:  # three keys, each a string: exactly id, name and arguments
                if type(call) is not dict or len(call) != 3:
                    return SLOW
                cid, name, arguments = call.get("id"), call.get("name"), call.get("arguments")
                if type(cid) is not str or type(name) is not str or type(arguments) is not str:
                    return SLOW
                made.append(_new_call(cid, name, arguments))
            calls = tuple(made)
        usage = get("usage")
        if usage is not None:
            usage = structure_usage(usage)
            if usage is SLOW:
                return SLOW
        return _new_assistant(content, calls, reasoning, model, usage, finish)
    if role == "user":
        content = get("content")
        if type(content) is not list or len(d) != 2:
            return SLOW
        parts = []
        for part in content:  # two keys: exactly type "text" and a string text
            if type(part) is not dict or len(part) != 2 or part.get("type") != "text":
                return SLOW
            text = part.get("text")
            if type(text) is not str:
                return SLOW
            parts.append(_new_text(text))
        return _new_user(tuple(parts))
    if role == "tool":
        if not d.keys() <= _TOOL_KEYS:
            return SLOW
        call_id, name, content, is_error = (
            get("tool_call_id"),
            get("name"),
            get("content"),
            get("is_error", False),
        )
        if (
            type(call_id) is not str
            or type(name) is not str
            or type(content) is not str
            or type(is_error) is not bool
        ):
            return SLOW
        return _new_tool(call_id, name, content, is_error)
    if role == "system":
        content = get("content")
        if type(content) is not str or len(d) != 2:
            return SLOW
        return _new_system(content)
    return SLOW
