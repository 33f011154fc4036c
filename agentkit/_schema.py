"""JSON Schema from Python type hints, and turning JSON back into those types.

A tool's parameters are described to the model as JSON Schema and come back as JSON; this
module owns both directions for *user* types (attrs classes, dataclasses, enums, TypedDicts).
JSON is read back by agentkit's one converter configuration
(:func:`agentkit.serialization.make_converter`), extended in a converter of its own with what
tool arguments use (dates, UUIDs, paths, enums, TypedDicts, pydantic models), so the wire
converter itself is left as it is.

An annotation that JSON Schema cannot express raises :class:`UnsupportedType` naming it;
the tool layer turns that into a :class:`~agentkit.errors.ToolDefinitionError` naming the
parameter. Nothing is guessed: an unknown class never silently becomes ``"string"``.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime
import enum
import functools
import inspect
import pathlib
import types
import typing
import uuid
from typing import Any

import attrs

from ._docstrings import parse_docstring

__all__ = ["UnsupportedType", "is_optional", "schema_for", "structure", "type_hints"]

_NoneType = type(None)


class UnsupportedType(TypeError):
    """An annotation JSON Schema cannot express. ``annotation`` is the offending part."""

    def __init__(self, annotation: Any, reason: str = "") -> None:
        self.annotation = annotation
        self.reason = reason
        super().__init__(f"{_show(annotation)}{': ' + reason if reason else ''}")


def _show(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


def type_hints(obj: Any, localns: dict[str, Any] | None = None) -> dict[str, Any]:
    """``get_type_hints`` with ``Annotated`` kept, retried with the defining scope's locals."""
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except NameError:
        if localns is None:
            raise
        return typing.get_type_hints(obj, localns=localns, include_extras=True)


_STRING_FORMATS: dict[type, dict[str, Any]] = {
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    pathlib.Path: {"type": "string"},
    pathlib.PurePath: {"type": "string"},
}
_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
_ARRAY_ORIGINS = (
    list,
    set,
    frozenset,
    cabc.Sequence,
    cabc.MutableSequence,
    cabc.Set,
    cabc.MutableSet,
    cabc.Collection,
    cabc.Iterable,
)
_MAPPING_ORIGINS = (dict, cabc.Mapping, cabc.MutableMapping)


