"""One schema of one PostgreSQL database, as the store and the memory backend use it.

:class:`Database` owns a pool of psycopg connections (:mod:`agentkit_postgres._pool`: shared
by every event loop of the process; each unit of work runs on its caller's loop), creates the
schema on first use (once per process, whichever loop comes first), and runs each unit of
work in one transaction:

- a connection lost before the commit (the server restarted, the network broke) means
  nothing was written: the work runs again on a fresh connection, once the server answers;
- a connection lost *during* the commit leaves it unknown whether the write got in: the
  work's ``verify`` asks the database on a fresh connection (a turn's rows carry the random
  id of their write), and the work runs again only if it did not;
- a server that does not answer is an error at once, naming host and database and why
  (never the password), not a wait on the pool.

So a turn is stored whole or not at all, a committed turn is never lost or stored twice, and
the call after a restart reconnects by itself. A write finishes even if its caller is
cancelled (it runs in a task of its own on the caller's loop), so it is never cut half-way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import psycopg
from psycopg import AsyncConnection, errors

from ._dsn import Dsn, conninfo_with
from ._pool import Pool, PoolClosed, PoolTimeout
from .schema import ensure_schema

__all__ = ["Database", "Settings", "check_settings"]

log = logging.getLogger("agentkit.postgres")

T = TypeVar("T")
Work = Callable[[AsyncConnection[Any]], Awaitable[T]]
Verify = Callable[[AsyncConnection[Any]], Awaitable[bool]]
#: ``fail(message, hint, session_id)``: the error the store or the memory backend raises.
Fail = Callable[[str, "str | None", "str | None"], Exception]

#: How often one unit of work is tried when connections drop or transactions conflict.
ATTEMPTS = 4
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


@attrs.frozen
class Settings:
    """What the store and the memory backend share: where, and within which limits."""

    dsn: Dsn
    schema: str = "agentkit"
    pool_size: int = 10
    connect_timeout: float = 10.0
    statement_timeout: float = 30.0
    pool_timeout: float = 30.0


def check_settings(
    dsn: str | None,
    *,
    schema: str,
    pool_size: int,
    connect_timeout: float,
    statement_timeout: float,
    pool_timeout: float,
) -> Settings:
    """The settings checked; a ValueError (that never quotes the password) names a bad one."""
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ValueError(
            f"schema must be a PostgreSQL name (letters, digits and '_', not starting with a digit, "
            f"at most 63 characters), not {schema!r}"
        )
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"pool_size must be a whole number >= 1, not {pool_size!r}")
    for name, value, least in (
        ("connect_timeout", connect_timeout, 1e-9),
        ("statement_timeout", statement_timeout, 0.0),
        ("pool_timeout", pool_timeout, 1e-9),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < least
            or math.isnan(value)
        ):
            bound = "> 0" if least else ">= 0 (0: no limit)"
            raise ValueError(f"{name} must be a number of seconds {bound}, not {value!r}")
    return Settings(
        Dsn.parse(dsn),
        schema,
        pool_size,
        float(connect_timeout),
        float(statement_timeout),
        float(pool_timeout),
    )


class Database:
    """A pool of connections to ``settings.schema``, made on first use (see the module docstring).

    :param component: ``"sessions"`` or ``"memory"``: whose tables to create.
    :param fail: builds the error to raise (a StorageError or a MemoryStoreError).
    :param newer: builds the error for a schema written by a newer release.
    :param prepare: run once on the first connection, after the schema is there.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        component: str,
        fail: Fail,
        newer: Callable[[int, int], Exception],
        prepare: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.component = component
        self._fail = fail
        self._newer = newer
        self._prepare = prepare
        self._pool: Pool | None = None
        # the first use in this process (pid, its outcome), under way or done: one caller sets
        # up the schema and the pool while the others, on any loop, wait for it
        self._first: tuple[int, concurrent.futures.Future[None]] | None = None
        self._first_lock = threading.Lock()
        self._closed = False
        self._schema_ready = False
        ct = settings.connect_timeout
        self._conninfo = conninfo_with(
            settings.dsn,
            connect_timeout=str(max(2, math.ceil(ct))),  # libpq: whole seconds, 2 at least
            application_name=None if "application_name" in settings.dsn.params else "agentkit-postgres",
        )

    @property
    def where(self) -> str:
        return f'schema "{self.settings.schema}" of {self.settings.dsn.where()}'

    # -- calling in ----------------------------------------------------------------------------

    async def call(
        self,
        work: Work[T],
        *,
        what: str,
        write: bool = False,
        single: bool = False,
        verify: Verify | None = None,
        session_id: str | None = None,
    ) -> T:
        """Run ``work(conn)`` in one transaction on the caller's loop; its result.

        A ``write`` finishes even if the caller is cancelled. A ``single`` write is one
        statement, its own transaction (one round trip); its work returns whether it wrote
        (``True`` when ``verify`` found it had, after a dropped connection). ``verify(conn)`` says whether the
        write is in the database, after a connection lost while committing (without it, the
        work must be safe to run twice).
        """
        if self._closed:
            raise self._closed_error(session_id)
        run = self._run(work, what=what, write=write, single=single, verify=verify, session_id=session_id)
        if not write:
            return await run
        task = asyncio.ensure_future(run)  # cancelling the caller does not cut the write short
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_retrieve)  # its outcome is nobody's now: no "never retrieved"
            raise

    async def aclose(self) -> None:
        """Close the pool (see :meth:`close`)."""
        self.close()

    def close(self) -> None:
        """Close the pool: idle connections at once, those in use when their work is done."""
        self._closed = True
        with self._first_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # -- connections -----------------------------------------------------------------------------

    async def _ready(self) -> Pool:
        """This process's pool, made (and the schema created) by the first call."""
        while True:
            pool = self._pool
            if pool is not None and pool.pid == os.getpid():
                return pool
            with self._first_lock:
                if self._closed:
                    raise PoolClosed("closed")
                pid = os.getpid()
                if self._first is None or self._first[0] != pid:  # (a parent's pool is left alone)
                    first: concurrent.futures.Future[None] = concurrent.futures.Future()
                    self._first, mine = (pid, first), True
                else:
                    first, mine = self._first[1], False
            if not mine:
                try:  # (shielded: a waiter cancelled must not cancel the set-up for the others)
                    await asyncio.shield(asyncio.wrap_future(first))
                except _Retry:
                    pass  # the caller setting up was cancelled: one of the waiters takes over
                continue
            try:
                await self._set_up()
            except BaseException as exc:
                with self._first_lock:
                    self._first = None
                first.set_exception(exc if isinstance(exc, Exception) else _Retry())
                raise
            with self._first_lock:
                if not self._closed:
                    self._pool = Pool(
                        self._connect_raw, size=self.settings.pool_size, timeout=self.settings.pool_timeout
                    )
            first.set_result(None)

    async def _set_up(self) -> None:
        conn = await self.connect()  # a server that is not there: a clear error now, not a wait
        try:
            if not self._schema_ready:
                await ensure_schema(conn, self.settings.schema, self.component, newer=self._newer)
                if self._prepare is not None:
                    await self._prepare(conn)
                self._schema_ready = True
        except psycopg.Error as exc:
            raise self._translate(exc, "creating its tables", None) from None
        finally:
            await conn.close()

    async def _configure(self, conn: AsyncConnection[Any]) -> None:
        timeout = self.settings.statement_timeout
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false)",
            (f"{round(timeout * 1000)}ms",),
        )

    async def connect(self) -> AsyncConnection[Any]:
        """A new connection outside the pool (configured like the pool's); a clear error if none."""
        try:
            return await self._connect_raw()
        except psycopg.Error as exc:
            raise self._connect_error(exc) from None

    async def _connect_raw(self) -> AsyncConnection[Any]:
        conn = await AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await self._configure(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _run(
        self,
        work: Work[T],
        *,
        what: str,
        write: bool,
        single: bool,
        verify: Verify | None,
        session_id: str | None,
    ) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            pool, conn = await self._checkout(what, session_id)
            committing = single  # one statement commits as it runs
            try:
                if not write or single:  # one statement: one snapshot, its own transaction
                    return await work(conn)
                async with conn.pipeline(), conn.transaction():  # BEGIN goes with the first statement
                    result = await work(conn)
                    committing = True  # COMMIT (and what is queued) is sent when the block ends
                return result
            except psycopg.Error as exc:
                lost = conn.broken or _connection_error(exc)
                if not lost and not isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
                    raise self._translate(exc, what, session_id) from None
                if lost:
                    pool.drop_idle()  # a server that restarted left every connection dead
                    if await self._after_lost(committing and write, verify, what, session_id):
                        # the commit got in before the connection dropped
                        return True if single else result  # type: ignore[return-value]
                if attempt == ATTEMPTS:
                    raise self._translate(exc, what, session_id) from None
            finally:
                pool.put(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _after_lost(
        self, ambiguous: bool, verify: Verify | None, what: str, session_id: str | None
    ) -> bool:
        """After a connection dropped: whether the write got in (``False``: try it again).

        Nothing written: one attempt to reconnect, so a server that is down is an error at
        once. A commit cut short: the server has ``connect_timeout`` seconds to come back and
        say whether the write got in, since a caller told "unknown" may well store it twice.
        """
        log.warning(
            "the connection to PostgreSQL (%s) dropped while %s%s; reconnecting",
            self.where,
            what,
            " (committing: checking whether it got in)" if ambiguous else "",
        )
        deadline = time.monotonic() + (self.settings.connect_timeout if ambiguous else 0.0)
        while True:
            try:
                probe = await self._connect_raw()
                break
            except psycopg.Error as exc:
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                outcome = (
                    "it is not known whether it was stored: the connection dropped while committing"
                    if ambiguous
                    else "nothing was stored"
                )
                reason = _connect_reason(self.settings.dsn.scrub(str(exc)))
                raise self._fail(
                    f"lost the connection to PostgreSQL ({self.where}) while {what}, and cannot reconnect: "
                    f"{reason}; {outcome}",
                    "the server went away; the next call reconnects when it is back",
                    session_id,
                ) from None
        try:
            return ambiguous and verify is not None and await verify(probe)
        finally:
            await probe.close()

    async def _checkout(self, what: str, session_id: str | None) -> tuple[Pool, AsyncConnection[Any]]:
        """A connection from the pool (made again after a failure); a clear error if none."""
        while True:
            pool = await self._ready()
            try:
                return pool, await pool.get()
            except PoolClosed:
                if self._closed:
                    raise self._closed_error(session_id) from None
                continue  # (a forked child's first call: a pool of its own)
            except PoolTimeout:
                raise self._fail(
                    f"no free connection to PostgreSQL ({self.where}) for {what} within pool_timeout "
                    f"({self.settings.pool_timeout:g} s): all {self.settings.pool_size} were busy",
                    "raise pool_size (the server's max_connections permitting) or pool_timeout",
                    session_id,
                ) from None
            except psycopg.Error as exc:  # a new connection could not be opened
                raise self._connect_error(exc) from None

    # -- errors ----------------------------------------------------------------------------------

    def _closed_error(self, session_id: str | None) -> Exception:
        return self._fail(
            f"the PostgreSQL {self.component} backend ({self.where}) is closed", None, session_id
        )

    def _translate(self, exc: psycopg.Error, what: str, session_id: str | None) -> Exception:
        dsn = self.settings.dsn
        detail = dsn.scrub(_first_line(str(exc)))
        if isinstance(exc, errors.QueryCanceled):
            return self._fail(
                f"PostgreSQL ({self.where}) cancelled {what}: it ran longer than statement_timeout "
                f"({self.settings.statement_timeout:g} s)",
                "raise statement_timeout, or look for a session holding locks on these tables",
                session_id,
            )
        if _connection_error(exc):
            return self._fail(
                f"lost the connection to PostgreSQL ({self.where}) while {what}: {detail}",
                "the server went away; the next call reconnects",
                session_id,
            )
        state = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        hint = None
        if isinstance(exc, errors.InsufficientPrivilege):
            hint = f'grant the user the rights it needs on schema "{self.settings.schema}" (CREATE, USAGE)'
        return self._fail(f"PostgreSQL error while {what} ({self.where}){state}: {detail}", hint, session_id)

    def _connect_error(self, exc: BaseException) -> Exception:
        dsn = self.settings.dsn
        reason = _connect_reason(dsn.scrub(str(exc)))
        low = reason.lower()
        if "password" in low or "authentication" in low:
            hint = "check the user name and password of the DSN"
        elif "does not exist" in low and "database" in low:
            hint = f"create the database (createdb {dsn.database}) or fix the database name in the DSN"
        elif "does not exist" in low and "role" in low:
            hint = "create the user (createuser), or fix the user name in the DSN"
        elif "timeout" in low or "timed out" in low:
            hint = (
                f"nothing answered within connect_timeout ({self.settings.connect_timeout:g} s): "
                "check the host and port, or raise connect_timeout"
            )
        elif "resolve host" in low or "translate host name" in low:
            hint = "check the host name of the DSN"
        elif "invalid" in low or "option" in low:
            hint = "fix the DSN: postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        else:
            hint = "is PostgreSQL running there? check the host and port of the DSN"
        return self._fail(f"cannot connect to PostgreSQL {dsn.where()}: {reason}", hint, None)


class _Retry(Exception):
    """The caller setting up the pool was cancelled: a waiting caller does it instead."""


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def _connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection is gone (not that the statement failed)."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = getattr(exc, "sqlstate", None)
        return state is None or state.startswith(_CONNECTION_STATES)
    return False


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(no message)"


_PREFIXES = re.compile(
    r"^(?:connection (?:failed|is bad):\s*)?(?:connection to server (?:at|on socket) [^\n]*? failed:\s*)?(?:FATAL:\s*)?",
    re.I,
)


def _connect_reason(text: str) -> str:
    """libpq's reason, without its "connection to server at ... failed" prefixes and tips."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    failures = [ln for ln in lines if "failed:" in ln or "FATAL" in ln] or lines or ["no reason given"]
    reason = _PREFIXES.sub("", failures[-1].lstrip("- "))
    reason = re.sub(r"^host: .*?: ", "", reason)  # "- host: 'x', port: ...: connection failed: ..."
    reason = _PREFIXES.sub("", reason)
    return re.sub(r"\s+", " ", reason).strip() or "no reason given"
