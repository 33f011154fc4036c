"""The results file of a batch job: locked, scanned for resume, repaired, appended to.

Why each item ends up in the file exactly once, even when the job is killed (SIGKILL) at
any moment and run again:

- Only the driver writes, and it holds an exclusive ``flock`` on the file for the whole job,
  so a second job on the same file stops at once with a clear error.
- A result is written when its item has finished, as one ``write()`` of a whole line to a
  file opened with ``O_APPEND``. An item that was still running when the job died has no
  line, so the next run starts it again; one with a line is skipped.
- A kill can still cut a line short (Linux stops a large write at a fatal signal), and a
  machine crash can leave a tail of zeros. On opening, a last line without its newline (or a
  tail of NUL bytes) is cut off and reported: its item runs again. A damaged line *before*
  good ones is not ours to guess about: it is an error naming the line.
- ``fsync`` runs about once a second and when the job ends, not after every line: a process
  kill loses nothing that was written (the kernel has it), and after a machine crash the
  lines lost are simply run again. Repairs and rewrites are synced at once.
- ``retry_failed`` rewrites the file without its error lines (a temporary file renamed into
  place, so a crash leaves the old file or the new one) and runs those items again; they
  can never appear twice.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import BatchError
from ._items import id_key
from ._results import ItemResult, decode_line, encode_line

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; one job per file is then on you
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResultsFile"]

_BLOCK = 1 << 20


class ResultsFile:
    """A job's results file, open and locked. Build it with :meth:`open`.

    ``done`` holds the keys (:func:`~agentkit.batch._items.id_key`) of the ids the file
    already records and the job must skip; ``ok_before`` and ``failed_before`` count them;
    ``notices`` says what was repaired or rewritten.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.done: set[Any] = set()
        self.ok_before = 0
        self.failed_before = 0
        self.notices: list[str] = []
        self._unsynced = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, resume: bool = True, retry_failed: bool = False) -> ResultsFile:
        """Open (or create) and lock the file; read what it holds (``resume``) or empty it."""
        target = Path(path)
        if target.parent and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_locked(target)
        results = cls(target, fd)
        try:
            if not resume:
                os.ftruncate(fd, 0)
                os.fsync(fd)
                return results
            failed = results._scan()
            if retry_failed and failed:
                results._rewrite_without(failed)
                results.notices.append(
                    f"{len(failed)} failed item(s) removed from {target} to run again"
                )
                results.failed_before = 0
            elif not retry_failed:
                results.done |= failed
        except BaseException:
            os.close(fd)
            raise
        return results

    # -- reading -----------------------------------------------------------------------------

    def _lines(self) -> Iterator[tuple[int, int, bytes]]:
        """``(line number, offset, raw line without newline)`` of each complete line; the
        unterminated tail, if any, comes last with line number 0."""
        offset = 0
        number = 0
        pending = b""
        pending_at = 0
        while True:
            block = os.pread(self._fd, _BLOCK, offset)
            if not block:
                break
            data = pending + block
            start = 0
            while True:
                end = data.find(b"\n", start)
                if end < 0:
                    break
                number += 1
                yield number, pending_at + start, data[start:end]
                start = end + 1
            pending_at += start
            pending = data[start:]
            offset += len(block)
        if pending:
            yield 0, pending_at, pending

    def _scan(self) -> set[Any]:
        """Fill ``done`` with the ok ids; return the keys of failed ids. Cut a torn tail."""
        failed: set[Any] = set()
        good_end = 0  # offset just past the last good line
        bad: tuple[int, int] | None = None  # (line number, offset) of the first bad line
        for number, offset, raw in self._lines():
            if number == 0:  # no newline: a torn last line
                if bad is None:
                    bad = (0, offset)
                break
            parsed = _parse(raw)
            if parsed is None:
                if bad is None:
                    bad = (number, offset)
                continue
            if bad is not None:
                raise BatchError(
                    "this line is not a results line, and good lines follow it",
                    path=str(self.path),
                    line=bad[0],
                    hint="fix or delete that line by hand (it was not written by agentkit batch)",
                )
            item_id, status = parsed
            key = id_key(item_id)
            if status == "ok":
                if key not in self.done:
                    self.done.add(key)
                    self.ok_before += 1
                failed.discard(key)
            elif key not in self.done and key not in failed:
                failed.add(key)
            good_end = offset + len(raw) + 1
        self.failed_before = len(failed)
        if bad is not None:
            size = os.fstat(self._fd).st_size
            tail = size - good_end
            if bad[0] and not _all_nul(self._fd, good_end, size):
                raise BatchError(
                    "the last line is not a results line",
                    path=str(self.path),
                    line=bad[0],
                    hint="fix or delete that line by hand (it was not written by agentkit batch)",
                )
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)
            self.notices.append(
                f"repaired {self.path}: cut off a torn last line ({tail} bytes, left by a job that was "
                "killed); its item runs again"
            )
        return failed

    def _rewrite_without(self, failed: set[Any]) -> None:
        """Replace the file by a copy without the lines of ``failed`` ids (atomically)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        new = os.open(tmp, flags, 0o600)
        try:
            os.fchmod(new, os.fstat(self._fd).st_mode & 0o777)
            if fcntl is not None:
                fcntl.flock(new, fcntl.LOCK_EX | fcntl.LOCK_NB)
            chunk: list[bytes] = []
            size = 0
            for number, _offset, raw in self._lines():
                if number == 0:
                    break
                parsed = _parse(raw)
                if parsed is not None and parsed[1] == "error" and id_key(parsed[0]) in failed:
                    continue
                chunk.append(raw + b"\n")
                size += len(raw) + 1
                if size >= _BLOCK:
                    _write_all(new, b"".join(chunk))
                    chunk, size = [], 0
            _write_all(new, b"".join(chunk))
            os.fsync(new)
            os.replace(tmp, self.path)
        except BaseException:
            os.close(new)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)
        old, self._fd = self._fd, new
        os.close(old)

    # -- writing -----------------------------------------------------------------------------

    def append(self, result: ItemResult) -> None:
        """Write ``result`` as one line, in one write."""
        _write_all(self._fd, encode_line(result))
        self._unsynced = True

    def sync(self) -> None:
        """Push what was written to the disk (``fsync``), if anything was."""
        if self._unsynced:
            self._unsynced = False
            os.fsync(self._fd)

    def close(self) -> None:
        """Sync, then close (which releases the lock)."""
        if self._fd < 0:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = -1


def _parse(raw: bytes) -> tuple[Any, str] | None:
    try:
        return decode_line(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return None


def _all_nul(fd: int, start: int, end: int) -> bool:
    """Whether the bytes from ``start`` to ``end`` are NUL or newlines (a crash's zero fill)."""
    offset = start
    while offset < end:
        block = os.pread(fd, min(_BLOCK, end - offset), offset)
        if not block:
            break
        if block.strip(b"\0\n"):
            return False
        offset += len(block)
    return True


def _open_locked(path: Path) -> int:
    """Open ``path`` for appending and take its exclusive lock, or fail if another job has it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except IsADirectoryError:
            raise BatchError("the results path is a folder", path=str(path)) from None
        except OSError as exc:
            raise BatchError(f"cannot open the results file: {exc.strerror or exc}", path=str(path)) from None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BatchError(
                    "another batch job is writing this results file",
                    path=str(path),
                    hint="wait for it to end, or write to another file with -o",
                ) from None
            raise
        try:
            held, current = os.fstat(fd), os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        if (held.st_ino, held.st_dev) == (current.st_ino, current.st_dev):
            return fd
        os.close(fd)  # replaced while we locked it (another job's rewrite): lock the new file


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
