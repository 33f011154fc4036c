"""A connection dropped at the worst moment: after the server committed, before the client heard.

A TCP proxy on 127.0.0.1 sits between the store and a real server. Armed with a marker, it
lets the client's message holding it through, then cuts both connections as soon as the
server answers: the write is committed, and the store only sees its connection die. The
store must then find out, on a new connection, that the write got in: the turn is stored
once, and the call succeeds.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agentkit.messages import AssistantMessage, UserMessage
from agentkit_postgres import PostgresStore
from agentkit_postgres.testing import PASSWORD, PostgresServer


class CuttingProxy:
    """Forwards 127.0.0.1:port to the server; ``arm(marker)`` cuts the connection that sends
    ``marker`` once the server answers it (once)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.marker: bytes | None = None
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, marker: bytes) -> None:
        with self._lock:
            self.marker = marker

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            armed = threading.Event()
            threading.Thread(target=self._pipe, args=(client, server, armed, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, armed, False), daemon=True).start()

    def _pipe(
        self, source: socket.socket, sink: socket.socket, armed: threading.Event, upstream: bool
    ) -> None:
        try:
            while data := source.recv(65536):
                if upstream:
                    with self._lock:
                        if self.marker is not None and self.marker in data:
                            self.marker = None
                            armed.set()
                elif armed.is_set():  # the server's answer to the armed message: never delivered
                    with self._lock:
                        self.cuts += 1
                    for s in (source, sink):
                        s.shutdown(socket.SHUT_RDWR)
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop = True
        self.listener.close()
        for s in self._sockets:
            s.close()


@pytest.fixture
def proxy(pg_server: PostgresServer) -> Iterator[CuttingProxy]:
    cutter = CuttingProxy(pg_server.port)
    try:
        yield cutter
    finally:
        cutter.close()


TURN = [UserMessage("question"), AssistantMessage("answer")]


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("one statement (the session as this store saw it)", b"WITH seen AS"),
        ("locked transaction (another store wrote first)", b"COMMIT"),
    ],
)
async def test_a_commit_whose_answer_is_lost_is_stored_once_and_reported_done(
    proxy: CuttingProxy, pg_server: PostgresServer, schema: str, path: str, marker: bytes
) -> None:
    dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{proxy.port}/postgres"
    store, other = PostgresStore(dsn, schema=schema), PostgresStore(pg_server.dsn(), schema=schema)
    try:
        await store.create_session("s")
        await store.append_turn("s", TURN)
        if marker == b"COMMIT":
            await other.append_turn("s", TURN)  # so the store's next append takes the locked path
        proxy.arm(marker)
        info = await store.append_turn("s", [UserMessage("the one that matters"), AssistantMessage("ok")])
        assert proxy.cuts == 1  # the answer was cut...
        texts = [m.text for m in await other.read_messages("s")]
        assert texts.count("the one that matters") == 1  # ...the turn is there, once
        assert info.message_count == len(texts) == (8 if marker == b"COMMIT" else 6) - 2
        await store.append_turn("s", TURN)  # and the store goes on
        assert (await other.get_session("s")).message_count == info.message_count + 2
    finally:
        await store.aclose()
        await other.aclose()
