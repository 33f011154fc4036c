"""Grammars that make a turn with tools either a message or a call whose arguments fit the tool's schema.

A turn with tools begins under one GBNF grammar (llama.cpp samples only tokens the grammar
allows), in the format the system prompt describes (:mod:`agentkit_llamacpp.turns`): either
``message:``, after which the answer is generated as text (free, or under the output schema's
grammar, and streamed), or one call::

    functions.<name>:
    {"arg": ...}

One call per turn: given room for more, SmolLM2 repeated the same call until the token limit.
The grammar ends where the model chooses a message, because under a grammar that allows any
text llama.cpp checks every token of the vocabulary (49,152 for SmolLM2) at every step.

Each tool's arguments are a rule built from its JSON Schema by llama-cpp-python's schema
converter, with two things it lacks added here: integer ``minimum``/``maximum`` (and the
exclusive ones) become digit ranges, so ``forecast(days=12)`` cannot be written when the
maximum is 7; and a string cannot hold a raw control character (a newline inside a JSON
string made ``json.loads`` fail with "Invalid control character"). Enums, ``const``,
``required`` (optional properties may be left out), nested objects, arrays and ``$ref`` are
the converter's. Bounds on non-integer numbers are not in the grammar: agentkit's validation
of a call's arguments reports them to the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CALL_PREFIX",
    "MESSAGE_PREFIX",
    "int_range",
    "schema_grammar",
    "turn_grammar",
]

#: What a text answer begins with, and what each call begins with (``functions.<name>:``).
MESSAGE_PREFIX = "message:"
CALL_PREFIX = "functions."

#: A character inside a JSON string: anything but a quote, a backslash or a control character,
#: or an escape.
_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def turn_grammar(tools: Sequence[tuple[str, Mapping[str, Any]]], choice: str = "auto") -> str:
    """The GBNF grammar of the start of a turn with ``tools`` (``(name, parameters schema)`` pairs).

    :param choice: ``"auto"``: ``message:`` or a call; ``"required"``: a call; a tool's name: a
        call of that tool.
    """
    converter = _converter()
    alternatives = []
    for name, schema in tools:
        if choice not in ("auto", "required") and name != choice:
            continue
        rule = converter.visit_tool(_object_schema(schema), f"{name}-args")
        alternatives.append(f'{_literal(name + ":")} "\\n" {rule}')
    if not alternatives:
        raise ValueError(f"tool_choice {choice!r} names none of the tools")
    converter.fix_rules()
    root = f"{_literal(MESSAGE_PREFIX)} | call" if choice == "auto" else "call"
    rules = [f"root ::= {root}", f"call ::= {_literal(CALL_PREFIX)} ({' | '.join(alternatives)})"]
    return "\n".join([*rules, converter.format_grammar()]) + "\n"


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """The GBNF grammar of a JSON value following ``schema`` (structured output)."""
    converter = _converter()
    converter.visit_tool(dict(schema), "")
    converter.fix_rules()
    return str(converter.format_grammar()) + "\n"


def _object_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A tool's parameters as the converter wants them: an object, no extra properties."""
    out = json.loads(json.dumps(dict(schema)))  # a deep, plain copy
    if not out.get("properties") and out.get("type", "object") == "object":
        return {"type": "object", "properties": {}, "additionalProperties": False}
    out.setdefault("additionalProperties", False)
    return out


def _converter() -> Any:
    from llama_cpp.llama_grammar import SchemaConverter

    class Converter(SchemaConverter):  # type: ignore[misc]
        """llama-cpp-python's converter with integer ranges and strict JSON strings."""

        def visit_tool(self, schema: Mapping[str, Any], name: str) -> str:
            # each tool's "#/$defs/..." references resolve within its own schema
            return str(self.visit(self.resolve_refs(dict(schema), name), name))

        def visit(self, schema: Any, name: str) -> Any:
            if isinstance(schema, dict) and schema.get("type") == "integer" and _has_bounds(schema):
                low, high = _bounds(schema)
                rule = re.sub(r"[^a-zA-Z0-9-]+", "-", name) or "integer-range"
                return self._add_rule(rule, f"({int_range(low, high)}) space")
            return super().visit(schema, name)

        def fix_rules(self) -> None:
            if "char" in self._rules:
                self._rules["char"] = _CHAR

    return Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)


def _has_bounds(schema: Mapping[str, Any]) -> bool:
    return any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))


def _bounds(schema: Mapping[str, Any]) -> tuple[int | None, int | None]:
    import math

    low = high = None
    if isinstance(schema.get("minimum"), (int, float)):
        low = math.ceil(schema["minimum"])
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        value = math.floor(schema["exclusiveMinimum"]) + 1
        low = value if low is None else max(low, value)
    if isinstance(schema.get("maximum"), (int, float)):
        high = math.floor(schema["maximum"])
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        value = math.ceil(schema["exclusiveMaximum"]) - 1
        high = value if high is None else min(high, value)
    return low, high


# -- integer ranges -------------------------------------------------------------------------------


def int_range(low: int | None, high: int | None) -> str:
    """A GBNF expression matching exactly the integers in ``[low, high]`` (``None``: unbounded),
    written without leading zeros (``-0`` is not written)."""
    if low is not None and high is not None and low > high:
        raise ValueError(f"empty integer range: minimum {low} > maximum {high}")
    parts = []
    if high is None or high >= 0:  # the non-negative part
        parts.extend(_nonneg(max(low, 0) if low is not None else 0, high))
    if low is None or low < 0:  # the negative part, as "-" and an absolute value
        top = None if low is None else -low
        bottom = 1 if high is None or high >= 0 else -high
        parts.extend(f'"-" ({p})' for p in _nonneg(bottom, top))
    return " | ".join(parts)


def _nonneg(low: int, high: int | None) -> list[str]:
    """Alternatives matching the integers in ``[low, high]``, ``low >= 0``, grouped by digit count."""
    out = []
    digits = len(str(low))
    while high is None or digits <= len(str(high)):
        lo = low if digits == len(str(low)) else 10 ** (digits - 1)
        if high is not None and digits == len(str(high)):
            out.append(_same_length(str(lo), str(high)))
            break
        if high is None and digits > len(str(low)):  # every longer number
            out.append("[1-9]" + " [0-9]" * (digits - 1) + " [0-9]*")
            break
        out.append(_same_length(str(lo), "9" * digits))
        digits += 1
    return out


def _same_length(lo: str, hi: str) -> str:
    """Numbers of ``len(lo)`` digits from ``lo`` to ``hi`` (digit strings of the same length)."""
    if not lo:
        return '""'
    if lo == hi:
        return _literal(lo)
    if lo[0] == hi[0]:
        return f"{_literal(lo[0])} ({_same_length(lo[1:], hi[1:])})"
    rest = len(lo) - 1
    any_digits = " [0-9]" * rest
    options = []
    first_low, first_high = int(lo[0]), int(hi[0])
    if rest and lo[1:] != "0" * rest:  # the lowest first digit with a bounded tail
        options.append(f"{_literal(lo[0])} ({_same_length(lo[1:], '9' * rest)})")
        first_low += 1
    if rest and hi[1:] != "9" * rest:  # the highest first digit with a bounded tail
        options.append(f"{_literal(hi[0])} ({_same_length('0' * rest, hi[1:])})")
        first_high -= 1
    if first_low <= first_high:  # first digits whose tail may be anything
        digit = f"[{first_low}-{first_high}]" if first_low < first_high else _literal(str(first_low))
        options.insert(1 if len(options) == 2 else len(options), f"{digit}{any_digits}")
    return " | ".join(f"({o})" if " | " in o else o for o in options)
