"""read, ls and glob: looking at files without changing them.

Each returns text for a model, capped, with a marker that says what was cut and how to see
more. Files are read as a stream of lines, so a huge file or a huge line costs only what is
shown.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from agentkit.errors import ToolError

from .globs import cap_text, compile_glob, looks_binary, walk_tree
from .paths import Root, kind_of
from .settings import FilesSettings

__all__ = ["glob_paths", "list_dir", "read_file"]

_SNIFF = 8192


def read_file(
    root: Root, settings: FilesSettings, path: str, offset: int = 1, limit: int | None = None
) -> str:
    """Lines ``offset``.. of a text file, numbered like ``cat -n``, at most ``limit`` of them."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 1:
        raise ToolError(f"offset must be a line number >= 1, got {offset!r}")
    if limit is None:
        limit = settings.max_read_lines
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ToolError(f"limit must be a number of lines >= 1, got {limit!r}")
    limit = min(limit, settings.max_read_lines)
    resolved = root.resolve(path)
    if resolved.is_dir:
        raise ToolError(f"{resolved.shown!r} is a directory; use ls or glob to see what it holds")
    with root.open_read(resolved) as fd, os.fdopen(os.dup(fd), "rb") as f:
        head = f.read(_SNIFF)
        if looks_binary(head):
            raise ToolError(
                f"{resolved.shown!r} is a binary file ({resolved.size} bytes); read shows text files only"
            )
        if not head:
            return f"({resolved.shown} is empty)"
        f.seek(0)
        return _numbered(f, resolved.shown, offset, limit, settings)


def _numbered(f: BinaryIO, shown: str, offset: int, limit: int, settings: FilesSettings) -> str:
    out: list[str] = []
    size = 0
    last = offset - 1
    cut_lines = 0
    more = False
    budget = settings.max_output_chars
    for number, (raw, cut) in enumerate(_lines(f, settings.max_line_chars * 4), start=1):
        if number < offset:
            continue
        if len(out) >= limit or size >= budget:
            more = True
            break
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if cut or len(text) > settings.max_line_chars:
            text = text[: settings.max_line_chars] + " [... line cut]"
            cut_lines += 1
        line = f"{number:6}\t{text}"
        out.append(line)
        size += len(line) + 1
        last = number
    if not out:
        raise ToolError(f"offset {offset} is past the end of {shown!r} ({last} lines)")
    notes = []
    if more:
        notes.append(
            f"[truncated: showing lines {offset}-{last}; the file has more. "
            f"Call read with offset={last + 1} to continue]"
        )
    if cut_lines:
        notes.append(f"[{cut_lines} long line(s) cut at {settings.max_line_chars} characters]")
    return "\n".join(out + notes)


def _lines(f: BinaryIO, max_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """Lines of a binary file, each at most ``max_bytes`` long (and whether it was cut)."""
    while True:
        line = f.readline(max_bytes)
        if not line:
            return
        if line.endswith(b"\n") or len(line) < max_bytes:
            yield line, False
            continue
        while True:  # skip the rest of an overlong line without holding it
            rest = f.readline(1 << 16)
            if not rest or rest.endswith(b"\n"):
                break
        yield line, True


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def list_dir(root: Root, settings: FilesSettings, path: str = ".") -> str:
    """The entries of a directory, one a line: ``name/`` for folders, sizes for files."""
    resolved = root.resolve(path)
    if not resolved.is_dir:
        raise ToolError(f"{resolved.shown!r} is a file, not a directory; use read to see it")
    with root.open_dir(resolved.real) as dfd:
        try:
            names = sorted(os.listdir(dfd))
        except OSError as exc:
            raise ToolError(f"cannot list {resolved.shown!r}: {exc.strerror}") from None
        total = len(names)
        lines = []
        for name in names[: settings.max_entries]:
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except OSError:
                lines.append(f"{name}  (unreadable)")
                continue
            if stat.S_ISDIR(st.st_mode):
                lines.append(f"{name}/")
            elif stat.S_ISREG(st.st_mode):
                lines.append(f"{name}  ({_human(st.st_size)})")
            elif stat.S_ISLNK(st.st_mode):
                lines.append(f"{name}@  (symlink)")
            else:
                lines.append(f"{name}  ({kind_of(st.st_mode)})")
    if not lines:
        return f"({resolved.shown} is empty)"
    if total > settings.max_entries:
        lines.append(
            f"[truncated: {total} entries, showing the first {settings.max_entries}; use glob to narrow]"
        )
    return cap_text("\n".join(lines), settings.max_output_chars, "use glob to narrow")


def glob_paths(root: Root, settings: FilesSettings, pattern: str, path: str = ".") -> str:
    """Paths under ``path`` matching ``pattern``, relative to the root, sorted, one a line."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ToolError("pattern must be a non-empty glob such as '**/*.py'")
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ToolError(f"glob pattern {pattern!r} must be relative and must not contain '..'")
    base = root.resolve(path)
    if not base.is_dir:
        raise ToolError(f"{base.shown!r} is not a directory")
    regex = compile_glob(pattern.strip("/"))
    depth = None if "**" in pattern else pattern.strip("/").count("/") + 1
    found: list[str] = []
    stopped = False
    too_deep: list[str] = []
    with root.open_dir(base.real) as top:  # the folder the check saw, not a name swapped since
        walk = walk_tree(top, depth=depth, max_depth=settings.max_path_depth, too_deep=too_deep)
        for scanned, (rel, is_dir, _fd, _name) in enumerate(walk, start=1):
            if scanned > settings.max_scan_entries:
                stopped = True
                break
            if regex.match(rel):
                shown = root.relative(os.path.join(base.real, rel))
                found.append(shown + "/" if is_dir else shown)
        walk.close()
    found.sort()
    notes = []
    if too_deep:
        notes.append(
            f"[not entered: {len(too_deep)} folder(s) more than {settings.max_path_depth} levels down "
            f"(max_path_depth), such as {too_deep[0]!r}; glob from a deeper path]"
        )
    if len(found) > settings.max_entries:
        notes.append(
            f"[truncated: {len(found)} matches, showing the first {settings.max_entries}; "
            "use a narrower pattern or path]"
        )
        found = found[: settings.max_entries]
    if stopped:
        notes.append(f"[stopped after scanning {settings.max_scan_entries} entries; use a narrower path]")
    if not found:
        hint = (
            " (patterns without '**' do not search subfolders: try '**/" + pattern + "')"
            if depth == 1
            else ""
        )
        return f"no paths match {pattern!r} under {base.shown!r}{hint}" + (
            "\n" + "\n".join(notes) if notes else ""
        )
    return cap_text("\n".join(found + notes), settings.max_output_chars, "use a narrower pattern or path")
