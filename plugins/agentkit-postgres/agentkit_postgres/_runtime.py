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
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from agentkit._background import BackgroundLoop

__all__ = ["call", "call_sync", "on_runtime", "runtime_loop", "track"]

T = TypeVar("T")

#: Seconds the exit handler waits for pools to close.
EXIT_TIMEOUT = 10.0

# At exit, pools that do not close in time are left: the server notices the closed sockets.
_background = BackgroundLoop(
    "agentkit-postgres", label="the PostgreSQL loop", exit_timeout=EXIT_TIMEOUT, restart_after_fork=True
)


def runtime_loop() -> asyncio.AbstractEventLoop:
    """This process's PostgreSQL loop, started on first call (again after a fork)."""
    return _background.loop()


def on_runtime() -> bool:
    """Whether the caller runs on this process's PostgreSQL loop."""
    return _background.on_loop()


async def call(factory: Callable[[], Coroutine[Any, Any, T]], *, shield: bool = False) -> T:
    """Run ``factory()`` on the PostgreSQL loop; await its result from the caller's loop.

    With ``shield``, cancelling the caller does not cancel the work (a write finishes).
    """
    if on_runtime():
        return await (asyncio.shield(factory()) if shield else factory())
    future = _background.submit(factory())
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
    return _background.call_sync(factory, timeout)


def track(resource: Any) -> None:
    """Close ``resource`` (its ``aclose()``) at interpreter exit if it is still open then."""
    _background.track(resource)


def untrack(resource: Any) -> None:
    _background.untrack(resource)
