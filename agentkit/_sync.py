"""Synchronous wrappers around async code that also work inside a running event loop.

``agent.run()`` and ``agent.stream()`` are the async methods driven to completion. Each
thread keeps one event loop for its synchronous calls (made on first use, closed when the
thread ends or at exit), so a loop of ``agent.run()`` calls does not build a loop, an
executor and an HTTP client each time. That loop serves one call at a time and nothing else,
so HTTP clients may block it (:mod:`agentkit._blocking`): the connection pool of synchronous
runs belongs to the provider's client and outlives every loop.

In Jupyter (or any code already inside a running loop) that loop cannot be re-entered, so the
call runs on a helper thread with a loop of its own while the caller waits; context variables
are carried over, and Ctrl-C in the caller cancels the call. A synchronous stream gets a loop
of its own, closed with the stream.

Ctrl-C during a call cancels it (a blocking read is cut at once) and raises
``KeyboardInterrupt`` once the call has unwound, as ``asyncio.run()`` does; a second Ctrl-C
raises at once. After ``fork()`` the child makes its own loop; the parent's is left alone.

A plugin may keep a connection in a thread's loop across its sync calls (:func:`sync_loop`,
:func:`keep_tasks`: an MCP server's session, so that each tool call takes no thread hop); its
tasks are cancelled when that loop closes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import logging
import os
import signal
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from . import _loop_marks

__all__ = ["blocked_loop", "iterate_sync", "keep_tasks", "release_tasks", "run_sync", "sync_loop"]

T = TypeVar("T")

log = logging.getLogger("agentkit.sync")

#: The event loop a sync call blocks while its work runs on a helper thread (Jupyter's), if any.
_BLOCKED: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "agentkit_blocked_loop", default=None
)


#: Tasks that outlive the sync call that started them (a connection kept in the thread's loop).
_RESIDENT: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def sync_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop if it is this thread's loop for synchronous calls (``agent.run()``):
    it lives as long as the thread and runs only during such calls. ``None`` elsewhere."""
    holder: _ThreadDriver | None = getattr(_local, "holder", None)
    if holder is None:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop if loop is holder.driver.loop else None


def keep_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Let ``tasks`` of a :func:`sync_loop` outlive the call that started them (a connection
    a plugin keeps there): they are not cancelled as its leftovers, only when the loop closes
    (the thread ends, or at exit). They run only while a later sync call runs the loop."""
    _RESIDENT.update(tasks)


def release_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Undo :func:`keep_tasks`: the next sync call cancels them if still pending at its end."""
    for task in tasks:
        _RESIDENT.discard(task)


