"""The event loop PostgreSQL connections live in: one daemon thread per process, started on first use.

An async connection pool belongs to the event loop it was opened in, while agentkit runs in
many loops: each synchronous ``agent.run()`` has a loop of its own per thread, async code has
its own. So the pools live here, and callers reach them with :func:`call`, awaiting from
their own loop. The caller's loop never waits on the network, the disk or a lock; it awaits
a future.

Writes are shielded: a caller cancelled while its transaction is under way stops waiting,
but the transaction finishes (committed or rolled back) here, never half-done. After
``fork()`` the child starts a loop of its own; the parent's connections are left alone
(closing them from the child would close them for the parent).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["call", "call_sync", "on_runtime", "runtime_loop", "track"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0
# what to close at exit: objects with an ``aclose()`` coroutine (databases with a pool)
_open: weakref.WeakSet[Any] = weakref.WeakSet()
_atexit_registered = False

#: Seconds the exit handler waits for pools to close.
EXIT_TIMEOUT = 10.0


def runtime_loop() -> asyncio.AbstractEventLoop:
    """This process's PostgreSQL loop, started on first call (again after a fork)."""
    global _loop, _pid, _atexit_registered
    loop = _loop
    if loop is not None and _pid == os.getpid():
        return loop
    with _lock:
        if _loop is None or _pid != os.getpid():
            fresh = asyncio.new_event_loop()
            started = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(fresh)
                fresh.call_soon(started.set)
                fresh.run_forever()

            thread = threading.Thread(target=main, name="agentkit-postgres", daemon=True)
            thread.start()
            started.wait()
            _loop, _pid = fresh, os.getpid()
            _open.clear()  # a parent's pools are the parent's
            if not _atexit_registered:
                atexit.register(_close_all)
                _atexit_registered = True
        return _loop


def on_runtime() -> bool:
    """Whether the caller runs on this process's PostgreSQL loop."""
    try:
        return asyncio.get_running_loop() is _loop and _pid == os.getpid()
    except RuntimeError:
        return False


async def call(factory: Callable[[], Coroutine[Any, Any, T]], *, shield: bool = False) -> T:
    """Run ``factory()`` on the PostgreSQL loop; await its result from the caller's loop.

    With ``shield``, cancelling the caller does not cancel the work (a write finishes).
    """
    if on_runtime():
        return await (asyncio.shield(factory()) if shield else factory())
    future = asyncio.run_coroutine_threadsafe(factory(), runtime_loop())
    wrapped = asyncio.wrap_future(future)
    if not shield:
        return await wrapped
    try:
        return await asyncio.shield(wrapped)
    except asyncio.CancelledError:
        wrapped.add_done_callback(_retrieve)  # its outcome is nobody's now: no "never retrieved"
        raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def call_sync(factory: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
    """Run ``factory()`` on the PostgreSQL loop from synchronous code (not from that loop)."""
    if on_runtime():
        raise RuntimeError("call_sync() cannot be used on the PostgreSQL loop; await call() instead")
    return asyncio.run_coroutine_threadsafe(factory(), runtime_loop()).result(timeout)


def track(resource: Any) -> None:
    """Close ``resource`` (its ``aclose()``) at interpreter exit if it is still open then."""
    _open.add(resource)


def untrack(resource: Any) -> None:
    _open.discard(resource)


def _close_all() -> None:
    loop = _loop
    if loop is None or _pid != os.getpid() or loop.is_closed() or not loop.is_running():
        return
    resources = list(_open)
    if not resources:
        return

    async def close_all() -> None:
        await asyncio.gather(*(r.aclose() for r in resources), return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(close_all(), loop).result(EXIT_TIMEOUT)
    except Exception:  # at exit, a last resort: the server notices the closed sockets
        pass
