"""A process's PostgreSQL connections, shared by every event loop of the process.

agentkit runs in many event loops: async code has its own, each synchronous ``agent.run()``
has one per thread. An idle psycopg ``AsyncConnection`` belongs to no loop (it only waits on
its socket through the loop running while a statement is under way), so one pool can serve
them all: a caller takes an idle connection, or opens one, and runs its statements on its own
loop, with no hop to another thread. Taking and giving back are a few steps under a thread
lock; at most ``size`` connections are open, and a caller that finds all of them busy waits,
on its own loop, for one to come back (``timeout`` seconds at most).

A connection given back broken, closed, or not idle (a transaction left open) is closed, not
kept; one left idle longer than ``max_idle`` seconds is closed rather than used (a firewall or
NAT may have dropped it silently meanwhile, and a statement sent on it would wait for an answer
that never comes). After a connection was lost, :meth:`Pool.drop_idle` closes the idle ones too (a server
that restarted left them all dead), so the next caller opens a fresh one. Pools still open at
interpreter exit close their idle connections then, politely (the server sees a goodbye, not a
dropped socket). A forked child never closes its parent's connections (that would close them
for the parent): it opens its own.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

__all__ = ["Pool", "PoolClosed", "PoolTimeout"]

Conn = AsyncConnection[Any]

#: Seconds a connection may stay idle and still be used (then it is closed and another opened).
MAX_IDLE = 300.0


class PoolClosed(Exception):
    """The pool was closed."""


class PoolTimeout(Exception):
    """No connection came free within the pool's timeout."""


class Pool:
    """At most ``size`` connections, made by ``connect()`` on the caller's loop when needed.

    :param connect: opens and configures a new connection (raises psycopg's errors).
    :param size: the most connections open at once.
    :param timeout: seconds :meth:`get` waits when all ``size`` are busy.
    :param max_idle: seconds a connection may have been idle and still be used.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Conn]],
        *,
        size: int,
        timeout: float,
        max_idle: float = MAX_IDLE,
    ) -> None:
        self._connect = connect
        self.size = size
        self.timeout = timeout
        self.max_idle = max_idle
        self.pid = os.getpid()  # a forked child makes a pool of its own (the parent's is the parent's)
        self.closed = False
        self._lock = threading.Lock()
        # (connection, when it was given back): last in, first out, the warmest first
        self._idle: list[tuple[Conn, float]] = []
        self._open = 0  # connections open or being opened (idle ones included)
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        _OPEN.add(self)

    async def get(self) -> Conn:
        """An idle connection, or a new one; raises :class:`PoolTimeout` when none comes free."""
        deadline: float | None = None
        woken = False
        while True:
            wake: asyncio.Future[None] | None = None
            with self._lock:
                if self.closed:
                    raise PoolClosed("the pool is closed")
                conn, stale = self._take_idle()
                if conn is None and self._open < self.size:
                    self._open += 1  # room for one more: this caller opens it
                elif conn is None:
                    loop = asyncio.get_running_loop()
                    wake = loop.create_future()
                    if woken:  # woken, and another caller was quicker: first in line again
                        self._waiters.appendleft((loop, wake))
                    else:
                        self._waiters.append((loop, wake))
            if stale:
                _close_now(*stale)
            if conn is not None:
                return conn
            if wake is None:
                return await self._new()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.timeout
            try:
                # (not wait_for: on Python 3.11 it can swallow a cancel that comes with the wake-up)
                async with asyncio.timeout_at(deadline):
                    await wake
                woken = True
            except TimeoutError:
                with self._lock:  # one last look: a wake-up sent to a loop that closed is lost
                    if self.closed or not self._free():
                        raise PoolTimeout(f"no connection came free within {self.timeout:g} s") from None
            except BaseException:
                self._pass_on(wake)
                raise

    def _take_idle(self) -> tuple[Conn | None, list[Conn]]:
        """The warmest idle connection still fit for use (under the lock), and those found
        closed or idle too long on the way (no longer counted: to be closed)."""
        stale: list[Conn] = []
        oldest = time.monotonic() - self.max_idle
        while self._idle:
            conn, since = self._idle.pop()
            if since >= oldest and not conn.closed:
                return conn, stale
            self._open -= 1
            stale.append(conn)
        return None, stale

    async def _new(self) -> Conn:
        try:
            return await self._connect()
        except BaseException:
            with self._lock:
                self._open -= 1
                self._wake_one()  # a waiter may open one itself
            raise

    def put(self, conn: Conn) -> None:
        """Give ``conn`` back: kept when it is idle and usable, else closed."""
        if self.pid != os.getpid():
            return  # a parent's connection, in a forked child: the parent's to close
        usable = (
            not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE
        )
        with self._lock:
            if usable and not self.closed:
                self._idle.append((conn, time.monotonic()))
            else:
                self._open -= 1
                usable = False
            self._wake_one()
        if not usable:
            _close_now(conn)

    def drop_idle(self) -> None:
        """Close every idle connection (after one was found dead: the others likely are too)."""
        if self.pid != os.getpid():
            return
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            for _ in idle:
                self._wake_one()
        _close_now(*(conn for conn, _ in idle))

    def close(self) -> None:
        """Close the idle connections now and those in use when they come back; wake every waiter."""
        _OPEN.discard(self)
        with self._lock:
            self.closed = True
            waiters = list(self._waiters)
            self._waiters.clear()
        for loop, wake in waiters:
            _wake(loop, wake)
        self.drop_idle()

    def __del__(self) -> None:
        # a pool dropped unclosed (its store never closed) closes its idle connections
        if not self.closed:
            self.close()

    def _wake_one(self) -> None:
        """Wake the first waiter still waiting (under the lock); it takes what it finds."""
        while self._waiters:
            loop, wake = self._waiters.popleft()
            if not wake.done() and _wake(loop, wake):
                return

    def _free(self) -> bool:
        """Whether a caller would get a connection now (under the lock)."""
        return bool(self._idle) or self._open < self.size

    def _pass_on(self, wake: asyncio.Future[None]) -> None:
        """A waiter that stops waiting (cancelled) passes on a wake-up it may have been sent:
        when a connection is free, the next waiter is woken."""
        with self._lock:
            self._waiters = deque((lp, w) for lp, w in self._waiters if w is not wake)
            if self._free():
                self._wake_one()


def _wake(loop: asyncio.AbstractEventLoop, wake: asyncio.Future[None]) -> bool:
    """Set ``wake`` on its loop, from any thread; ``False`` if that loop is closed."""

    def done() -> None:
        if not wake.done():
            wake.set_result(None)

    try:
        loop.call_soon_threadsafe(done)
    except RuntimeError:  # the loop is closed
        return False
    return True


def _close_now(*conns: Conn) -> None:
    """Close ``conns`` at once, from any loop or thread (closing does not wait on the network)."""
    for conn in conns:
        try:
            conn.pgconn.finish()
        except Exception:  # pragma: no cover - already gone
            pass


# pools not closed yet, closed at interpreter exit
_OPEN: weakref.WeakSet[Pool] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for pool in list(_OPEN):
        pool.close()