def blocked_loop() -> asyncio.AbstractEventLoop | None:
    """The loop that waits, blocked, for the sync call this code runs in: work must not be
    sent to it (it would never run). ``None`` outside such a call."""
    return _BLOCKED.get()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Driver:
    """An event loop that runs one coroutine at a time to completion, in the calling thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        _loop_marks.mark_blocking(self.loop)
        self.pid = os.getpid()
        self._task: asyncio.Task[Any] | None = None

    def run(self, coro: Coroutine[Any, Any, T], *, cancel_leftovers: bool = True) -> T:
        """Run ``coro``; then cancel the tasks it left behind (as ``asyncio.run()`` would)."""
        loop = self.loop
        task = loop.create_task(coro)
        self._task = task
        interrupts = 0
        sigint = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        if sigint:

            def on_sigint(signum: int, frame: Any) -> None:
                nonlocal interrupts
                interrupts += 1
                if interrupts > 1 or task.done():
                    raise KeyboardInterrupt()
                task.cancel()
                _loop_marks.interrupt(loop)  # a blocking read does not see the cancel until it returns
                loop.call_soon_threadsafe(lambda: None)

            signal.signal(signal.SIGINT, on_sigint)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupts and task.uncancel() == 0:
                raise KeyboardInterrupt() from None
            raise
        except BaseException:
            cancel_leftovers = True  # a second Ctrl-C left the call half done: unwind it now
            raise
        finally:
            self._task = None
            if sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            if cancel_leftovers:
                self._cancel_leftovers()

    def cancel(self) -> None:
        """Cancel the call in progress, from another thread (its blocking read included)."""
        task = self._task
        if task is None:
            return
        try:
            self.loop.call_soon_threadsafe(task.cancel)
        except RuntimeError:  # the loop has closed: the call is over
            return
        _loop_marks.interrupt(self.loop)

    def _cancel_leftovers(self, *, residents: bool = False) -> None:
        loop = self.loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done() and (residents or t not in _RESIDENT)]
        if not pending:
            return
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        for task in pending:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {"message": "unhandled exception in a task left by a synchronous call",
                     "exception": task.exception(), "task": task}
                )

    def close(self, *, graceful: bool = True) -> None:
        loop = self.loop
        if loop.is_closed() or loop.is_running() or self.pid != os.getpid():
            return
        try:
            if graceful:
                self._cancel_leftovers(residents=True)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


class _ThreadDriver:
    """The driver of one thread, closed (without running its loop again) when the thread ends."""

    def __init__(self) -> None:
        self.driver = _Driver()

    def __del__(self) -> None:
        try:
            self.driver.close(graceful=False)
        except Exception:  # pragma: no cover - a dying thread has no one to tell
            pass


_local = threading.local()
_forked: list[_ThreadDriver] = []  # a parent's drivers seen in a forked child: kept, never used


def _thread_driver() -> _Driver:
    holder: _ThreadDriver | None = getattr(_local, "holder", None)
    if holder is None or holder.driver.pid != os.getpid():
        if holder is not None:
            _forked.append(holder)
        holder = _local.holder = _ThreadDriver()
    return holder.driver


@atexit.register
def _close_main_driver() -> None:
    holder: _ThreadDriver | None = getattr(_local, "holder", None)
    if holder is not None and threading.current_thread() is threading.main_thread():
        _local.holder = None
        try:
            holder.driver.close()
        except Exception as exc:  # pragma: no cover - at exit there is nothing left to do
            log.debug("closing the main thread's loop failed: %s", exc)


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` to completion and return its result (or raise)."""
    if not _loop_running():
        return _thread_driver().run(factory())
    outcome: list[Any] = []
    context = contextvars.copy_context()
    context.run(_BLOCKED.set, asyncio.get_running_loop())
    driver: list[_Driver] = []

    def work() -> None:
        own = _Driver()
        driver.append(own)
        try:
            outcome.append((True, context.run(own.run, factory())))
        except BaseException as exc:
            outcome.append((False, exc))
        finally:
            own.close()

    thread = threading.Thread(target=work, name="agentkit-sync", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:  # Ctrl-C in the waiting caller: cancel the call, then let it unwind
        if driver:
            driver[0].cancel()
        thread.join()
        raise
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


class _LoopThread:
    """An event loop running forever on a helper thread (a sync stream inside a running loop).

    The caller's loop is blocked while each step runs: :func:`blocked_loop` tells the steps so."""

    def __init__(self) -> None:
        self.blocked = asyncio.get_running_loop()
        self.loop = asyncio.new_event_loop()
        _loop_marks.mark_blocking(self.loop)
        self.thread = threading.Thread(target=self.loop.run_forever, name="agentkit-stream", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], **_options: Any) -> T:
        context = contextvars.copy_context()
        context.run(_BLOCKED.set, self.blocked)
        future = context.run(asyncio.run_coroutine_threadsafe, coro, self.loop)
        try:
            return future.result()
        except BaseException:
            if not future.done():  # Ctrl-C in the caller: cancel the step, its blocking read too
                self.loop.call_soon_threadsafe(future.cancel)
                _loop_marks.interrupt(self.loop)
            raise

    def close(self) -> None:
        try:
            self.run(self.loop.shutdown_asyncgens())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


def iterate_sync(factory: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Iterate the async iterator ``factory()`` from synchronous code.

    Leaving the ``for`` loop early (or closing the iterator) closes the async iterator too,
    which lets it cancel whatever it was running.
    """
    runner: Any = _LoopThread() if _loop_running() else _Driver()
    iterator = factory()
    finished = False
    try:
        while True:
            try:
                item = runner.run(_anext(iterator), cancel_leftovers=False)
            except StopAsyncIteration:
                finished = True
                return
            yield item
    finally:
        try:
            if not finished:
                runner.run(_aclose(iterator), cancel_leftovers=False)
        finally:
            runner.close()


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
