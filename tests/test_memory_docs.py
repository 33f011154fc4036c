"""docs/memory.md gives a backend's author the exact signatures of ``Memory``'s six methods and
of the validation helpers (issue 23): each line there is the code's own signature."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agentkit.memory as memory

PAGE = Path(__file__).resolve().parents[1] / "docs" / "memory.md"


def signature_text(func: Callable[..., Any], *, method: bool) -> str:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())[1 if method else 0 :]
    parts: list[str] = []
    for param in params:
        if param.kind is param.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        text = param.name
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        parts.append(text)
    return f"({', '.join(parts)}) -> {sig.return_annotation}"


def documented() -> list[tuple[bool, str, str]]:
    section = PAGE.read_text(encoding="utf-8").split("## Writing a backend", 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```text\n(.*?)```", section, re.S) for line in block.strip().splitlines()]
    found = [re.fullmatch(r"(async )?(\w+)(\(.*)", line) for line in lines]
    assert all(found), lines
    return [(bool(m.group(1)), m.group(2), m.group(3)) for m in found if m]


def test_the_six_methods_and_the_helpers_are_given_with_their_exact_signatures() -> None:
    lines = documented()
    methods = {name for is_method, name, _ in lines if is_method}
    assert methods == {"add", "search", "get", "list", "update", "delete"}
    assert methods == set(memory.Memory.__abstractmethods__)
    for is_method, name, text in lines:
        func = getattr(memory.Memory, name) if is_method else getattr(memory, name)
        assert text == signature_text(func, method=is_method), f"docs/memory.md: {name}"
