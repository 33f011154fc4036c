"""httpcore's network backend written on asyncio's own transports, for async provider requests.

httpcore reaches asyncio through anyio by default: every read and write of a request opens a
cancel scope and asks sniffio which library runs, about a quarter of the client's CPU per request
on loopback (bench/run.py). agentkit runs only on asyncio, so :class:`AsyncioBackend` talks to
asyncio directly: a small :class:`asyncio.Protocol` buffers what arrives, and reads wait on one
future. It keeps what httpcore's anyio backend does: timeouts raised as httpcore's
``*Timeout`` errors, connection failures as its ``*Error`` errors, TCP_NODELAY (asyncio sets it),
TLS through ``loop.start_tls``, happy eyeballs when a name resolves to several addresses, and
``is_readable`` telling the pool that an idle keep-alive connection was closed by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore

__all__ = ["AsyncioBackend"]

#: Reading pauses while this much arrived unread (the peer waits; nothing is lost).
_HIGH_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    """What arrived on one connection, and the wait for more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # HTTP/1.1 never half-closes: let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake()
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            if exc is None:
                drain.set_result(None)
            else:
                drain.set_exception(exc)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def read(self, max_bytes: int) -> bytes:
        while not self._buffer:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if len(self._buffer) <= max_bytes:
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            data = bytes(self._buffer[:max_bytes])
            del self._buffer[:max_bytes]
        if self._reading_paused and len(self._buffer) <= _HIGH_WATER // 4 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def drain(self) -> None:
        if self._error is not None:
            raise self._error
        if self._writing_paused:
            self._drain = self._loop.create_future()
            await self._drain

    def has_news(self) -> bool:
        """Whether something arrived or ended that a reader would see at once."""
        return bool(self._buffer) or self._eof


def _readable(sock: Any) -> bool:
    """Whether ``sock`` has something to read now (a socket that is gone counts: its read is ``b""``)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poll = select.poll()  # not select(): it fails on descriptors above 1023
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


@contextlib.contextmanager
def _mapped(timeout: type[Exception], error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timeout(str(exc) or type(exc).__name__) from exc
    except (OSError, EOFError) as exc:  # ssl.SSLError is an OSError
        raise error(str(exc) or type(exc).__name__) from exc


class _Stream(httpcore.AsyncNetworkStream):
    __slots__ = ("_protocol",)

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if protocol._buffer:  # already here: no wait, no timer
            return await protocol.read(max_bytes)
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await protocol.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        transport = protocol.transport
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            if protocol._error is not None:
                raise protocol._error
            if transport is None or transport.is_closing():
                raise ConnectionResetError("the connection is closed")
            transport.write(buffer)
            if protocol._writing_paused:
                async with asyncio.timeout(timeout):
                    await protocol.drain()

    async def aclose(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        protocol = self._protocol
        loop = asyncio.get_running_loop()
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                async with asyncio.timeout(timeout):
                    transport = await loop.start_tls(
                        protocol.transport,  # type: ignore[arg-type]
                        protocol,
                        ssl_context,
                        server_hostname=server_hostname,
                    )
        except BaseException:
            await self.aclose()
            raise
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        protocol.transport = transport  # type: ignore[assignment]
        return self

    def get_extra_info(self, info: str) -> Any:
        transport = self._protocol.transport
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # An idle connection that has anything to read was closed (or spoken to) by the server:
            # what the protocol holds, or what the kernel holds that the loop has not delivered yet.
            if self._protocol.has_news() or transport.is_closing():
                return True
            return _readable(transport.get_extra_info("socket"))
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio's transports (see the module's docs)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                _transport, protocol = await loop.create_connection(
                    lambda: _Protocol(loop),
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,  # as anyio (and RFC 8305) do
                )
        return self._configured(protocol, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                _transport, protocol = await loop.create_unix_connection(lambda: _Protocol(loop), path)
        return self._configured(protocol, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    def _configured(protocol: _Protocol, socket_options: Iterable[Any] | None) -> _Stream:
        if socket_options:
            assert protocol.transport is not None
            sock = protocol.transport.get_extra_info("socket")
            for option in socket_options:
                sock.setsockopt(*option)
        return _Stream(protocol)
