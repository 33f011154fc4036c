"""An event loop on a daemon thread, started on first use: a home for connections of one loop.

Some connections belong to one event loop for their whole life (an MCP server's session, an
async database pool), while agentkit runs happen in many loops: each synchronous
``agent.run()`` has a loop of its own per thread, async code has its own. A plugin keeps such
connections in a :class:`BackgroundLoop` of its own; its callers send coroutines there
(:meth:`BackgroundLoop.submit`, :meth:`BackgroundLoop.call_sync`, or a plugin's own ``await``
bridge) and wait for the result in their own loop or thread.

Resources still open at interpreter exit (:meth:`BackgroundLoop.track`) are closed there, on
that loop, within a time limit; what did not close in time is handed to a last-resort callback.
With ``restart_after_fork``, a forked child starts a loop of its own and leaves the parent's
resources alone (closing them from the child would close them for the parent).

Private, for first-party plugins (agentkit-mcp), which add what is their own on top: how a
caller awaits the work, cancellation.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop"]

T = TypeVar("T")


class BackgroundLoop:
    """One event loop running forever on a daemon thread named ``name``, started on first use.

    :param name: the thread's name (``agentkit-mcp``, ...).
    :param label: what the loop is called in error messages (``the MCP loop``).
    :param exit_timeout: seconds the exit handler waits for tracked resources to close.
    :param on_exit_failure: called with the tracked resources when closing them at exit failed
        or timed out (a last resort: kill what is left); ``None``: leave them.
    :param restart_after_fork: a forked child starts a loop of its own on first use, and its
        exit handler leaves the parent's loop and resources alone.
    """

    def __init__(
        self,
        name: str,
        *,
        label: str,
        exit_timeout: float = 10.0,
        on_exit_failure: Callable[[list[Any]], None] | None = None,
        restart_after_fork: bool = False,
    ) -> None:
        self.name = name
        self.label = label
        self.exit_timeout = exit_timeout
        self._on_exit_failure = on_exit_failure
        self._fork_aware = restart_after_fork
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        # objects with an ``aclose()`` coroutine to run at exit (live connections, pools)
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()
        self._atexit_registered = False

    def _ours(self) -> bool:
        return not self._fork_aware or self._pid == os.getpid()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first call (with ``restart_after_fork``: again in a forked child)."""
        loop = self._loop
        if loop is not None and self._ours():
            return loop
        with self._lock:
            if self._loop is None or not self._ours():
                fresh = asyncio.new_event_loop()
                started = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(fresh)
                    fresh.call_soon(started.set)
                    fresh.run_forever()

                thread = threading.Thread(target=main, name=self.name, daemon=True)
                thread.start()
                started.wait()
                self._loop, self._pid = fresh, os.getpid()
                if self._fork_aware:
                    self._open.clear()  # after a fork: a parent's resources are the parent's
                if not self._atexit_registered:
                    atexit.register(self._close_all)
                    self._atexit_registered = True
            return self._loop

    def on_loop(self) -> bool:
        """Whether the caller runs on this loop (never starts it)."""
        try:
            return asyncio.get_running_loop() is self._loop and self._ours()
        except RuntimeError:
            return False

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop (started if need be); a thread-safe future of its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop())

    def call_sync(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
        """Run ``factory()`` on the loop from synchronous code (not from the loop itself)."""
        if self.on_loop():
            raise RuntimeError(f"call_sync() cannot be used on {self.label}; await call() instead")
        return self.submit(factory()).result(timeout)

    def track(self, resource: Any) -> None:
        """Close ``resource`` (its ``aclose()``) at interpreter exit if it is still open then."""
        self._open.add(resource)

    def untrack(self, resource: Any) -> None:
        self._open.discard(resource)

    def _close_all(self) -> None:
        loop = self._loop
        if loop is None or not self._ours() or loop.is_closed() or not loop.is_running():
            return
        resources = list(self._open)
        if not resources:
            return

        async def close_all() -> None:
            await asyncio.gather(*(r.aclose() for r in resources), return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(self.exit_timeout)
        except Exception:
            if self._on_exit_failure is not None:
                self._on_exit_failure(resources)