def schema_for(tp: Any, *, localns: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of values of type ``tp``. Raises :class:`UnsupportedType`."""
    return _Builder(localns).schema(tp)


def is_optional(tp: Any) -> bool:
    """Whether ``None`` is an accepted value of ``tp``."""
    tp = _strip_annotated(tp)[0]
    if tp is _NoneType or tp is None or tp is Any:
        return True
    if _is_union(tp):
        return any(is_optional(a) for a in typing.get_args(tp))
    return False


def _strip_annotated(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            meta.extend(tp.__metadata__)
            tp = tp.__origin__
        elif origin in (typing.NotRequired, typing.Required):  # TypedDict markers
            tp = typing.get_args(tp)[0]
        else:
            return tp, meta


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _json_value(value: Any) -> Any:
    """``value`` when it is plain JSON (for ``default``/``enum``), else a sentinel."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(_json_value(v) is not _MISSING for v in value):
        return [_json_value(v) for v in value]
    return _MISSING


_MISSING = object()


class _Builder:
    def __init__(self, localns: dict[str, Any] | None) -> None:
        self.localns = localns
        self.stack: list[type] = []

    def schema(self, tp: Any) -> dict[str, Any]:
        tp, meta = _strip_annotated(tp)
        out = self._schema(tp)
        for m in meta:
            if isinstance(m, str):
                out = {**out, "description": m}
            elif isinstance(m, cabc.Mapping):
                out = {**out, **m}
        return out

    def _schema(self, tp: Any) -> dict[str, Any]:
        if tp is Any or tp is object or tp is inspect.Parameter.empty:
            return {}
        if tp is None or tp is _NoneType:
            return {"type": "null"}
        if isinstance(tp, typing.NewType):
            return self.schema(tp.__supertype__)
        if isinstance(tp, typing.TypeVar):
            raise UnsupportedType(tp, "type variables have no JSON Schema")
        if isinstance(tp, str | typing.ForwardRef):
            raise UnsupportedType(tp, "the name could not be resolved; define it at module level")
        if isinstance(tp, type) and tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._enum(tp)
        if isinstance(tp, type) and tp in _STRING_FORMATS:
            return dict(_STRING_FORMATS[tp])
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if _is_union(tp):
            return self._union(args)
        if origin is typing.Literal:
            return self._literal(tp, args)
        if origin is tuple or tp is tuple:
            return self._tuple(args)
        if (origin in _ARRAY_ORIGINS) or tp in (list, set, frozenset):
            out: dict[str, Any] = {"type": "array"}
            if args:
                out["items"] = self.schema(args[0])
            if origin in (set, frozenset, cabc.Set, cabc.MutableSet) or tp in (set, frozenset):
                out["uniqueItems"] = True
            return out
        if origin in _MAPPING_ORIGINS or tp is dict:
            out = {"type": "object"}
            if args:
                key, value = args
                if _strip_annotated(key)[0] is not str:
                    raise UnsupportedType(tp, "JSON object keys are strings; use dict[str, ...]")
                out["additionalProperties"] = self.schema(value)
            return out
        if _is_typeddict(tp):
            return self._typeddict(tp)
        if isinstance(tp, type) and (attrs.has(tp) or dataclasses.is_dataclass(tp)):
            return self._record(tp)
        if isinstance(tp, type) and hasattr(tp, "model_json_schema"):  # pydantic, when the user has it
            return dict(tp.model_json_schema())
        raise UnsupportedType(
            tp,
            "use str, int, float, bool, None, list, dict[str, ...], tuple, Literal, "
            "an Enum, an attrs class, a dataclass or a TypedDict",
        )

    def _enum(self, tp: type[enum.Enum]) -> dict[str, Any]:
        values = [m.value for m in tp]
        if any(_json_value(v) is _MISSING for v in values):
            raise UnsupportedType(tp, "enum values must be str, int, float, bool or None")
        return {**_typed_enum(values), **({"description": d} if (d := _class_description(tp)) else {})}

    def _literal(self, tp: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        values = [_json_value(a) for a in args]
        if any(v is _MISSING for v in values):
            raise UnsupportedType(tp, "Literal values must be str, int, float, bool, None or enum members")
        return _typed_enum(values)

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        members = [self.schema(a) for a in args]
        non_null = [m for m in members if m != {"type": "null"}]
        if len(non_null) == 1 and len(members) == 2:
            only = non_null[0]
            if set(only) <= {"type", "description"} and isinstance(only.get("type"), str):
                return {**only, "type": [only["type"], "null"]}
        return {"anyOf": members}

    def _tuple(self, args: tuple[Any, ...]) -> dict[str, Any]:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.schema(args[0])}
        if args == ((),):  # tuple[()]
            return {"type": "array", "maxItems": 0}
        items = [self.schema(a) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}

    def _enter(self, tp: type) -> None:
        if tp in self.stack:
            raise UnsupportedType(tp, "recursive types are not supported in tool parameters")
        self.stack.append(tp)

    def _typeddict(self, tp: type) -> dict[str, Any]:
        self._enter(tp)
        try:
            hints = type_hints(tp, self.localns)
            docs = parse_docstring(tp.__doc__).params
            props = {name: self._described(hint, docs.get(name)) for name, hint in hints.items()}
            required = [n for n, hint in hints.items() if _typeddict_key_required(tp, n, hint)]
        finally:
            self.stack.pop()
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out

    def _record(self, tp: type) -> dict[str, Any]:
        self._enter(tp)
        try:
            hints = type_hints(tp, self.localns)
            docs = parse_docstring(tp.__doc__).params
            props: dict[str, Any] = {}
            required: list[str] = []
            for name, has_default, default in _record_fields(tp):
                hint = hints.get(name, Any)
                prop = self._described(hint, docs.get(name))
                if has_default:
                    if (value := _json_value(default)) is not _MISSING:
                        prop["default"] = value
                else:
                    required.append(name)
                props[name] = prop
        finally:
            self.stack.pop()
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        if description := _class_description(tp):
            out["description"] = description
        return out

    def _described(self, hint: Any, doc: str | None) -> dict[str, Any]:
        prop = self.schema(hint)
        if doc and "description" not in prop:
            prop = {**prop, "description": doc}
        return prop


def _typeddict_key_required(tp: type, name: str, hint: Any) -> bool:
    # With string annotations, Python 3.11 cannot see NotRequired[...] when it builds
    # __required_keys__, so the resolved hint decides first.
    origin = typing.get_origin(hint)
    while origin is typing.Annotated:
        hint = hint.__origin__
        origin = typing.get_origin(hint)
    if origin is typing.NotRequired:
        return False
    if origin is typing.Required:
        return True
    return name in getattr(tp, "__required_keys__", ())


def _class_description(tp: type) -> str:
    doc = tp.__doc__
    if not doc:
        return ""
    # dataclasses invent a docstring from the signature; that tells the model nothing.
    if dataclasses.is_dataclass(tp) and doc.startswith(tp.__name__ + "("):
        return ""
    if isinstance(tp, type) and issubclass(tp, enum.Enum) and doc == enum.Enum.__doc__:
        return ""
    return parse_docstring(doc).description


def _typed_enum(values: list[Any]) -> dict[str, Any]:
    kinds = {_json_type(v) for v in values}
    out: dict[str, Any] = {"enum": values}
    if len(kinds) == 1:
        out = {"type": kinds.pop(), **out}
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _record_fields(tp: type) -> list[tuple[str, bool, Any]]:
    """(name, has_default, default) of the fields a record's constructor takes."""
    out = []
    if attrs.has(tp):
        for f in attrs.fields(tp):
            if not f.init:
                continue
            default = f.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                out.append((f.alias or f.name, True, _MISSING))
            else:
                out.append((f.alias or f.name, default is not attrs.NOTHING, default))
        return out
    for f in dataclasses.fields(tp):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            out.append((f.name, True, f.default))
        else:
            out.append((f.name, f.default_factory is not dataclasses.MISSING, _MISSING))
    return out


# -- JSON -> Python ---------------------------------------------------------------------------


@functools.cache
def _converter() -> Any:
    """agentkit's one converter configuration (:func:`agentkit.serialization.make_converter`),
    extended with the types tool arguments and output types may use. What it is given was
    checked against the JSON Schema first, so numbers convert as the schema allowed them
    (``3.0`` is an integer there)."""
    from .serialization import make_converter

    conv = make_converter()
    for tp in (datetime.datetime, datetime.date, datetime.time):
        conv.register_structure_hook(tp, lambda v, t: v if isinstance(v, t) else t.fromisoformat(v))
    conv.register_structure_hook(uuid.UUID, lambda v, _t: v if isinstance(v, uuid.UUID) else uuid.UUID(v))
    conv.register_structure_hook(pathlib.Path, lambda v, _t: pathlib.Path(v))
    conv.register_structure_hook(pathlib.PurePath, lambda v, _t: pathlib.PurePath(v))
    conv.register_structure_hook(float, lambda v, _t: float(v))
    conv.register_structure_hook(int, lambda v, _t: int(v))
    for base in (enum.Enum, enum.IntEnum, enum.StrEnum, enum.IntFlag):  # by value, not as the int or str they are
        conv.register_structure_hook(base, lambda v, t: v if isinstance(v, t) else t(v))

    def structure_union(value: Any, tp: Any) -> Any:
        # The schema already accepted the value; pick the first member it really fits.
        errors: list[Exception] = []
        for member in typing.get_args(tp):
            if _fits_plain(value, member):
                return value
        for member in typing.get_args(tp):
            if member is _NoneType:
                continue
            try:
                return conv.structure(value, member)
            except Exception as exc:
                errors.append(exc)
        raise ValueError(f"{value!r} matches none of {_show(tp)}")

    conv.register_structure_hook_func(_is_union, structure_union)

    def structure_typeddict(value: Any, tp: Any) -> Any:
        # cattrs trusts __required_keys__, which Python 3.11 gets wrong for string annotations.
        hints = type_hints(tp)
        unknown = set(value) - set(hints)
        if unknown:
            raise ValueError(f"unexpected key(s) {', '.join(sorted(unknown))} for {tp.__name__}")
        return {k: structure(v, hints[k]) for k, v in value.items()}

    conv.register_structure_hook_func(_is_typeddict, structure_typeddict)
    conv.register_structure_hook_func(
        lambda t: hasattr(t, "model_validate") and isinstance(t, type),
        lambda v, t: v if isinstance(v, t) else t.model_validate(v),
    )
    return conv


def _fits_plain(value: Any, member: Any) -> bool:
    member = _strip_annotated(member)[0]
    if member is _NoneType:
        return value is None
    if member is Any:
        return True
    if member is bool:
        return isinstance(value, bool)
    if member in (int, str):
        return isinstance(value, member) and not isinstance(value, bool)
    if member is float:
        return isinstance(value, float)
    return False


def structure(value: Any, tp: Any) -> Any:
    """``value`` (JSON data, already schema-checked) as an instance of ``tp``.

    Values already of the target class pass through, so a tool can be invoked with Python
    objects as well as with JSON.
    """
    bare = _strip_annotated(tp)[0]
    if bare is Any or bare is object or bare is inspect.Parameter.empty:
        return value
    if (
        isinstance(bare, type)
        and not _is_typeddict(bare)
        and isinstance(value, bare)
        and (not isinstance(value, bool) or bare is bool)
    ):
        return value
    return _converter().structure(value, bare)
