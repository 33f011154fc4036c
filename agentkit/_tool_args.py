"""Checking a model's tool arguments: a quick check that lets surely valid arguments skip
jsonschema, and schema or conversion errors as short ``message @ $.path`` lines the model
can act on (see :meth:`agentkit.tools.Tool.validate`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["json_kind", "json_path", "most_useful", "quick_check", "short", "structure_errors"]

# Schema keywords that say nothing about validity (annotations).
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "deprecated"})
_QUICK_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "$schema"}) | _ANNOTATIONS
_QUICK_TYPES: dict[str, Callable[[Any], bool]] = {
    # Conservative: a value these accept is valid for jsonschema; anything else (2.0 for an
    # integer, say) goes to the full validator, which decides.
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def quick_check(schema: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """For a flat object schema (properties of simple types, ``required``,
    ``additionalProperties``), a check that says True only for arguments that are surely
    valid; ``None`` for other schemas. Valid arguments, the common case, skip jsonschema; a
    False sends them to the full validator for its error messages."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return None
    if not set(schema) <= _QUICK_KEYWORDS:
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping) or not isinstance(required, list) or not isinstance(extra, bool):
        return None
    if not all(isinstance(name, str) for name in required):
        return None
    checks: dict[str, Callable[[Any], bool]] = {}
    for name, sub in properties.items():
        if not isinstance(sub, Mapping) or not set(sub) <= {"type"} | _ANNOTATIONS:
            return None
        kind = sub.get("type")
        if not isinstance(kind, str) or kind not in _QUICK_TYPES:
            return None
        checks[name] = _QUICK_TYPES[kind]
    needed = tuple(required)

    def check(data: dict[str, Any]) -> bool:
        for name in needed:
            if name not in data:
                return False
        for name, value in data.items():
            test = checks.get(name)
            if test is None:
                if not extra:
                    return False
            elif not test(value):
                return False
        return True

    return check


# -- errors as lines for the model ----------------------------------------------------------------


def json_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if re.match(r"^\w+$", str(part)) else f"[{json.dumps(part)}]")
        )
    return out


def most_useful(error: Any) -> Any:
    """For an ``anyOf``/``oneOf`` failure, the error inside the branch the value came closest to."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        return best_match([error]) or error
    return error


def short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def structure_errors(exc: BaseException, path: str) -> list[str]:
    try:
        from cattrs import transform_error

        lines = transform_error(exc, path=path)  # type: ignore[arg-type]
    except Exception:
        lines = [f"{type(exc).__name__}: {exc} @ {path}"]
    return [short(line) for line in lines] or [f"invalid value @ {path}"]
