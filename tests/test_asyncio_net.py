"""agentkit/_asyncio_net.py, httpcore's network backend on asyncio's transports, under what real
servers do: TLS with a private CA (``SSL_CERT_FILE``) and a certificate the client must refuse,
an idle keep-alive connection the server closed, bodies larger than the read buffer both ways,
an answer cut short, and a connection that stalls.

Real servers on 127.0.0.1 started by the tests (plain sockets, and TLS with certificates from
``trustme``); the HTTP client is not patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from agentkit.errors import IncompleteStreamError, ProviderTimeoutError
from agentkit.http import HttpClient, HttpSettings
from agentkit.testing.servers import Cut, LoopbackServer, RecordedRequest, Reply, json_reply

NO_RETRY = HttpSettings(max_retries=0)


def client(url: str, settings: HttpSettings = NO_RETRY) -> HttpClient:
    return HttpClient(provider="openai", base_url=url, headers={"authorization": "Bearer sk-net-0123456789"}, settings=settings)


async def post_all(http: HttpClient, bodies: list[Any], pause: float = 0.0) -> list[Any]:
    answers = []
    try:
        for body in bodies:
            answers.append(await http.request_json("POST", "/echo", json_body=body))
            await asyncio.sleep(pause)
    finally:
        await http.aclose()
    return answers


# -- TLS --------------------------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.peers.append(self.client_address)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[tuple[str, list[Any]]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.peers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/v1", server.peers  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


TLS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from agentkit._sync import run_sync
    from agentkit.http import HttpClient, HttpSettings

    async def exchange():
        http = HttpClient(provider="openai", base_url=sys.argv[1], settings=HttpSettings(max_retries=0))
        try:
            return [await http.request_json("POST", "/echo", json_body={"n": n, "text": "é" * 70000}) for n in range(3)]
        finally:
            await http.aclose()

    for answers in (asyncio.run(exchange()), run_sync(exchange)):  # an async run, then a sync run
        assert [a["n"] for a in answers] == [0, 1, 2] and answers[0]["text"] == "é" * 70000
    print("ok")
    """
)


def run_client(url: str, cafile: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if cafile is not None:
        env["SSL_CERT_FILE"] = str(cafile)
    return subprocess.run(
        [sys.executable, "-c", TLS_SCRIPT, url], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_tls_to_a_server_of_a_private_ca_named_by_ssl_cert_file(
    ca: trustme.CA, tls_server: tuple[str, list[Any]], tmp_path: Path
) -> None:
    url, peers = tls_server
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    done = run_client(url, cafile)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
    # each run's three requests went over one TLS connection, kept alive
    assert len(peers) == 6 and len({peer for peer in peers[:3]}) == 1 and len(set(peers[3:])) == 1


def test_a_certificate_the_client_cannot_verify_is_refused_with_a_clear_error(
    tls_server: tuple[str, list[Any]],
) -> None:
    url, peers = tls_server
    done = run_client(url, None)  # the server's CA is not trusted
    assert done.returncode != 0
    assert "ProviderConnectionError" in done.stderr and "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert f"cannot connect to {url}" in done.stderr
    assert peers == []


# -- plain sockets ------------------------------------------------------------------------------


def serve_raw(handle: Callable[[socket.socket], None]) -> tuple[str, list[socket.socket], Callable[[], None]]:
    """A server on 127.0.0.1 handing each accepted connection to ``handle`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/v1", accepted, listener.close


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += conn.recv(65536)
    return body


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    """A server that closes keep-alive connections after each answer (without saying so): the
    next request must see the close and connect again, not fail (retries are off here)."""

    def one_answer_then_close(conn: socket.socket) -> None:
        body = read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        conn.close()

    url, accepted, stop = serve_raw(one_answer_then_close)
    try:
        answers = asyncio.run(post_all(client(url), [{"n": 1}, {"n": 2}, {"n": 3}], pause=0.2))
    finally:
        stop()
    assert answers == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert len(accepted) == 3


def test_bodies_larger_than_the_read_buffer_both_ways() -> None:
    def echo(request: RecordedRequest) -> Reply:
        return json_reply(request.json())

    big = {"text": "x" * 3_000_000, "list": list(range(100_000))}
    with LoopbackServer(echo) as server:
        answers = asyncio.run(post_all(client(server.url + "/v1"), [big, {"small": True}]))
    assert answers == [big, {"small": True}]


def test_an_answer_cut_short_is_an_incomplete_stream() -> None:
    cut = Reply(200, headers={"content-type": "application/json", "content-length": "500"}, chunks=[b'{"a": ', Cut()])
    with LoopbackServer([cut]) as server, pytest.raises(IncompleteStreamError):
        asyncio.run(post_all(client(server.url + "/v1"), [{}]))


def test_a_server_that_never_answers_times_out() -> None:
    def silent(conn: socket.socket) -> None:
        read_request(conn)
        threading.Event().wait(10)  # holds the connection open, says nothing

    url, _accepted, stop = serve_raw(silent)
    settings = HttpSettings(max_retries=0, first_byte_timeout=0.3, read_timeout=0.3, total_timeout=5)
    try:
        with pytest.raises(ProviderTimeoutError):
            asyncio.run(post_all(client(url, settings), [{}]))
    finally:
        stop()


def test_https_through_an_http_connect_proxy(
    ca: trustme.CA, tls_server: tuple[str, list[Any]], tmp_path: Path
) -> None:
    """``HTTPS_PROXY``: a CONNECT tunnel, then TLS to the server through it (start_tls on the
    tunnel's connection), in an async and a sync run."""
    tunnels: list[bytes] = []

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def tunnel(conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        request_line = head.split(b"\r\n", 1)[0]
        tunnels.append(request_line)
        host, port = request_line.split()[1].decode().rsplit(":", 1)
        with conn, socket.create_connection((host, int(port))) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            back = threading.Thread(target=pipe, args=(upstream, conn), daemon=True)
            back.start()
            pipe(conn, upstream)
            back.join(10)

    url, peers = tls_server
    proxy_url, _accepted, stop = serve_raw(tunnel)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("NO_PROXY", "ALL_PROXY", "HTTP_PROXY")}
    env.update(SSL_CERT_FILE=str(cafile), HTTPS_PROXY=proxy_url.removesuffix("/v1"))
    try:
        done = subprocess.run(
            [sys.executable, "-c", TLS_SCRIPT, url], capture_output=True, text=True, env=env, timeout=120, check=False
        )
    finally:
        stop()
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
    server = url.removeprefix("https://").removesuffix("/v1")
    assert tunnels == [f"CONNECT {server} HTTP/1.1".encode()] * 2  # one tunnel per run, kept alive
    assert len(peers) == 6
