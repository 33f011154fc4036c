"""Asking the user at the terminal on a tool's behalf (an MCP server's elicitation).

``ask_at_terminal(request)`` shows ``request.message``, asks whether to answer, then asks for
each field of ``request.schema`` (top-level properties of simple types, as elicitation
allows), converting the text to the field's type and asking again when it does not fit.
One question at a time, even when several tools ask at once.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

__all__ = ["ask_at_terminal"]

_lock = threading.Lock()
_TRUE = {"y", "yes", "true", "1"}
_FALSE = {"n", "no", "false", "0"}


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _read(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def ask_at_terminal(request: Any) -> dict[str, Any] | None:
    """The user's answer as a dict, or ``None`` when they decline (or stdin ends)."""
    with _lock:
        try:
            return _ask(request)
        except EOFError:
            _say("[no answer: declined]")
            return None


def _ask(request: Any) -> dict[str, Any] | None:
    who = getattr(request, "server", None)
    _say(f"\n? {who + ' asks' if who else 'question'}: {getattr(request, 'message', '')}")
    url = getattr(request, "url", None)
    if url:
        _say(f"  open: {url}")
    if _read("  answer? [Y/n] ").strip().lower() in _FALSE:
        return None
    if url:
        return {}
    schema = getattr(request, "schema", None) or {}
    required = set(schema.get("required", ()))
    answer: dict[str, Any] = {}
    for name, field in (schema.get("properties") or {}).items():
        value = _field(name, field, name in required)
        if value is not None:
            answer[name] = value
    return answer


def _field(name: str, field: dict[str, Any], required: bool) -> Any:
    kind = field.get("type", "string")
    label = field.get("title") or name
    choices = field.get("enum") or [o.get("const") for o in field.get("oneOf", ()) if "const" in o]
    hint = f"one of {', '.join(map(str, choices))}" if choices else kind
    default = field.get("default")
    shown = f"{label} ({hint}{'' if default is None else f', default {default}'}{', optional' if not required else ''})"
    if field.get("description"):
        _say(f"  {field['description']}")
    for _ in range(3):
        text = _read(f"  {shown}: ").strip()
        if not text:
            if default is not None:
                return default
            if not required:
                return None
            _say("  an answer is required")
            continue
        try:
            value = _convert(text, kind, field)
        except ValueError as exc:
            _say(f"  {exc}")
            continue
        if choices and value not in choices:
            _say(f"  choose one of {', '.join(map(str, choices))}")
            continue
        return value
    raise EOFError


def _convert(text: str, kind: str, field: dict[str, Any]) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("a whole number, please") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError("a number, please") from None
    if kind == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("yes or no, please")
    if kind == "array":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text
