"""Stored messages decoded straight from JSON by msgspec, when it is installed.

The storage plugins install msgspec. It parses a batch of session-format messages into
typed structs that mirror the format: strict ones, so an unknown field, a wrong type or a
missing required field fails the whole batch. The structs are then turned into messages
slot by slot (see :mod:`agentkit._fastpath`). That is about twice as fast as parsing to
dicts and checking each one in Python, and the intermediate structs are never tracked by
the garbage collector.

:func:`decode_messages` returns ``None`` for a batch the structs refuse (an image part, a
number that is not a plain integer, anything unusual) and when msgspec is missing; the
caller then takes the dict path, which decides exactly like the generic converter. The
tests check both give the same messages.
"""

from __future__ import annotations

from typing import Any, Literal

from ._fastpath import _new_assistant, _new_call, _new_system, _new_text, _new_tool, _new_usage, _new_user
from .messages import Message

__all__ = ["decode_messages"]

try:
    import msgspec
except ImportError:  # pragma: no cover - exercised where msgspec is absent
    msgspec = None  # type: ignore[assignment]


def decode_messages(joined: str | bytes) -> list[Message] | None:
    """The messages of a JSON array of session-format messages, or ``None`` (see above)."""
    if _decoder is None:
        return None
    try:
        structs = _decoder.decode(joined)
    except ValueError:  # msgspec's DecodeError and ValidationError; a str with surrogates
        return None
    return _convert(structs)


if msgspec is None:  # pragma: no cover - exercised where msgspec is absent
    _decoder: Any = None
else:
    _STRICT: dict[str, Any] = {"forbid_unknown_fields": True, "gc": False}

    class _Call(msgspec.Struct, **_STRICT):
        id: str
        name: str
        arguments: str

    class _Usage(msgspec.Struct, **_STRICT):
        input_tokens: int = 0
        output_tokens: int = 0
        cached_tokens: int = 0
        reasoning_tokens: int = 0
        requests: int = 0
        cost: float | None = None

    class _Text(msgspec.Struct, **_STRICT):
        type: Literal["text"]
        text: str

    class _User(msgspec.Struct, tag_field="role", tag="user", **_STRICT):
        content: list[_Text]

    class _System(msgspec.Struct, tag_field="role", tag="system", **_STRICT):
        content: str

    class _Tool(msgspec.Struct, tag_field="role", tag="tool", **_STRICT):
        tool_call_id: str
        name: str
        content: str
        is_error: bool = False

    class _Assistant(msgspec.Struct, tag_field="role", tag="assistant", **_STRICT):
        content: str | None = ""
        tool_calls: list[_Call] = []
        reasoning: str | None = None
        model: str | None = None
        usage: _Usage | None = None
        finish_reason: str | None = None

    _decoder = msgspec.json.Decoder(list[_User | _System | _Tool | _Assistant])

    def _convert(structs: list[Any]) -> list[Message]:
        out: list[Message] = []
        add = out.append
        for m in structs:
            kind = type(m)
            if kind is _Assistant:
                usage = m.usage
                if usage is not None:
                    usage = _new_usage(
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.cached_tokens,
                        usage.reasoning_tokens,
                        usage.requests,
                        usage.cost,
                    )
                calls = m.tool_calls
                made = tuple([_new_call(c.id, c.name, c.arguments) for c in calls]) if calls else ()
                content = m.content
                add(
                    _new_assistant(
                        "" if content is None else content, made, m.reasoning, m.model, usage, m.finish_reason
                    )
                )
            elif kind is _User:
                add(_new_user(tuple([_new_text(part.text) for part in m.content])))
            elif kind is _Tool:
                add(_new_tool(m.tool_call_id, m.name, m.content, m.is_error))
            else:
                add(_new_system(m.content))
        return out
