"""The one specialised decoder: stored messages in bulk, with msgspec when it is installed.

Loading a long session decodes thousands of messages, and the generic converter misses the
time budget (``bench/storage.py``). msgspec (``agentkit[fast]``, which the storage plugins
install) parses a batch in C into typed structs derived from the attrs classes of
:data:`~agentkit.messages.Message` (fields, types, defaults, tags: nothing is written twice);
each message is then built by its class's constructor, so converters and validators run.
A batch the structs or a constructor refuse gives ``None``, and the generic converter
decides. The tests check that both give the same messages.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

from .messages import Message

__all__ = ["decode_messages"]

try:
    import msgspec
except ImportError:  # pragma: no cover - exercised where msgspec is absent
    msgspec = None  # type: ignore[assignment]


class _Unsupported(Exception):
    """A type the structs cannot mirror: the generic converter then does all the work."""


def decode_messages(joined: str | bytes) -> list[Message] | None:
    """The messages of a JSON array of session-format messages, or ``None`` (see above)."""
    if (built := _decoder()) is None:
        return None
    try:
        return [built[1][type(item)](item) for item in built[0].decode(joined)]
    except Exception:  # refused by msgspec (or not UTF-8), or by a constructor: the generic path decides
        return None


@functools.cache
def _decoder() -> tuple[Any, dict[type, Callable[[Any], Any]]] | None:
    if msgspec is None:
        return None
    from .serialization import converter

    from_base64 = converter().get_structure_hook(bytes)  # base64 is checked by the converter's hook
    classes: dict[type, tuple[Any, Any]] = {}

    def mirror(tp: Any) -> tuple[Any, Callable[[Any], Any] | None]:
        """The msgspec type that reads what the converter reads for ``tp``, and the conversion."""
        if tp in (str, int, float, bool, type(None)):
            return tp, None
        if tp is bytes:
            return str, lambda v: from_base64(v, bytes)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            inner, item = mirror(args[0])
            return list[inner], (lambda v: tuple([item(x) for x in v])) if item else tuple  # type: ignore[valid-type]
        if origin in (typing.Union, types.UnionType):
            members = [mirror(a) for a in args]
            by_type = {typing.get_origin(m) or m: c for m, c in members if c is not None}
            union = typing.Union.__getitem__(tuple(m for m, _ in members))  # built at run time
            return union, (lambda v: by_type[type(v)](v) if type(v) in by_type else v) if by_type else None
        if not attrs.has(tp):
            raise _Unsupported(tp)
        if tp not in classes:
            classes[tp] = mirror_class(tp)
        return classes[tp]  # type: ignore[no-any-return]

    def mirror_class(cls: type) -> tuple[Any, Any]:
        constants = [f for f in attrs.fields(attrs.resolve_types(cls)) if not f.init]
        if len(constants) > 1 or any(f.default is attrs.NOTHING for f in constants):
            raise _Unsupported(cls)
        options = {"tag_field": constants[0].name, "tag": constants[0].default} if constants else {}
        fields: list[Any] = []
        args: list[str] = []
        keywords: list[str] = []  # after the positional ones, wherever attrs declared them
        scope: dict[str, Any] = {"cls": cls}
        for f in attrs.fields(cls):
            if not f.init:
                continue
            stype, convert = mirror(f.type)
            if f.default is attrs.NOTHING:
                fields.append((f.name, stype))
            elif f.default == () or isinstance(f.default, str | int | float | bool | type(None)):
                fields.append(
                    (f.name, stype, msgspec.field(default_factory=list) if f.default == () else f.default)
                )
            else:  # a factory: the struct could not tell "missing" from the value
                raise _Unsupported(cls)
            scope[f"c_{f.name}"] = convert
            value = f"s.{f.name}" if convert is None else f"c_{f.name}(s.{f.name})"
            if f.kw_only:
                keywords.append(f"{f.alias}={value}")
            else:
                args.append(value)
        struct = msgspec.defstruct(f"_{cls.__name__}", fields, forbid_unknown_fields=True, gc=False, **options)
        exec(f"def convert(s):\n    return cls({', '.join(args + keywords)})", scope)  # like cattrs' generated hooks
        return struct, scope["convert"]

    try:  # a struct per message class, each with how to build the message from it
        members = dict(mirror(m) for m in typing.get_args(Message))
    except _Unsupported:
        return None
    return msgspec.json.Decoder(list[typing.Union.__getitem__(tuple(members))]), members  # type: ignore[misc]
