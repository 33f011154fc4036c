"""grep through ripgrep, confined to the root however the tree changes while it runs.

Everything the model gives ends up as an *argument* of ripgrep, never as an option:
``--regexp=PATTERN``, ``--glob=GLOB``, ``--type=NAME``. ripgrep is run with ``--no-config`` so
that ``RIPGREP_CONFIG_PATH`` cannot add options either.

ripgrep never gets the model's path: a name can be swapped for a symlink between the check
and the search, and ripgrep follows a symlink it is given. It searches from what the check
opened instead: a folder opened with ``O_NOFOLLOW`` at every step becomes its working
directory (``/proc/self/fd/N``) and it searches ``.``; a file opened the same way is its
standard input. Inside the folder ripgrep does not follow symlinks, but it enters subfolders
by name, so one swapped for a symlink *while it walks* could still be read through. So no
line ripgrep prints is shown as it is: each is checked against the file at that path read
here, race-free (descriptors and ``O_NOFOLLOW`` from the searched folder), and shown only if
that file holds that text at that line. What is shown is always the root's own content.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import stat
from typing import Any, NamedTuple

from agentkit.errors import ToolError

from .paths import Resolved, Root
from .settings import FilesSettings

__all__ = ["GrepQuery", "ripgrep"]

#: Where a process finds its open descriptors by number (Linux; macOS and the BSDs: /dev/fd).
_FD_DIR = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
_STDIN_NAME = b"<stdin>"
_CUT = " [... line cut]"
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class GrepQuery(NamedTuple):
    """What the model asked grep for."""

    pattern: str
    glob: str | None
    file_type: str | None
    ignore_case: bool
    context: int
    files: bool


class _Line(NamedTuple):
    """One line of ripgrep's output: where it says the text is, and the text."""

    path: str  # relative to the searched folder ("" for a searched file)
    number: int
    sep: str  # ":" a match, "-" context
    body: str


def rg_argv(rg: str, target: str, query: GrepQuery, settings: FilesSettings) -> list[str]:
    """The ripgrep command line for ``query`` (``files`` is answered from matching lines)."""
    argv = [
        rg,
        "--no-config",
        "--color=never",
        "--no-messages",
        f"--max-filesize={settings.max_file_bytes}",
        f"--max-depth={settings.max_path_depth}",
        "--null",
        "--sort=path",  # the same order every time (and the fallback's order)
        "--line-number",
        "--with-filename",
        "--no-heading",
        f"--max-columns={settings.max_line_chars}",
        "--max-columns-preview",
    ]
    if query.files:
        argv.append("--max-count=1")  # a file's first matching line says it matches, and is checked
    elif query.context:
        argv.append(f"--context={query.context}")
    if query.ignore_case:
        argv.append("--ignore-case")
    if query.glob is not None:
        argv.append(f"--glob={query.glob}")
    if query.file_type is not None:
        argv.append(f"--type={query.file_type}")
    argv += [f"--regexp={query.pattern}", "--", target]
    return argv


async def ripgrep(
    rg: str, root: Root, resolved: Resolved, query: GrepQuery, settings: FilesSettings
) -> tuple[list[str], bool, list[str]]:
    """Output lines (root-relative paths), whether they were cut at ``max_matches``, and notes."""
    kwargs: dict[str, Any] = {"stdin": asyncio.subprocess.DEVNULL}
    if resolved.is_dir:
        shown = root.relative(resolved.real)
        prefix = "" if shown == "." else shown + "/"
        opened = root.open_dir(resolved.real)
        target = "."
    else:
        prefix = ""
        opened = root.open_read(resolved)
        target = "-"
    with opened as fd:
        if resolved.is_dir:
            kwargs.update(cwd=f"{_FD_DIR}/{fd}", pass_fds=(fd,))
        else:
            if os.fstat(fd).st_size > settings.max_file_bytes:  # --max-filesize does not see stdin
                return [], False, []
            kwargs.update(cwd=root.path, stdin=fd)
        try:
            proc = await asyncio.create_subprocess_exec(
                *rg_argv(rg, target, query, settings),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=1 << 20,
                **kwargs,
            )
        except OSError as exc:
            raise ToolError(f"cannot run ripgrep ({rg}): {exc.strerror}") from None
        found, truncated = await _read(proc, settings)
        if resolved.is_dir:  # read through the folder the check opened, in a thread (it is I/O)
            found, dropped = await asyncio.to_thread(_verified, found, fd, settings)
        else:  # ripgrep read the descriptor the check opened: nothing to verify
            dropped = 0
    notes = [f"[left out {dropped} line(s) of files that changed while grep ran]"] if dropped else []
    name = prefix if resolved.is_dir else resolved.shown
    if query.files:
        paths = list(dict.fromkeys(_join(name, line.path, resolved.is_dir) for line in found if line is not None))
        return paths, truncated, notes
    out = [
        "--" if line is None else f"{_join(name, line.path, resolved.is_dir)}{line.sep}{line.number}{line.sep}{line.body}"
        for line in found
    ]
    return _tidy(out), truncated, notes


