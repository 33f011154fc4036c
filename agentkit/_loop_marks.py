"""Which event loops may block, and cutting the blocking read in progress on one.

``agent.run()`` drives the agent's coroutine on an event loop that serves that one call and
nothing else (:mod:`agentkit._sync` marks such loops with :func:`mark_blocking`). There a
provider's HTTP may be blocking I/O (:mod:`agentkit._blocking`), and what the event loop would
have done is done here: :func:`wait_until` sets how long the next socket read may block, and
:func:`interrupt` (``agent.abort()`` from another thread, Ctrl-C) shuts the socket of the read
in progress so that it raises ``CancelledError`` in its task.

This module imports no HTTP library: the sync machinery needs these marks at import time, the
HTTP stack only once a provider sends a request.
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
import weakref
from typing import Any

__all__ = ["interrupt", "is_blocking_loop", "mark_blocking", "wait_until"]

#: Loops that serve one synchronous call, where blocking I/O is what the caller waits for anyway.
_BLOCKING: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
#: When the current wait (of the HTTP exchange running in this context) must be over.
_WAIT_END: contextvars.ContextVar[float | None] = contextvars.ContextVar("agentkit_wait_end", default=None)
#: The socket read in progress on each blocking loop (at most one: the loop is blocked in it);
#: a stream with ``socket``, ``task`` and ``interrupted`` (agentkit._blocking's).
_READING: dict[asyncio.AbstractEventLoop, Any] = {}
#: Tasks to cancel at their next blocking read (their cancel() is queued on a loop that is blocked).
_CANCELLED: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def mark_blocking(loop: asyncio.AbstractEventLoop) -> None:
    """``loop`` serves one synchronous call: HTTP clients may block it."""
    _BLOCKING.add(loop)


def is_blocking_loop(loop: asyncio.AbstractEventLoop) -> bool:
    return loop in _BLOCKING


def wait_until(expires: float | None) -> None:
    """The next socket reads of this context (task) must be over by ``expires`` (time.monotonic());
    ``None``: the transport's own read timeout applies."""
    _WAIT_END.set(expires)


def interrupt(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None = None) -> None:
    """Make the blocking read in progress on ``loop`` (if ``task`` is given: only the one of that
    task, or its next one) end at once with ``CancelledError``. Safe from any thread."""
    if task is not None:
        _CANCELLED.add(task)
    stream = _READING.get(loop)
    if stream is not None and (task is None or stream.task is task):
        stream.interrupted = True
        try:
            stream.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
