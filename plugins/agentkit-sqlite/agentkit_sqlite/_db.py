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
import random
import sqlite3
import threading
import time
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
    "open_database",
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
        mode = _switch_to_wal(conn, busy_timeout)
        if mode != "wal":
            raise StorageError(f"{path}: SQLite refused WAL mode (journal_mode is {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """Put the database in WAL mode (it stays so) and return the journal mode now in force.

    Switching reads the header, then writes it: when two connections create the same new
    database at once, the one that read first cannot upgrade to writing without risking a
    deadlock, so SQLite fails it at once with "database is locked" instead of calling the
    busy handler. Retry until ``busy_timeout``: the other connection will have switched.
    """

    def switch() -> str:
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal":
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        return mode

    return retry_while_busy(conn, switch, busy_timeout)


def is_busy(exc: BaseException) -> bool:
    """``SQLITE_BUSY`` (any extended code): another connection holds a lock we need.

    Errors that Python's ``sqlite3`` raises itself (text that is not UTF-8, ...) carry no
    SQLite error code.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def retry_while_busy(conn: sqlite3.Connection, attempt: Callable[[], T], timeout: float) -> T:
    """``attempt()`` again while it fails with ``SQLITE_BUSY``, until ``timeout`` has passed.

    Retries come every few hundred microseconds (jittered, at most 2 ms apart); a
    transaction the failed attempt left open is rolled back first. SQLite's own busy
    handler backs off to 100 ms sleeps, so a process that writes back to back could hold
    the lock at every retry and starve the others; short retries get a turn.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0002
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 1.5, 0.002)


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


def open_database(
    path: Path, *, busy_timeout: float, synchronous: str, migrations: Mapping[int, Sequence[str]], what: str
) -> sqlite3.Connection:
    """:func:`connect`, then :func:`ensure_schema`."""
    conn = connect(path, busy_timeout=busy_timeout, synchronous=synchronous)
    try:
        ensure_schema(conn, path, migrations, what=what)
    except BaseException:
        conn.close()
        raise
    return conn


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

    The connection (:func:`open_database` with the worker's settings) is made on the thread,
    at the first job, so a failure to open (a newer schema, a file that is not a database)
    surfaces from that call, clearly, and again from the next one. The worker keeps no
    reference to its owner, so a store dropped without ``close()`` is freed at once, not at
    the next full collection. A job the caller stops awaiting before it starts never runs;
    once started, it finishes: a transaction is never cut in half by a cancelled task.

    With ``inline=True``, :meth:`call_inline` may run a short job at once on the caller's
    thread instead: when the connection is idle and the job gets every lock it needs without
    waiting. The connection has a busy timeout of 0, so a job that would have to wait for
    another connection's lock fails at once, having changed nothing (a write job's first
    statement is ``BEGIN IMMEDIATE``), and is queued for the thread like any other. Handing a
    job to a thread and back costs two thread wake-ups (40-300 µs depending on the machine),
    more than an uncontended append.

    On the thread, a job that finds the database locked is retried until ``busy_timeout``
    has passed (see :func:`retry_while_busy`).
    The connection does not checkpoint the WAL on commit (that writes and syncs the database
    file, which can take milliseconds); the thread does it every ``checkpoint_every`` jobs.
    """

    checkpoint_every = 128

    def __init__(
        self,
        path: Path,
        *,
        migrations: Mapping[int, Sequence[str]],
        what: str,
        name: str,
        busy_timeout: float,
        synchronous: str,
        inline: bool = False,
    ) -> None:
        self._migrations = migrations
        self._what = what
        self._synchronous = synchronous
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()  # guards _closed and submission
        self._conn_lock = threading.Lock()  # held by whoever is using the connection
        self._closed = False
        self._inline = inline
        self._busy_timeout = busy_timeout
        self._jobs_since_checkpoint = 0
        self._checkpoint_queued = False

    def _open(self) -> sqlite3.Connection:
        conn = open_database(
            self._path,
            busy_timeout=self._busy_timeout,
            synchronous=self._synchronous,
            migrations=self._migrations,
            what=self._what,
        )
        if self._inline:
            try:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
                conn.execute("PRAGMA busy_timeout = 0")
            except BaseException:
                conn.close()
                raise
        return conn

    def _run(self, job: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._conn_lock:
            try:
                if self._conn is None:
                    self._conn = self._open()
                if not self._inline:
                    return job(self._conn, *args)
                conn = self._conn
                try:
                    return retry_while_busy(conn, lambda: job(conn, *args), self._busy_timeout)
                finally:
                    self._count_job()
            except _UNREADABLE as exc:
                raise _translate(exc, self._path) from exc

    def _submit(self, job: Callable[..., T], args: tuple[Any, ...]) -> Any:
        with self._lock:
            if self._closed:
                raise StorageError(f"the store at {self._path} is closed", store="sqlite")
            return self._executor.submit(self._run, job, args)

    async def call(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(connection, *args)`` on the worker thread and await its result."""
        return await asyncio.wrap_future(self._submit(job, args))

    async def call_inline(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(connection, *args)`` here and now if it cannot wait (see the class
        docstring), else like :meth:`call`. Only for jobs that are short and safe to retry
        after they failed for want of a lock."""
        done, result = self._try_inline(job, args)
        if done:
            return result  # type: ignore[return-value]
        return await self.call(job, *args)

    def _try_inline(self, job: Callable[..., T], args: tuple[Any, ...]) -> tuple[bool, T | None]:
        if not self._inline or self._conn is None:
            return False, None
        if self._checkpoint_queued and self._jobs_since_checkpoint >= 2 * self.checkpoint_every:
            return False, None  # queue behind the checkpoint, so the WAL cannot grow without bound
        if not self._conn_lock.acquire(blocking=False):
            return False, None
        try:
            conn = self._conn
            if conn is None or self._closed:
                return False, None
            try:
                result = job(conn, *args)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise _translate(exc, self._path) from exc
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return False, None
            except _UNREADABLE as exc:
                raise _translate(exc, self._path) from exc
            self._count_job()
            return True, result
        finally:
            self._conn_lock.release()

    def _count_job(self) -> None:
        """Called with the connection lock held: queue a checkpoint every so many jobs."""
        self._jobs_since_checkpoint += 1
        if self._jobs_since_checkpoint >= self.checkpoint_every and not self._checkpoint_queued:
            with self._lock:
                if not self._closed:
                    self._checkpoint_queued = True
                    self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        with self._conn_lock:
            self._jobs_since_checkpoint = 0
            self._checkpoint_queued = False
            if self._conn is not None:
                # PASSIVE: copies what no reader still needs, never waits for a lock
                with contextlib.suppress(sqlite3.DatabaseError):
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._executor.submit(self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                self._conn.close()  # the last connection to close checkpoints the WAL
                self._conn = None


#: What reading a damaged database raises: SQLite's errors, and Python's own on values that
#: are not what was written (text that is not UTF-8, a timestamp out of range, broken JSON).
_UNREADABLE = (sqlite3.DatabaseError, ValueError, TypeError, OverflowError, KeyError, IndexError)


def _translate(exc: Exception, path: Path) -> StorageError:
    """A StorageError naming the file (one of ours passes through as it is)."""
    if isinstance(exc, StorageError):
        return exc
    if not isinstance(exc, sqlite3.DatabaseError):
        return CorruptSessionError(
            f"{path}: the database holds a value that cannot be read ({type(exc).__name__}: {exc})",
            path=str(path),
            store="sqlite",
            hint="restore the file from a backup, or move it away to start afresh",
        )
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StorageError(
            f"{path}: {text} (another process held the write lock past the busy timeout)",
            store="sqlite",
            hint="raise busy_timeout, or look for a process stuck inside a transaction",
        )
    if "not a database" in text or "malformed" in text or "decode" in text:
        return CorruptSessionError(
            f"{path}: {text}",
            path=str(path),
            store="sqlite",
            hint="restore the file from a backup, or move it away to start afresh",
        )
    return StorageError(f"{path}: {text}", store="sqlite")
