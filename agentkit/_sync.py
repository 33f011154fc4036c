"""Synchronous wrappers around async code that also work inside a running event loop.

``agent.run()`` and ``agent.stream()`` are the async methods driven to completion. In a
plain script that is ``asyncio.Runner`` in the calling thread. In Jupyter (or any code
already inside a running loop) that loop cannot be re-entered, so the work runs on a helper
thread with its own loop while the caller waits; context variables are carried over.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_sync", "run_sync"]

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` to completion and return its result (or raise)."""
    if not _loop_running():
        with asyncio.Runner() as runner:
            return runner.run(factory())
    outcome: list[Any] = []
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.append((True, context.run(asyncio.run, factory())))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=work, name="agentkit-sync", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


class _LoopThread:
    """An event loop running forever on a helper thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._context = contextvars.copy_context()
        self.thread = threading.Thread(target=self.loop.run_forever, name="agentkit-stream", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

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
    runner: Any = _LoopThread() if _loop_running() else asyncio.Runner()
    iterator = factory()
    finished = False
    try:
        while True:
            try:
                item = runner.run(_anext(iterator))
            except StopAsyncIteration:
                finished = True
                return
            yield item
    finally:
        try:
            if not finished:
                runner.run(_aclose(iterator))
        finally:
            runner.close()


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
