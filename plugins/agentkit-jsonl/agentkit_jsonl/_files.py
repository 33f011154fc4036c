"""File plumbing for the JSONL store: safe names, locks, tails, atomic replacement.

Nothing here knows about sessions; :mod:`agentkit_jsonl.store` does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from agentkit.errors import StorageError

__all__ = [
    "SUFFIX",
    "LockedFile",
    "WouldBlock",
    "atomic_write",
    "file_name",
    "locked",
    "make_private_dir",
    "write_all",
]

SUFFIX = ".jsonl"
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_NAME = 200  # bytes, well under the usual 255-byte limit on a file name


def file_name(session_id: str) -> str:
    """The file name of a session: its id, encoded so that it can only name a file here.

    Bytes other than ``a-z 0-9 _ -`` become ``%XX`` (capital letters too, so that ids that
    differ only in case stay apart on case-insensitive file systems). ``/``, ``.``, NUL and
    ``%`` are therefore always encoded: no id can spell ``..``, a separator, or an absolute
    path. Names that would be too long keep a readable prefix and end in ``~`` plus a hash of
    the id (``~`` never occurs in an encoded id, so the two forms cannot collide).
    """
    encoded = "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in session_id.encode("utf-8"))
    if len(encoded) + len(SUFFIX) > _MAX_NAME:
        digest = hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:40]
        encoded = encoded[: _MAX_NAME - len(SUFFIX) - 41] + "~" + digest
    return encoded + SUFFIX


def make_private_dir(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700 (existing ones are left alone)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    if not path.is_dir():
        raise StorageError(f"{path} is not a directory", store="jsonl")


class WouldBlock(Exception):
    """Raised by :func:`locked` with ``wait=False`` when another process holds the lock."""


class LockedFile:
    """An open session file holding an ``flock`` (shared for readers, exclusive for writers)."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read_all(self) -> bytes:
        size = self.size()
        chunks = []
        offset = 0
        while offset < size:
            chunk = os.pread(self.fd, min(size - offset, 1 << 24), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)


@contextlib.contextmanager
def locked(path: Path, *, exclusive: bool, timeout: float, wait: bool = True) -> Iterator[LockedFile | None]:
    """Open ``path`` and lock it; yields ``None`` when the file does not exist.

    A file can be replaced (atomic rewrite) or deleted while we wait for its lock; after
    locking we check that the path still names the file we hold, and start over if not.
    The wait polls a non-blocking lock so that it can give up after ``timeout`` seconds.
    With ``wait=False`` a lock held by someone else raises :class:`WouldBlock` instead.
    """
    flags = (os.O_RDWR | os.O_APPEND) if exclusive else os.O_RDONLY
    operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + timeout
    fd: int | None
    while True:
        try:
            fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            fd = None
            break
        try:
            _lock(fd, operation, deadline if wait else None, path)
            held = os.fstat(fd)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
            break
        os.close(fd)
        if current is None:  # deleted while we waited
            fd = None
            break
        # replaced while we waited: lock the new file
    if fd is None:
        yield None
        return
    try:
        yield LockedFile(fd, path)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _lock(fd: int, operation: int, deadline: float | None, path: Path) -> None:
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        if deadline is None:
            raise WouldBlock(str(path))
        if time.monotonic() >= deadline:
            raise StorageError(
                f"{path} stayed locked by another writer past the lock timeout",
                store="jsonl",
                hint="raise lock_timeout, or look for a stuck process using this session",
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write(path: Path, data: bytes, *, replace: bool, fsync: bool) -> bool:
    """Write a whole file: to a private temporary file, then renamed (``replace``) or linked
    (not ``replace``: returns ``False`` instead of touching an existing file) into place.
    A reader sees the old file or the new one, never a part.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)  # mode 0600
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
