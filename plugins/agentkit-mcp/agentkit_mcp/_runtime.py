"""The event loop MCP connections live in: one daemon thread per process, started on first use.

An MCP connection (a child process and the SDK's task groups, or an HTTP session) belongs to
one event loop for its whole life, while agentkit runs happen in many loops: each sync
``agent.run()`` has a loop of its own, async code has its own. So connections live here, and
callers reach them with :func:`call` (a coroutine run on this loop, awaited from theirs;
cancelling the caller cancels it, which makes the SDK send ``notifications/cancelled``).

A server entered with ``async with`` in the caller's own loop keeps its connection in that
loop instead, for the block's duration: calls from that loop then take no hop at all. So does
a server opened by sync runs (``agent.run()``), in their thread's loop for sync calls
(:func:`agentkit._sync.sync_loop`), until another loop uses it: it then moves here for good.

At interpreter exit every connection still open on the MCP loop is closed (stdin closed, then SIGTERM/SIGKILL
to the server's process group), so no child process outlives the program; a server still there
when that timed out is killed (SIGKILL to its process group). After ``fork()`` the child starts
an MCP loop of its own, and its servers start again there on first use (``MCPServer`` leaves the
parent's connections alone: closing them from the child would end them for the parent).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from agentkit._background import BackgroundLoop

__all__ = ["call", "call_soon_in", "on_runtime", "runtime_loop", "track"]

T = TypeVar("T")

#: Seconds the exit handler waits for connections to close (the SDK's own shutdown is bounded).
EXIT_TIMEOUT = 10.0


def _kill(connections: list[Any]) -> None:
    """At exit, a last resort when closing timed out: kill the servers' processes that are left
    (:meth:`agentkit_mcp._connection.Connection.kill`)."""
    for connection in connections:
        connection.kill()


_background = BackgroundLoop(
    "agentkit-mcp",
    label="the MCP loop",
    exit_timeout=EXIT_TIMEOUT,
    on_exit_failure=_kill,
    restart_after_fork=True,
)


def runtime_loop() -> asyncio.AbstractEventLoop:
    """The MCP loop, started on first call."""
    return _background.loop()


def on_runtime() -> bool:
    """Whether the caller runs on the MCP loop."""
    return _background.on_loop()


async def call(
    factory: Callable[[], Coroutine[Any, Any, T]], loop: asyncio.AbstractEventLoop | None = None
) -> T:
    """Run ``factory()`` on ``loop`` (default: the MCP loop) and await its result from the
    caller's loop: directly when that is the same loop, else across threads.

    Cancelling the caller cancels the work on the other loop (and waits for it to end).
    """
    caller = asyncio.get_running_loop()
    mcp_loop = loop if loop is not None else runtime_loop()
    if caller is mcp_loop:
        return await factory()
    if mcp_loop.is_closed() or not mcp_loop.is_running():
        raise RuntimeError("the event loop that holds this MCP connection is not running any more")
    from agentkit._sync import blocked_loop

    if mcp_loop is blocked_loop():
        raise RuntimeError(
            "this MCP server is open in the event loop that this synchronous call blocks "
            "(`async with` there): use `await agent.arun()` / `await server...` in that loop instead"
        )
    result: asyncio.Future[T] = caller.create_future()
    task_box: list[asyncio.Task[T]] = []
    context = contextvars.copy_context()

    def deliver(task: asyncio.Task[T]) -> None:  # on the caller's loop
        if result.done():
            return
        if task.cancelled():
            result.cancel()
        elif task.exception() is not None:
            result.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            result.set_result(task.result())

    def finished(task: asyncio.Task[T]) -> None:  # on the MCP loop
        try:
            caller.call_soon_threadsafe(deliver, task)
        except RuntimeError:  # the caller's loop is gone
            return
        # Hand the GIL to the caller's thread now: otherwise it may wait out a whole switch
        # interval (5 ms) while this loop goes on, which would dominate a tool call's cost.
        time.sleep(0)

    def start() -> None:  # on the MCP loop
        task = mcp_loop.create_task(factory(), context=context)
        task_box.append(task)
        task.add_done_callback(finished)

    mcp_loop.call_soon_threadsafe(start)
    try:
        return await asyncio.shield(result)
    except asyncio.CancelledError:
        if not result.done():  # the caller was cancelled: cancel the work, wait for it to end
            done = asyncio.Event()
            result.add_done_callback(lambda _: done.set())

            def cancel() -> None:
                if task_box:
                    task_box[0].cancel()
                else:  # not started yet: it is cancelled as soon as it starts
                    mcp_loop.call_soon(lambda: task_box and task_box[0].cancel())

            mcp_loop.call_soon_threadsafe(cancel)
            await done.wait()
        raise


def call_sync(factory: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
    """Run ``factory()`` on the MCP loop from synchronous code (not from the MCP loop itself)."""
    return _background.call_sync(factory, timeout)


def call_soon_in(
    loop: asyncio.AbstractEventLoop, context: contextvars.Context, factory: Callable[[], Awaitable[T]]
) -> concurrent.futures.Future[T]:
    """Run ``factory()`` as a task of ``loop`` (a caller's), inside ``context``; a future of it."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def start() -> None:
        async def run() -> T:
            return await factory()

        task = loop.create_task(run())

        def finish(t: asyncio.Task[T]) -> None:
            if t.cancelled():
                done.cancel()
            elif t.exception() is not None:
                done.set_exception(t.exception())  # type: ignore[arg-type]
            else:
                done.set_result(t.result())

        task.add_done_callback(finish)

    loop.call_soon_threadsafe(start, context=context)
    return done


def track(connection: Any) -> None:
    """Close ``connection`` (its ``aclose()``) at interpreter exit if it is still open then."""
    _background.track(connection)


def untrack(connection: Any) -> None:
    _background.untrack(connection)
