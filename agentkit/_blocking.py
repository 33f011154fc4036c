"""Blocking HTTP for synchronous runs: a connection pool kept across runs and threads.

``agent.run()`` drives the agent's coroutine on an event loop that serves that one call and
nothing else (:mod:`agentkit._sync` marks such loops). There, a provider's HTTP need not be
asyncio I/O: :class:`BlockingTransport` sends it over plain sockets from httpcore's
thread-safe pool, which is what a synchronous ``httpx.Client`` does and about twice as fast
as asyncio I/O through anyio. The pool belongs to the :class:`~agentkit.http.HttpClient`, not
to a loop, so connections (and the TLS context) live from one sync run to the next and are
shared by every thread.

What the event loop would have given, done here instead (the loop marks, deadlines and
interruptions themselves live in :mod:`agentkit._loop_marks`, which imports no HTTP library):

- **deadlines**: :func:`wait_until` (called by the HTTP layer's watchdog for each wait: the
  first byte, each idle read, the total deadline) sets how long the next socket read may
  block;
- **cancellation**: a blocked read cannot see ``task.cancel()`` (the loop is not running), so
  :func:`interrupt` (``agent.abort()`` from another thread, Ctrl-C) shuts the socket of the
  read in progress on that loop, and the read raises ``CancelledError`` in its task;
- **fork safety**: a pool used in a process other than the one that made it is set aside
  unused (its sockets belong to the parent) and a new one is made.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore
import httpx

from ._loop_marks import (
    _CANCELLED,
    _READING,
    _WAIT_END,
    interrupt,
    is_blocking_loop,
    mark_blocking,
    wait_until,
)

__all__ = ["BlockingTransport", "interrupt", "is_blocking_loop", "mark_blocking", "shared_ssl_context", "wait_until"]

#: Pools set aside after a fork: never used, never closed (their sockets are the parent's).
_ORPHANS: list[Any] = []

_ssl_lock = threading.Lock()
_ssl: tuple[int, ssl.SSLContext] | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process (building one costs ~30 ms and ~1 MB)."""
    global _ssl
    entry = _ssl
    if entry is None or entry[0] != os.getpid():
        with _ssl_lock:
            entry = _ssl
            if entry is None or entry[0] != os.getpid():
                entry = _ssl = (os.getpid(), httpx.create_ssl_context())
    return entry[1]


# -- the network backend: httpcore's, with deadlines and interruption ------------------------------


class _Stream(httpcore.NetworkStream):
    __slots__ = ("_inner", "interrupted", "socket", "task")

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.socket: socket.socket = inner.get_extra_info("socket")
        self.interrupted = False
        self.task: asyncio.Task[Any] | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        end = _WAIT_END.get()
        if end is not None:
            timeout = max(0.0, end - time.monotonic())
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self._inner.read(max_bytes, timeout)
        task = asyncio.current_task(loop)
        if task is not None and task in _CANCELLED:
            _CANCELLED.discard(task)
            raise asyncio.CancelledError()
        self.task = task
        _READING[loop] = self
        try:
            if self.interrupted:
                raise asyncio.CancelledError()
            data = self._inner.read(max_bytes, timeout)
        except httpcore.NetworkError:
            if self.interrupted:
                raise asyncio.CancelledError() from None
            raise
        finally:
            if _READING.get(loop) is self:
                del _READING[loop]
            self.task = None
        if self.interrupted:
            raise asyncio.CancelledError()
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# -- httpx's request as httpcore's, and the pools' options ---------------------------------------


def core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


def core_request(request: httpx.Request) -> httpcore.Request:
    """``request`` as httpcore's transports take it (what httpx's own transports do)."""
    return httpcore.Request(
        method=request.method,
        url=core_url(request.url),
        headers=request.headers.raw,
        content=request.stream,  # type: ignore[arg-type]  # httpx's streams iterate both ways
        extensions=request.extensions,
    )


def pool_options(limits: httpx.Limits, network_backend: Any) -> dict[str, Any]:
    """The keyword arguments of an httpcore pool (or HTTP proxy) under ``limits``."""
    return {
        "ssl_context": shared_ssl_context(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
        "network_backend": network_backend,
    }


# -- the transport ------------------------------------------------------------------------------


class BlockingTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that does blocking I/O on a thread-safe connection pool.

    Only for loops marked with :func:`mark_blocking`. ``proxy`` is an ``http://`` or
    ``https://`` proxy URL, or ``None``.
    """

    def __init__(self, *, limits: httpx.Limits, proxy: str | None = None) -> None:
        self._limits = limits
        self._proxy = proxy
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._pool = self._new_pool()

    def _new_pool(self) -> httpcore.ConnectionPool:
        common = pool_options(self._limits, _Backend())
        if self._proxy is None:
            return httpcore.ConnectionPool(**common)
        return httpcore.HTTPProxy(proxy_url=self._proxy, **common)

    def _current_pool(self) -> httpcore.ConnectionPool:
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            with self._lock:
                if self._pid != os.getpid():
                    _ORPHANS.append(self._pool)
                    self._pool = self._new_pool()
                    self._pid = os.getpid()
        return self._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _mapped():
            response = self._current_pool().handle_request(core_request(request))
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close the pool's connections (the transport stays usable: it reconnects)."""
        with self._lock:
            pool = self._pool
        if self._pid == os.getpid():
            pool.close()

    async def aclose(self) -> None:
        self.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        iterator = iter(self._stream)
        while True:
            with _mapped():
                chunk = next(iterator, None)
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            with _mapped():
                close()


_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


class _mapped:
    """httpcore's exceptions as httpx's (most specific first), as httpx's own transports do."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or not isinstance(exc, Exception):
            return
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
