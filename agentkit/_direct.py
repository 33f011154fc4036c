"""Provider requests without httpx's client layer on every request.

A provider sends the same few requests again and again: the same method, URL and headers, only
the JSON body changes. httpx's client layer (URL merging and parsing, header merging, cookie
handling, auth and redirect steps, response wrapping) gives the same result every time, and
costs about as much CPU per request as the socket work on loopback (bench/run.py). So
:class:`DirectSender` has the client build a (method, path)'s request once, keeps its URL and
headers, and sends later requests straight to the client's connection pool with a new body.

Two pools are driven this way: :class:`PoolTransport` (httpcore's asyncio pool, for async
runs: one per event loop) and :class:`~agentkit._blocking.BlockingTransport` (blocking I/O for
synchronous runs). A client built with a transport given by the caller (tests, a proxy over
SOCKS) is used the ordinary way. What would make a request differ from its template falls back
to the client: cookies in its jar (a ``Set-Cookie`` answer is still stored, as httpx does).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx

from ._asyncio_net import AsyncioBackend
from ._blocking import BlockingTransport, _Body, _mapped, core_request, core_url, pool_options

__all__ = ["DirectSender", "PoolTransport"]


class PoolTransport(httpx.AsyncBaseTransport):
    """httpx's default async transport, reduced to what providers use (HTTP/1.1, a pool, an
    ``http://``/``https://`` proxy or none), with its pool reachable by :class:`DirectSender`,
    on asyncio's own transports (:mod:`agentkit._asyncio_net`) rather than through anyio."""

    def __init__(self, *, limits: httpx.Limits, proxy: str | None = None) -> None:
        common = pool_options(limits, AsyncioBackend())
        self.pool: httpcore.AsyncConnectionPool = (
            httpcore.AsyncConnectionPool(**common)
            if proxy is None
            else httpcore.AsyncHTTPProxy(proxy_url=proxy, **common)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _mapped():
            answer = await self.pool.handle_async_request(core_request(request))
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_AsyncBody(answer.stream),  # type: ignore[arg-type]
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


class DirectSender:
    """What ``client.send(client.build_request(method, path, json=body), stream=True)`` does for
    a client over a :class:`PoolTransport` (:meth:`asend`) or a
    :class:`~agentkit._blocking.BlockingTransport` (:meth:`send`), without the client layer.
    """

    __slots__ = ("_client", "_extensions", "_templates", "_transport", "blocking")

    def __init__(self, client: httpx.AsyncClient, transport: PoolTransport | BlockingTransport) -> None:
        self._client = client
        self._transport = transport
        self._templates: dict[tuple[str, str], tuple[httpx.Request, httpcore.URL, list[tuple[bytes, bytes]]]] = {}
        self._extensions: dict[str, Any] | None = None
        #: Whether :meth:`send` (blocking I/O) is the one to call, rather than :meth:`asend`.
        self.blocking = isinstance(transport, BlockingTransport)

    def usable(self) -> bool:
        """Whether a request can skip the client (no cookie to send)."""
        return not self._client.cookies

    def send(self, method: str, path: str, json_body: Any) -> httpx.Response:
        """Send over the blocking pool (a synchronous run's loop)."""
        request, core = self._request(method, path, json_body)
        assert isinstance(self._transport, BlockingTransport)
        with _mapped():
            answer = self._transport._current_pool().handle_request(core)
        return self._response(request, answer, _Body(answer.stream))  # type: ignore[arg-type]

    async def asend(self, method: str, path: str, json_body: Any) -> httpx.Response:
        """Send over the asyncio pool."""
        request, core = self._request(method, path, json_body)
        assert isinstance(self._transport, PoolTransport)
        with _mapped():
            answer = await self._transport.pool.handle_async_request(core)
        return self._response(request, answer, _AsyncBody(answer.stream))  # type: ignore[arg-type]

    def _request(self, method: str, path: str, json_body: Any) -> tuple[httpx.Request, httpcore.Request]:
        template = self._templates.get((method, path))
        if template is None:
            template = self._template(method, path)
        request, url, headers = template
        # httpx's own JSON encoding (httpx._content.encode_json), so the bytes are the same
        body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        core = httpcore.Request(
            method=request.method.encode(),
            url=url,
            headers=[*headers, (b"Content-Length", str(len(body)).encode())],
            content=body,
            extensions=self._extensions,
        )
        return request, core

    def _response(self, request: httpx.Request, answer: httpcore.Response, stream: Any) -> httpx.Response:
        response = httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=stream,
            extensions=answer.extensions,
            request=request,
        )
        if "set-cookie" in response.headers:
            self._client.cookies.extract_cookies(response)
        return response

    def _template(self, method: str, path: str) -> tuple[httpx.Request, httpcore.URL, list[tuple[bytes, bytes]]]:
        if len(self._templates) >= 64:  # paths naming models, say: keep a bounded few
            self._templates.clear()
        request = self._client.build_request(method, path, json={})
        if self._extensions is None:
            self._extensions = dict(request.extensions)
        url = core_url(request.url)
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in (b"content-length", b"cookie")]
        entry = self._templates[(method, path)] = (request, url, headers)
        return entry


class _AsyncBody(httpx.AsyncByteStream):
    """httpcore's async response stream as httpx's, with httpcore's errors as httpx's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        iterator = self._stream.__aiter__()
        while True:
            try:
                with _mapped():
                    chunk = await iterator.__anext__()
            except StopAsyncIteration:
                return
            yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._stream.aclose()
