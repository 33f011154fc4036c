"""Structured output: from ``Agent(output_type=...)`` to a JSON Schema and back to a value.

``output_type`` may be an attrs class, a dataclass, a TypedDict, a pydantic model (when
pydantic is installed; agentkit does not depend on it), a JSON Schema dict, or the
``{"name": ..., "schema": ..., "strict": ...}`` form that OpenAI's API uses. Any other type
JSON Schema can express (``int``, ``list[str]``, ``Literal[...]``) works too: the model is
asked for an object ``{"result": ...}`` (providers want an object at the top) and the loop
unwraps it.

The model's answer is checked with jsonschema first, so the errors sent back when the model
must try again are short ``message @ $.path`` lines; then cattrs (or pydantic) builds the
typed value. Strict mode, where a provider enforces the schema itself, is asked for only when
the schema allows it: every object lists all its properties as required and forbids others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .errors import ConfigError, OutputValidationError
from .providers import OutputSchema, ToolSpec

__all__ = ["FINAL_ANSWER_TOOL", "OutputSpec", "output_spec", "strict_allowed"]

#: The tool the model calls to answer when the provider has no native structured output.
FINAL_ANSWER_TOOL = "final_answer"
#: At most this many validation errors are sent back to the model.
_MAX_ERRORS = 10
_WRAP_KEY = "result"
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


@attrs.frozen
class OutputSpec:
    """How a run's answer is asked for and checked.

    ``schema`` is what the model sees (always an object); ``wrapped`` says the real value
    sits under ``"result"``; ``output_type`` is what the caller asked for.
    """

    output_type: Any = attrs.field(repr=False)
    name: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    strict: bool = False
    description: str | None = None
    wrapped: bool = False
    _validator: list[Any] = attrs.field(factory=list, repr=False, init=False, eq=False)

    def output_schema(self) -> OutputSchema:
        """The schema for providers with native structured output."""
        return OutputSchema(name=self.name, schema=self.schema, strict=self.strict, description=self.description)

    def tool_spec(self) -> ToolSpec:
        """The ``final_answer`` tool, for providers without native structured output."""
        what = f" ({self.description})" if self.description else ""
        return ToolSpec(
            name=FINAL_ANSWER_TOOL,
            description=f"Give your final answer{what}. Call this once, when you have the answer; "
            "its arguments are the answer.",
            parameters=self.schema,
        )

    def parse_text(self, text: str) -> Any:
        """The typed value from the model's JSON text; raises OutputValidationError."""
        body = text.strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group(1).strip()
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise self._invalid(text, (f"the answer is not valid JSON ({exc}) @ $",)) from None
        return self.parse_data(data, raw_text=text)

    def parse_data(self, data: Any, *, raw_text: str | None = None) -> Any:
        """The typed value from JSON data; raises OutputValidationError with ``message @ $.path`` errors."""
        raw = raw_text if raw_text is not None else json.dumps(data, ensure_ascii=False)
        errors = self._schema_errors(data)
        if errors:
            raise self._invalid(raw, errors)
        value = data[_WRAP_KEY] if self.wrapped else data
        if isinstance(self.output_type, Mapping):
            return value
        from ._schema import structure

        try:
            return structure(value, self.output_type)
        except Exception as exc:
            raise self._invalid(raw, _structure_errors(exc, [_WRAP_KEY] if self.wrapped else [])) from None

    def _schema_errors(self, data: Any) -> tuple[str, ...]:
        if not self._validator:
            from jsonschema import Draft202012Validator

            self._validator.append(Draft202012Validator(dict(self.schema)))
        found = sorted(self._validator[0].iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        lines = [f"{_short(e.message)} @ {_json_path(e.absolute_path)}" for e in found[:_MAX_ERRORS]]
        if len(found) > _MAX_ERRORS:
            lines.append(f"... and {len(found) - _MAX_ERRORS} more @ $")
        return tuple(lines)

    def _invalid(self, raw: str, errors: tuple[str, ...]) -> OutputValidationError:
        return OutputValidationError(
            f"the answer does not match the output type {self.name!r}: " + "; ".join(errors),
            raw_text=raw,
            errors=errors,
        )


def output_spec(output_type: Any) -> OutputSpec | None:
    """The spec for ``output_type``, or ``None`` for plain text (``None`` or ``str``)."""
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, OutputSpec):
        return output_type
    if isinstance(output_type, Mapping):
        return _from_schema_dict(output_type)
    from ._schema import UnsupportedType, schema_for

    try:
        schema = schema_for(output_type)
    except UnsupportedType as exc:
        raise ConfigError(f"JSON Schema cannot express this output type: {exc}", key_path="output_type") from None
    name = getattr(output_type, "__name__", None) or "output"
    description = schema.get("description") if isinstance(schema.get("description"), str) else None
    return _spec(output_type, name, schema, requested_strict=True, description=description)


def _from_schema_dict(value: Mapping[str, Any]) -> OutputSpec:
    if "schema" in value and isinstance(value["schema"], Mapping) and set(value) <= {
        "name", "schema", "strict", "description",
    }:
        schema = dict(value["schema"])
        name = str(value.get("name") or schema.get("title") or "output")
        requested = bool(value.get("strict", True))
        description = value.get("description") or schema.get("description")
    else:
        schema = dict(value)
        name = str(schema.get("title") or "output")
        requested = True
        description = schema.get("description")
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"not a valid JSON Schema: {_short(exc.message)}", key_path="output_type") from None
    return _spec(value, name, schema, requested_strict=requested, description=description)


def _spec(
    output_type: Any, name: str, schema: dict[str, Any], *, requested_strict: bool, description: Any
) -> OutputSpec:
    wrapped = not _is_object_schema(schema)
    if wrapped:
        schema = {
            "type": "object",
            "properties": {_WRAP_KEY: schema},
            "required": [_WRAP_KEY],
            "additionalProperties": False,
        }
    return OutputSpec(
        output_type=output_type,
        name=_safe_name(name),
        schema=schema,
        strict=requested_strict and strict_allowed(schema),
        description=description if isinstance(description, str) and description else None,
        wrapped=wrapped,
    )


def _is_object_schema(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" or ("properties" in schema and "type" not in schema)


def strict_allowed(schema: Any) -> bool:
    """Whether a provider's strict mode can enforce ``schema``.

    Strict mode needs every object to require all its properties and forbid others; a
    schema with optional fields or free-form objects is sent without strict.
    """
    if isinstance(schema, Mapping):
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties", {})
            if schema.get("additionalProperties") is not False or not props:
                return False
            if set(schema.get("required", ())) != set(props):
                return False
        return all(strict_allowed(v) for k, v in schema.items() if k not in ("enum", "const", "default"))
    if isinstance(schema, list):
        return all(strict_allowed(v) for v in schema)
    return True


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
    return cleaned or "output"


def _json_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"\w+", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _structure_errors(exc: BaseException, base: list[str]) -> tuple[str, ...]:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic's ValidationError
        try:
            return tuple(
                f"{_short(str(e.get('msg')))} @ {_json_path([*base, *e.get('loc', ())])}"
                for e in errors()[:_MAX_ERRORS]
            )
        except Exception:
            pass
    path = _json_path(base)
    try:
        from cattrs import transform_error

        lines = transform_error(exc, path=path)  # type: ignore[arg-type]
    except Exception:
        lines = [f"{type(exc).__name__}: {exc} @ {path}"]
    return tuple(_short(line) for line in lines[:_MAX_ERRORS]) or (f"invalid value @ {path}",)