def _join(prefix: str, path: str, is_dir: bool) -> str:
    return prefix + path if is_dir else prefix


def _tidy(lines: list[str]) -> list[str]:
    """No ``--`` at either end or twice in a row (left when lines between were left out)."""
    out: list[str] = []
    for line in lines:
        if line == "--" and (not out or out[-1] == "--"):
            continue
        out.append(line)
    while out and out[-1] == "--":
        out.pop()
    return out


async def _read(proc: asyncio.subprocess.Process, settings: FilesSettings) -> tuple[list[_Line | None], bool]:
    """ripgrep's lines (``None`` for a ``--`` between groups), up to ``max_matches`` matches."""
    found: list[_Line | None] = []
    truncated = False
    limit = settings.max_matches
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.ensure_future(proc.stderr.read(4096))
    try:
        matches = 0
        while True:
            try:
                raw = await proc.stdout.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raw = exc.partial
            except asyncio.LimitOverrunError:
                raw = await proc.stdout.read(1 << 20)  # never happens with --max-columns; stay safe
            if not raw:
                break
            raw = raw.rstrip(b"\n")
            if raw == b"--":
                found.append(None)
                continue
            line = _parse(raw, settings.max_line_chars)
            if line is None:
                continue
            if line.sep == ":":
                if matches >= limit:
                    truncated = True
                    break
                matches += 1
            found.append(line)
        await _finish(proc)
        stderr = (await stderr_task).decode("utf-8", "replace").strip()
    finally:
        await _finish(proc)
        if not stderr_task.done():
            stderr_task.cancel()
    if proc.returncode == 2 and not found:
        raise ToolError(f"grep failed: {' '.join(stderr.split())[:300] or 'ripgrep exited with an error'}")
    return found, truncated


def _parse(raw: bytes, max_chars: int) -> _Line | None:
    """A line of ripgrep's ``--null`` output: ``path NUL number (':' or '-') text``."""
    found, sep, rest = raw.partition(b"\0")
    if not sep:
        return None  # a notice such as "binary file matches"
    text = rest.decode("utf-8", "replace")
    match = re.match(r"(\d+)([:-])", text)
    if match is None:
        return None
    body = text[match.end() :].removesuffix("\r")
    if len(body) > max_chars:
        body = body[:max_chars] + _CUT
    path = "" if found == _STDIN_NAME else found.decode("utf-8", "replace")
    return _Line(path[2:] if path.startswith("./") else path, int(match.group(1)), match.group(2), body)


async def _finish(proc: asyncio.subprocess.Process) -> None:
    """Stop ripgrep (and anything it started) if it is still running, and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.shield(proc.wait())


# -- checking what ripgrep read ------------------------------------------------------------------


def _verified(found: list[_Line | None], top: int, settings: FilesSettings) -> tuple[list[_Line | None], int]:
    """The lines that the root's own files hold, read here without following any symlink."""
    files: dict[str, list[str] | None] = {}
    kept: list[_Line | None] = []
    dropped = 0
    for line in found:
        if line is None:
            kept.append(None)
            continue
        if line.path not in files:
            files[line.path] = _lines_of(top, line.path, settings)
        text = files[line.path]
        if text is not None and 0 < line.number <= len(text) and _holds(text[line.number - 1], line.body):
            kept.append(line)
        else:
            dropped += 1
    return kept, dropped


def _holds(actual: str, shown: str) -> bool:
    """Whether ``shown`` (ripgrep's text of a line, perhaps cut) is that line's text."""
    if shown == actual:
        return True
    if shown.endswith(_CUT):  # cut by --max-columns, perhaps inside a character
        head = shown[: -len(_CUT)].rstrip("\ufffd")
        return actual.startswith(head)
    return False


def _lines_of(top: int, path: str, settings: FilesSettings) -> list[str] | None:
    """The lines of ``top/path``, opened by descriptor with O_NOFOLLOW at every step; None if not a file."""
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    with contextlib.ExitStack() as stack:
        fd = top
        try:
            for name in parts[:-1]:
                fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                stack.callback(os.close, fd)
            file_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError:
            return None
        stack.callback(os.close, file_fd)
        st = os.fstat(file_fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > settings.max_file_bytes:
            return None
        with os.fdopen(os.dup(file_fd), "rb") as f:
            data = f.read(settings.max_file_bytes + 1)
    return [line.removesuffix("\r") for line in data.decode("utf-8", "replace").split("\n")]
