"""edit and write: changing files, atomically and never by surprise.

``edit`` replaces an exact string that must occur once (or everywhere, when asked): a model
that misremembers a file gets an error, not a wrong change. The file keeps its newline style
(CRLF files stay CRLF when the model sends ``\\n``) and its permissions, and is replaced
atomically. ``write`` says whether it creates or overwrites, and refuses the other case.
"""

from __future__ import annotations

import os

from agentkit.errors import ToolError

from .globs import looks_binary
from .paths import Resolved, Root
from .settings import FilesSettings

__all__ = ["edit_file", "write_file"]


def _read_text(root: Root, resolved: Resolved, settings: FilesSettings) -> str:
    if resolved.is_dir:
        raise ToolError(f"{resolved.shown!r} is a directory, not a file")
    if resolved.size > settings.max_file_bytes:
        raise ToolError(
            f"{resolved.shown!r} is {resolved.size} bytes, over the {settings.max_file_bytes}-byte limit for edits"
        )
    with root.open_read(resolved) as fd, os.fdopen(os.dup(fd), "rb") as f:
        data = f.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise ToolError(f"{resolved.shown!r} is over the {settings.max_file_bytes}-byte limit for edits")
    if looks_binary(data[:8192]):
        raise ToolError(f"{resolved.shown!r} is a binary file; edit changes text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{resolved.shown!r} is not UTF-8 text (byte {exc.start}); edit changes UTF-8 files only"
        ) from None


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def edit_file(
    root: Root,
    settings: FilesSettings,
    path: str,
    old_string: str,
    new_string: str,
    replace_all: bool = False,
) -> str:
    """Replace ``old_string`` with ``new_string`` in a file; it must match exactly once unless ``replace_all``."""
    if not isinstance(old_string, str) or old_string == "":
        raise ToolError("old_string must not be empty; to create a file use write")
    if old_string == new_string:
        raise ToolError("old_string and new_string are the same; nothing to change")
    resolved = root.resolve(path)
    original = _read_text(root, resolved, settings)
    crlf = "\r\n" in original and "\n" not in original.replace("\r\n", "")
    text = original.replace("\r\n", "\n") if crlf else original
    old = old_string.replace("\r\n", "\n") if crlf else old_string
    new = new_string.replace("\r\n", "\n") if crlf else new_string
    count = text.count(old)
    if count == 0:
        raise ToolError(
            f"old_string was not found in {resolved.shown!r}; read the file and copy the exact text "
            "(whitespace and indentation included)"
        )
    if count > 1 and not replace_all:
        lines, start = [], 0
        for _ in range(min(count, 10)):
            index = text.find(old, start)
            lines.append(str(_line_of(text, index)))
            start = index + len(old)
        raise ToolError(
            f"old_string occurs {count} times in {resolved.shown!r} (lines {', '.join(lines)}"
            f"{', ...' if count > 10 else ''}); include more surrounding lines to make it unique, "
            "or pass replace_all=true to change every occurrence"
        )
    first_line = _line_of(text, text.find(old))
    updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    if crlf:
        updated = updated.replace("\n", "\r\n")
    data = updated.encode("utf-8")
    if len(data) > settings.max_file_bytes:
        raise ToolError(f"the edited file would be over the {settings.max_file_bytes}-byte limit")
    root.write_file(resolved, data, replace=True, mode=resolved.mode)
    where = f"at line {first_line}" if count == 1 else f"first at line {first_line}"
    return f"edited {resolved.shown}: replaced {count} occurrence{'s' if count > 1 else ''} ({where})"


def write_file(root: Root, settings: FilesSettings, path: str, content: str, mode: str = "create") -> str:
    """Create a file (``mode="create"``: refused if it exists) or replace one (``"overwrite"``: it must exist)."""
    if mode not in ("create", "overwrite"):
        raise ToolError(f"mode must be 'create' or 'overwrite', got {mode!r}")
    if not isinstance(content, str):
        raise ToolError("content must be a string")
    data = content.encode("utf-8")
    if len(data) > settings.max_file_bytes:
        raise ToolError(f"content is {len(data)} bytes, over the {settings.max_file_bytes}-byte limit")
    resolved = root.resolve(path, must_exist=False)
    if resolved.shown == ".":
        raise ToolError("give the path of a file to write, not the root directory")
    if mode == "create":
        if resolved.exists:
            raise ToolError(
                f"{resolved.shown!r} already exists; pass mode='overwrite' to replace it, "
                "or use edit to change part of it"
            )
        root.write_file(resolved, data, replace=False)
        return f"created {resolved.shown} ({len(data)} bytes)"
    if not resolved.exists:
        raise ToolError(f"{resolved.shown!r} does not exist; pass mode='create' to create it")
    if resolved.is_dir:
        raise ToolError(f"{resolved.shown!r} is a directory")
    root.write_file(resolved, data, replace=True, mode=resolved.mode)
    return f"overwrote {resolved.shown} ({len(data)} bytes)"
