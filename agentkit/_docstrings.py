"""Read a function's docstring the way a tool needs it: a description and one line per parameter.

Google style (``Args:`` sections), reST (``:param name: text``) and NumPy style
(``Parameters`` underlined) are understood. Everything before the first section is the
description; a ``Returns``/``Raises`` section is left out, because the model calls the tool
and reads its result, and does not need to be told about either.
"""

from __future__ import annotations

import inspect
import re

import attrs

__all__ = ["Docstring", "parse_docstring"]


@attrs.frozen
class Docstring:
    """The parts of a docstring a tool uses."""

    description: str = ""
    params: dict[str, str] = attrs.field(factory=dict)


_GOOGLE_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_GOOGLE_PARAM_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "attributes",
    "fields",
}
_GOOGLE_ANY_SECTIONS = _GOOGLE_PARAM_SECTIONS | {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "examples",
    "example",
    "note",
    "notes",
    "see also",
    "warning",
    "warnings",
    "todo",
    "references",
}
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]+?))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(?::\s*.*)?$")


def parse_docstring(doc: str | None) -> Docstring:
    """Split ``doc`` into a description and parameter descriptions (missing parts are empty)."""
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, list[str]] = {}
    i = 0
    in_description = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        # NumPy: a title line underlined with dashes.
        if (
            i + 1 < len(lines)
            and stripped
            and _NUMPY_UNDERLINE.match(lines[i + 1])
            and not line.startswith(" ")
        ):
            in_description = False
            section = stripped.lower()
            i += 2
            while i < len(lines) and not (
                i + 1 < len(lines) and lines[i].strip() and _NUMPY_UNDERLINE.match(lines[i + 1])
            ):
                if section in _GOOGLE_PARAM_SECTIONS and lines[i] and not lines[i].startswith(" "):
                    m = _NUMPY_ITEM.match(lines[i].strip())
                    if m:
                        name = m.group(1)
                        params[name] = []
                        i += 1
                        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                            if lines[i].strip():
                                params[name].append(lines[i].strip())
                            elif i + 1 < len(lines) and not lines[i + 1].startswith(" "):
                                break
                            i += 1
                        continue
                i += 1
            continue
        # reST field lists.
        m = _REST_FIELD.match(stripped)
        if m and not line.startswith(" "):
            in_description = False
            kind, target, text = m.groups()
            i += 1
            extra = []
            while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
                extra.append(lines[i].strip())
                i += 1
            if kind in ("param", "parameter", "arg", "argument", "key", "keyword") and target:
                name = target.split()[-1]
                params[name] = [text, *extra]
            continue
        # Google sections.
        m = _GOOGLE_SECTION.match(stripped)
        if m and not line.startswith(" ") and m.group(1).lower() in _GOOGLE_ANY_SECTIONS:
            in_description = False
            section = m.group(1).lower()
            i += 1
            current: str | None = None
            indent: int | None = None
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                raw = lines[i]
                if not raw.strip():
                    i += 1
                    continue
                level = len(raw) - len(raw.lstrip())
                if indent is None:
                    indent = level
                if section in _GOOGLE_PARAM_SECTIONS:
                    item = _GOOGLE_ITEM.match(raw.strip()) if level == indent else None
                    if item:
                        current = item.group(1)
                        params[current] = [item.group(2)]
                    elif current is not None:
                        params[current].append(raw.strip())
                i += 1
            continue
        if in_description:
            description.append(line)
        i += 1
    return Docstring(
        description=_join_paragraphs(description),
        params={k: " ".join(p for p in v if p) for k, v in params.items() if any(v)},
    )


def _join_paragraphs(lines: list[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
