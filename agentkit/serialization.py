"""The wire format: agentkit's values as plain JSON-able data, and back.

One converter configuration, built by :func:`make_converter` from cattrs' generated hooks,
holds every rule, and the classes are the only description of their fields: a new field is
a change in its class, nowhere else. For every attrs class: fields by name, its constant
(``init=False``) fields first, such as ``role`` and ``type`` (reading one that names another
class is an error); a field whose default is ``None`` left out while it is ``None``; a
missing field gets its default, an unknown one is an error. Messages, parts and stream
events are told apart by their tag (cattrs' tagged-union strategy), other unions by the JSON
type of the value. Scalars must be of their type (an integer is a float too); bytes are
base64 text, tuples and sets arrays, free-form values (``Any``) plain JSON.

This is agentkit's session format (``docs/session-format.md``): ``from_dict(to_dict(x),
type(x)) == x`` for every value. Stored messages in bulk take one specialised decoder,
:mod:`agentkit._bulk`, with the same results.
"""

from __future__ import annotations

import base64
import collections.abc
import contextlib
import functools
import gc
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn_from_attrs, override
from cattrs.strategies import configure_tagged_union

from . import _bulk
from .events import ModelStreamEvent, StreamEvent
from .messages import Message, Part

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
Hook = Callable[[Any, Any], Any]

#: Version of the JSON shape; stored with exported sessions.
FORMAT_VERSION = 1

#: The unions told apart by a tag field, configured inner ones first.
_TAGGED_UNIONS: tuple[Any, ...] = (Part, Message, ModelStreamEvent, StreamEvent)


class _WireError(ValueError):
    """A value not in agentkit's JSON shape; the message says what is wrong."""


def make_converter() -> cattrs.Converter:
    """Build the converter that defines agentkit's JSON shape: a new one on every call,
    sharing nothing with other converters (``cattrs.global_converter`` included)."""
    conv = cattrs.Converter(
        unstruct_collection_overrides={collections.abc.Set: list, collections.abc.Sequence: list}
    )
    for tp, kind in ((str, "a string"), (bool, "a boolean"), (int, "an integer"), (float, "a number")):
        conv.register_structure_hook(tp, _scalar(tp, kind))
    conv.register_structure_hook(bytes, _base64)
    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_unstructure_hook_func(  # pydantic models (a tool's result, an output type)
        lambda tp: isinstance(tp, type) and hasattr(tp, "model_fields"), lambda m: m.model_dump(mode="json")
    )
    conv.register_structure_hook_factory(attrs.has, functools.partial(_structure_attrs, conv))
    conv.register_structure_hook_factory(_is_plain_union, functools.partial(_structure_by_kind, conv))
    conv.register_unstructure_hook_factory(attrs.has, functools.partial(_unstructure_attrs, conv))
    for union in _TAGGED_UNIONS:
        _configure_tagged(conv, union)
    return conv


def _kind(value: Any) -> str:
    """How a value reads in JSON terms, for error messages."""
    return _json_type(type(value)) or type(value).__name__


def _scalar(tp: type, kind: str) -> Hook:
    """Exactly ``tp`` (an integer is a float too, a boolean is no number)."""
    accepted = (int, float) if tp is float else tp

    def structure(value: Any, _: Any) -> Any:
        if type(value) is tp:
            return value
        if isinstance(value, accepted) and (tp is bool or not isinstance(value, bool)):
            return tp(value)
        raise _WireError(f"expected {kind}, got {_kind(value)}")

    return structure


