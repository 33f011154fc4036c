"""Checking JSON against the official ``anthropic`` SDK's types (a test dependency only).

Request bodies are checked against the SDK's request TypedDicts (``MessageCreateParams...``,
``MessageCountTokensParams``) by a walk over their type hints: every required key present,
no key the type does not declare, literals among their values, unions resolved by the
``type`` field the way the API resolves them, iterables item by item. (pydantic's
TypeAdapter would ignore unknown keys of a TypedDict and validates ``Iterable`` fields only
when they are iterated, so it would let a misspelt field or a wrong block through.)

Responses and stream events the fake server writes are checked with the SDK's own pydantic
models, so the fake cannot drift from what the SDK reads.
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Any, NotRequired, Required

import pydantic
from anthropic.types import Message, MessageCountTokensParams, RawMessageStreamEvent
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)
from typing_extensions import ReadOnly, is_typeddict

__all__ = ["check_count_body", "check_event", "check_message", "check_request_body"]

_WRAPPERS = {Required, NotRequired, ReadOnly, typing.Required, typing.NotRequired}


def check_request_body(body: Any) -> list[str]:
    """Problems of a ``POST /v1/messages`` body, ``"what @ $.path"`` each; empty when it is valid."""
    streaming = isinstance(body, dict) and body.get("stream") is True
    return _check(body, MessageCreateParamsStreaming if streaming else MessageCreateParamsNonStreaming, "$")


def check_count_body(body: Any) -> list[str]:
    """Problems of a ``POST /v1/messages/count_tokens`` body."""
    return _check(body, MessageCountTokensParams, "$")


def check_event(event: dict[str, Any]) -> None:
    """Raise if the SDK cannot read ``event`` as a stream event."""
    _event_adapter().validate_python(event)


def check_message(message: dict[str, Any]) -> None:
    """Raise if the SDK cannot read ``message`` as a Message."""
    Message.model_validate(message)


@functools.cache
def _event_adapter() -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(RawMessageStreamEvent)


@functools.cache
def _hints(td: Any) -> dict[str, Any]:
    return typing.get_type_hints(td, include_extras=True)


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) in _WRAPPERS or typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _type_literals(td: Any) -> tuple[Any, ...]:
    hint = _unwrap(_hints(td).get("type", Any))
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()


def _check(value: Any, tp: Any, path: str) -> list[str]:
    tp = _unwrap(tp)
    if tp is Any or tp is object:
        return []
    if isinstance(tp, typing.TypeAliasType if hasattr(typing, "TypeAliasType") else ()):  # type: ignore[arg-type]
        return _check(value, tp.__value__, path)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        members = [a for a in args if a is not type(None)]
        if isinstance(value, dict):
            typed = [m for m in members if is_typeddict(_unwrap(m))]
            tagged = [m for m in typed if value.get("type") in _type_literals(_unwrap(m))]
            if tagged:
                members = tagged
        results = []
        for member in members:
            found = _check(value, member, path)
            if not found:
                return []
            results.append(found)
        return min(results, key=len) if results else [f"no type fits @ {path}"]
    if origin is typing.Literal:
        return [] if value in args else [f"{value!r} is not one of {list(args)} @ {path}"]
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"expected an object ({tp.__name__}), got {type(value).__name__} @ {path}"]
        hints = _hints(tp)
        extra_allowed = (getattr(tp, "__pydantic_config__", None) or {}).get("extra") == "allow"  # as the SDK says
        problems = [] if extra_allowed else [f"unknown field {k!r} for {tp.__name__} @ {path}" for k in value if k not in hints]
        problems += [f"missing required field {k!r} of {tp.__name__} @ {path}" for k in tp.__required_keys__ if k not in value]
        for key, item in value.items():
            if key in hints:
                problems += _check(item, hints[key], f"{path}.{key}")
        return problems
    if origin is not None and (
        getattr(origin, "__name__", "") == "SequenceNotStr"
        or (isinstance(origin, type) and issubclass(origin, collections.abc.Iterable) and not issubclass(origin, (str, bytes, collections.abc.Mapping)))
    ):
        if not isinstance(value, list):
            return [f"expected an array, got {type(value).__name__} @ {path}"]
        return [p for i, item in enumerate(value) for p in _check(item, args[0] if args else Any, f"{path}[{i}]")]
    if origin is not None and isinstance(origin, type) and issubclass(origin, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"expected an object, got {type(value).__name__} @ {path}"]
        inner = args[1] if len(args) == 2 else Any
        return [p for k, v in value.items() for p in _check(v, inner, f"{path}.{k}")]
    if tp is type(None):
        return [] if value is None else [f"expected null @ {path}"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"expected a boolean @ {path}"]
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"expected an integer @ {path}"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"expected a number @ {path}"]
    if tp is str:
        return [] if isinstance(value, str) else [f"expected a string, got {type(value).__name__} @ {path}"]
    try:  # anything else (dates, models): pydantic decides
        pydantic.TypeAdapter(tp).validate_python(value)
    except pydantic.ValidationError as exc:
        return [f"{exc.errors()[0]['msg']} @ {path}"]
    except pydantic.PydanticSchemaGenerationError:  # a Python-only type (IO, PathLike): JSON never is one
        return [f"not JSON-shaped ({tp}) @ {path}"]
    return []
