"""web_fetch when the network misbehaves: the model is told what happened, in words.

Real servers on 127.0.0.1: the loopback HTTP server for chunked bodies that stall or are
cut, and a raw TCP server for what HTTP servers do not do on purpose (a body shorter than its
Content-Length, a reset, no answer at all). Loopback is allowed per test, explicitly
(``allow_private_hosts=True``); the refusal without it is tested in test_web_fetch.py and again
here, so these tests cannot pass by a global bypass.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Agent, ToolMessage
from agentkit.errors import ToolError
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.testing.servers import Cut, LoopbackServer, Pause, Reply
from agentkit_web import web_tools
from agentkit_web.fetch import fetch
from agentkit_web.settings import WebSettings

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"


class RawServer:
    """A TCP server on 127.0.0.1: for each connection it reads the request, then plays ``script``
    (bytes are sent, a number sleeps, ``"close"`` closes, ``"reset"`` closes with a TCP RST)."""

    def __init__(self, *script: bytes | float | str) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/doc.txt"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                for step in self.script:
                    if isinstance(step, bytes):
                        conn.sendall(step)
                    elif isinstance(step, float | int):
                        self.done.wait(step)
                    elif step == "reset":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        break
                    elif step == "close":
                        break

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.sock.close()


def loopback(**settings: Any) -> WebSettings:
    return WebSettings(allow_private_hosts=True, **settings)


async def test_without_the_explicit_allowance_loopback_is_refused() -> None:
    with RawServer(HEAD, b"x" * 1000) as server, pytest.raises(ToolError, match="refusing to fetch"):
        await fetch(server.url, WebSettings())


async def test_a_body_that_stalls_says_it_timed_out_reading_it() -> None:
    stalled = Reply(200, headers={"content-type": "text/plain"}, chunks=[b"hello", Pause(10)])
    with LoopbackServer([stalled]) as server:
        url = server.url + "/slow"
        started = time.monotonic()
        with pytest.raises(ToolError) as info:
            await fetch(url, loopback(read_timeout=0.5))
    assert str(info.value) == (
        f"timed out reading the body of {url}: no data for 0.5 s (read_timeout) after 5 bytes; "
        "the server stopped sending"
    )
    assert time.monotonic() - started < 8


async def test_a_chunked_body_cut_short_says_the_connection_was_closed() -> None:
    cut = Reply(200, headers={"content-type": "text/plain"}, chunks=[b"hello", Pause(0.05), Cut()])
    with LoopbackServer([cut]) as server:
        url = server.url + "/cut"
        with pytest.raises(ToolError) as info:
            await fetch(url, loopback())
    assert str(info.value).startswith(
        f"the connection was closed before the body of {url} was complete (after 5 bytes): "
    )


async def test_a_body_shorter_than_its_content_length_says_how_much_came() -> None:
    with RawServer(HEAD, b"0123456789", "close") as server, pytest.raises(ToolError) as info:
        await fetch(server.url, loopback())
    assert str(info.value) == (
        f"the connection was closed before the body of {server.url} was complete (after 10 bytes of 1,000): "
        "peer closed connection without sending complete message body (received 10 bytes, expected 1000)"
    )


async def test_a_reset_mid_body_says_the_connection_broke() -> None:
    with RawServer(HEAD, b"0123456789", 0.2, "reset") as server, pytest.raises(ToolError) as info:
        await fetch(server.url, loopback())
    message = str(info.value)
    assert message.startswith(
        f"the connection was broken while reading the body of {server.url} (after 10 bytes of 1,000): "
    )
    assert "reset" in message.lower()


async def test_no_answer_at_all_says_so() -> None:
    with RawServer(10.0) as server, pytest.raises(ToolError) as info:
        await fetch(server.url, loopback(read_timeout=0.5))
    assert (
        str(info.value) == "127.0.0.1 accepted the connection but sent no answer within 0.5 s (read_timeout)"
    )


async def test_a_connection_closed_without_an_answer_says_so() -> None:
    with RawServer("close") as server, pytest.raises(ToolError) as info:
        await fetch(server.url, loopback())
    assert str(info.value) == (
        "127.0.0.1 closed the connection without a valid answer (Server disconnected without sending a response.)"
    )


async def test_a_refused_connection_says_so() -> None:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ToolError) as info:
        await fetch(f"http://127.0.0.1:{port}/", loopback())
    assert str(info.value) == "could not connect to 127.0.0.1 (Connection refused)"


@pytest.fixture
def stalled_server() -> Iterator[str]:
    with RawServer(HEAD, b"first part", 10.0) as server:
        yield server.url


async def test_the_model_reads_what_happened(stalled_server: str) -> None:
    tools = web_tools(allow_private_hosts=True, read_timeout=0.5)
    script = [tool_calls(("web_fetch", {"url": stalled_server})), "ok"]
    agent = Agent("scripted/x", provider=ScriptedProvider(script), tools=tools)
    result = await agent.arun("read it")
    answer = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert answer.is_error
    assert answer.content == (
        f"Error: ToolError: timed out reading the body of {stalled_server}: no data for 0.5 s (read_timeout) "
        "after 10 bytes of 1,000; the server stopped sending"
    )
