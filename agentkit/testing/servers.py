"""A real HTTP server on 127.0.0.1 for tests: scripted replies, streamed bodies, faults.

::

    def handler(request: RecordedRequest) -> Reply:
        return Reply(200, chunks=[b"data: {}\\n\\n", Pause(0.1), Cut()])

    with LoopbackServer(handler) as server:
        httpx.get(server.url + "/v1/x")
        assert server.requests[0].path == "/v1/x"

A body given as ``chunks`` is sent with chunked transfer encoding, each chunk flushed as
it is written, so a client sees it arrive piece by piece. ``Pause`` sleeps between chunks
(a slow trickle), ``Cut`` closes the socket at once (a connection cut mid-stream).

``server.in_flight`` counts the requests being answered right now (from the moment one was
read to the moment its reply was written) and ``server.max_in_flight`` the most there ever
were at once: how a test checks, at the server, a client's bound on concurrent requests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = ["Cut", "LoopbackServer", "Pause", "RecordedRequest", "Reply", "json_reply"]


@attrs.frozen
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client: str = ""  # the peer's "host:port": one value per connection (keep-alive shows as repeats)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@attrs.frozen
class Pause:
    """Sleep this many seconds before the next chunk."""

    seconds: float


@attrs.frozen
class Cut:
    """Close the connection abruptly, mid-response."""


@attrs.frozen
class Reply:
    """What the server answers: status, headers, and a body or a sequence of chunks."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = attrs.field(factory=dict)
    chunks: Sequence[bytes | str | Pause | Cut] | Iterable[bytes | str | Pause | Cut] | None = None


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON body reply."""
    return Reply(status, json.dumps(data).encode(), {"content-type": "application/json", **(headers or {})})


Handler = Callable[[RecordedRequest], Reply]


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (a free port) answering through ``handler``.

    ``handler`` may also be a list of replies, answered in order (the last one repeats).
    """

    def __init__(self, handler: Handler | Sequence[Reply], host: str = "127.0.0.1") -> None:
        if not callable(handler):
            replies = list(handler)

            def scripted(_request: RecordedRequest) -> Reply:
                with self._lock:
                    return replies.pop(0) if len(replies) > 1 else replies[0]

            handler = scripted
        self.handler: Handler = handler
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> LoopbackServer:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    f"{self.client_address[0]}:{self.client_address[1]}",
                )
                with outer._lock:
                    outer.requests.append(request)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    try:
                        reply = outer.handler(request)
                    except Exception as exc:  # a test handler bug: answer 599 so the test sees it
                        reply = Reply(599, f"handler failed: {exc!r}".encode())
                    self._send(reply)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                for chunk in reply.chunks:
                    if isinstance(chunk, Pause):
                        time.sleep(chunk.seconds)
                        continue
                    if isinstance(chunk, Cut):
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    data = chunk.encode() if isinstance(chunk, str) else chunk
                    if not data:
                        continue
                    try:
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                try:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128  # many clients connecting at once (batch jobs, load tests)

            def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client hang-ups
                pass

        self._server = _Server((self._host, 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
