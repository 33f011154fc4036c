"""SQLite plumbing shared by the store and the cache: private files, pragmas, transactions,
schema versions, and the worker thread that owns a connection.

Why one worker thread per store: a ``sqlite3`` connection belongs to one thread, SQLite
admits one writer at a time anyway, and a single FIFO worker keeps each caller's writes in
the order they were made. The event loop only awaits a future; it never touches the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from agentkit.errors import CorruptSessionError, SchemaVersionError, StorageError

__all__ = [
    "Worker",
    "connect",
    "ensure_schema",
    "from_micros",
    "prepare_file",
    "to_micros",
    "write_transaction",
]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
SYNCHRONOUS = ("off", "normal", "full", "extra")


def to_micros(value: datetime) -> int:
    """A timestamp as whole microseconds since the epoch (exact, unlike float seconds)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def prepare_file(path: Path) -> None:
    """Create the database's directory (0700) and file (0600) if missing.

    SQLite gives its -wal and -shm files the database file's permissions, so they are
    private too. Existing directories and files are left as they are.
    """
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


def connect(path: Path, *, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with a busy timeout, in autocommit (we BEGIN ourselves)."""
    if synchronous.lower() not in SYNCHRONOUS:
        raise StorageError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
    prepare_file(path)
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"{path}: SQLite refused WAL mode (journal_mode is {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: take the write lock up front (waiting up to the
    busy timeout) so a transaction never fails half-way for want of it; roll back on error.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schema(
    conn: sqlite3.Connection, path: Path, migrations: Mapping[int, Sequence[str]], *, what: str
) -> None:
    """Bring the database up to the newest version in ``migrations`` (``PRAGMA user_version``).

    Each step runs in one transaction with the version bump, so a crash mid-migration
    leaves the old version. A database from a newer release is refused.
    """
    supported = max(migrations)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == supported:
        return
    _check_version(version, supported, path, what)
    with write_transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        _check_version(version, supported, path, what)
        for step in range(version + 1, supported + 1):
            for statement in migrations[step]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {supported}")


def _check_version(found: int, supported: int, path: Path, what: str) -> None:
    if found > supported:
        raise SchemaVersionError(
            f"{path} holds {what} of schema version {found}, newer than this agentkit-sqlite "
            f"understands (up to {supported})",
            found=found,
            supported=supported,
            store="sqlite",
            hint="upgrade agentkit-sqlite (pip install -U agentkit-sqlite), or use another database file",
        )


class Worker:
    """A thread that owns one connection and runs jobs on it, one at a time, in order.

    ``opener()`` makes the connection on the thread, at the first job, so a failure to open
    (a newer schema, a file that is not a database) surfaces from that call, clearly, and
    again from the next one. A job the caller stops awaiting before it starts never runs;
    once started, it finishes: a transaction is never cut in half by a cancelled task.
    """

    def __init__(self, opener: Callable[[], sqlite3.Connection], *, path: Path, name: str) -> None:
        self._opener = opener
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._closed = False

    def _run(self, job: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            if self._conn is None:
                self._conn = self._opener()
            return job(self._conn, *args)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self._path) from exc

    def _submit(self, job: Callable[..., T], args: tuple[Any, ...]) -> Any:
        with self._lock:
            if self._closed:
                raise StorageError(f"the store at {self._path} is closed", store="sqlite")
            return self._executor.submit(self._run, job, args)

    async def call(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(connection, *args)`` on the worker thread and await its result."""
        return await asyncio.wrap_future(self._submit(job, args))

    def call_sync(self, job: Callable[..., T], *args: Any) -> T:
        return self._submit(job, args).result()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._executor.submit(self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _translate(exc: sqlite3.DatabaseError, path: Path) -> StorageError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StorageError(
            f"{path}: {text} (another process held the write lock past the busy timeout)",
            store="sqlite",
            hint="raise busy_timeout, or look for a process stuck inside a transaction",
        )
    if "not a database" in text or "malformed" in text:
        return CorruptSessionError(f"{path}: {text}", path=str(path), store="sqlite")
    return StorageError(f"{path}: {text}", store="sqlite")