def _base64(value: Any, _: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    with contextlib.suppress(ValueError, TypeError):  # text must be base64
        return base64.b64decode(value, validate=True)
    raise _WireError(f"expected base64 text, got {_kind(value)}")


def _members(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else ()


def _is_plain_union(tp: Any) -> bool:
    """Several non-None types, not all classes (else: cattrs' ``X | None``, or tagged unions)."""
    members = [m for m in _members(tp) if m is not type(None)]
    return len(members) > 1 and not all(attrs.has(m) for m in members)


def _json_type(tp: Any) -> str | None:
    """The JSON type a Python type is written as (``None`` when there is not one)."""
    origin = typing.get_origin(tp) or tp
    for bases, name in (
        (type(None), "null"),
        ((str, bytes), "a string"),
        (bool, "a boolean"),
        ((int, float), "a number"),
        (Mapping, "an object"),
        ((Sequence, collections.abc.Set), "an array"),
    ):
        if isinstance(origin, type) and issubclass(origin, bases):
            return name
    return "an object" if attrs.has(origin) else None


def _structure_by_kind(conv: cattrs.Converter, union: Any) -> Hook:
    """A union whose members are written as different JSON types (``str | tuple[Part, ...]``)."""
    by_kind = {_json_type(m): m for m in _members(union)}
    if None in by_kind or len(by_kind) < len(_members(union)):
        raise TypeError(f"agentkit's converter cannot tell the members of {union} apart by JSON type")
    hooks = {kind: (conv.get_structure_hook(member), member) for kind, member in by_kind.items()}

    def structure(value: Any, _: Any) -> Any:
        kind = _kind(value)
        if kind not in hooks:
            raise _WireError(f"expected {' or '.join(hooks)}, got {kind}")  # type: ignore[arg-type]
        return hooks[kind][0](value, hooks[kind][1])

    return structure


def _configure_tagged(conv: cattrs.Converter, union: Any) -> None:
    """cattrs' tagged-union strategy, with errors that name the tag and the choices."""
    (tag,) = {name for member in _members(union) for name in _constants(member)}  # one tag field
    choices = {_constants(m)[tag]: m for m in _members(union)}
    configure_tagged_union(union, conv, tag_generator=lambda cls: _constants(cls)[tag], tag_name=tag)
    tagged = conv.get_structure_hook(union)

    def structure(value: Any, tp: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _WireError(f"expected an object with a {tag!r} field, got {_kind(value)}")
        found = value.get(tag)
        if not isinstance(found, str) or found not in choices:
            raise _WireError(f"unknown {tag} {found!r}; expected one of {', '.join(choices)}")
        return tagged(value, tp)

    conv.register_structure_hook(union, structure)


def _constants(cls: type) -> dict[str, Any]:
    """A class's constant fields (``init=False`` with a default): its tags, such as ``role``."""
    return {f.name: f.default for f in attrs.fields(cls) if not f.init and f.default is not attrs.NOTHING}


def _unstructure_attrs(conv: cattrs.Converter, cls: type) -> Callable[[Any], dict[str, Any]]:
    fields = attrs.fields(attrs.resolve_types(cls))
    ordered = [f for f in fields if not f.init] + [f for f in fields if f.init]  # tags first
    omit: dict[str, Any] = {f.name: override(omit_if_default=True) for f in fields if f.default is None}
    return make_dict_unstructure_fn_from_attrs(ordered, cls, conv, _cattrs_include_init_false=True, **omit)


def _structure_attrs(conv: cattrs.Converter, cls: type) -> Hook:
    constants = tuple(_constants(attrs.resolve_types(cls)).items())
    generated: Any = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=not constants)
    if not constants:
        return generated  # type: ignore[no-any-return]
    allowed = frozenset(f.name for f in attrs.fields(cls))

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _WireError(f"expected an object for {cls.__name__}, got {_kind(value)}")
        if not value.keys() <= allowed:
            raise ForbiddenExtraKeysError("", cls, set(value) - allowed)
        for name, expected in constants:
            if name in value and value[name] != expected:
                raise _WireError(
                    f"{name} {value[name]!r} does not match {cls.__name__} (expected {expected!r})"
                )
        return generated(value)

    return structure


@functools.cache
def converter() -> cattrs.Converter:
    """The process-wide converter, built on first use."""
    return make_converter()


def to_dict(value: Any) -> Any:
    """Any value (agentkit's, a mapping, a list, an attrs class, a dataclass) as JSON-able data."""
    return converter().unstructure(value, type(value))


def from_dict(data: Any, cls: type[T] | Any) -> T:
    """The inverse of :func:`to_dict`; ``cls`` may be a class or ``Message``/``StreamEvent``.

    Raises :class:`ValueError` saying what is wrong and where (``... @ $.content``).
    """
    try:
        return converter().structure(data, cls)  # type: ignore[no-any-return]
    except Exception as exc:
        raise ValueError(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    """One line for a failure to read a value: each problem as ``what @ $.path``."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        return "; ".join(cattrs.transform_error(exc, format_exception=_problem))
    return _problem(exc, None)


def _problem(exc: BaseException, tp: Any) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unknown field(s) for {exc.cl.__name__}: {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, TypeError | AttributeError):  # cattrs' own hooks met a value of another kind
        return f"expected {_json_type(tp) or 'another kind of value'} ({exc})"
    return str(exc) or type(exc).__name__


def messages_to_dicts(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as JSON-able dicts, in the session format."""
    unstructure = converter().unstructure
    return [unstructure(m, type(m)) for m in messages]


def messages_from_dicts(data: Iterable[Mapping[str, Any]]) -> list[Message]:
    """Messages from dicts in the session format; raises ``ValueError`` naming the bad one."""
    structure = converter().get_structure_hook(Message)
    out: list[Message] = []
    for i, item in enumerate(data):
        try:
            out.append(structure(item, Message))
        except Exception as exc:
            raise ValueError(f"message {i}: {_describe(exc)}") from exc
    return out


def messages_from_json_texts(texts: Sequence[str] | Sequence[bytes]) -> list[Message]:
    """Messages from one JSON text each (a store's rows, a file's lines), in batches joined
    into JSON arrays: by :mod:`agentkit._bulk` when msgspec is installed, else (and for what
    it refuses) by ``json.loads`` and :func:`messages_from_dicts`, with the same results.
    ``ValueError`` when a text is not one message: a store then names the bad one."""
    out: list[Message] = []
    collecting = gc.isenabled()
    gc.disable()  # thousands of new (acyclic) containers would trigger collections, for nothing
    try:
        for start in range(0, len(texts), _BATCH):
            batch: Any = texts[start : start + _BATCH]
            joined = (
                b"[" + b",".join(batch) + b"]" if isinstance(batch[0], bytes) else "[" + ",".join(batch) + "]"
            )
            fast = _bulk.decode_messages(joined)
            if fast is not None and len(fast) == len(batch):
                out += fast
                continue
            items = json.loads(joined)
            if type(items) is not list or len(items) != len(batch):
                raise ValueError(f"texts {start} to {start + len(batch) - 1} are not one JSON value each")
            out += messages_from_dicts(items)
    finally:
        if collecting:
            gc.enable()
    return out


_BATCH = 512
