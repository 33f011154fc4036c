"""Bad DSNs, wrong passwords, unreachable or silent servers, busy pools, slow statements:
each a clear error naming host and database, never the password; the event loop never waits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
import traceback
from collections.abc import Iterator

import pytest

from agentkit.errors import AgentkitError, MemoryStoreError, StorageError
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.stores import open_store
from agentkit_postgres import PostgresMemory, PostgresStore
from agentkit_postgres.testing import PASSWORD, PostgresServer

SECRET = "S3cret-Pass_word!"  # a password that must never be seen


def everything_shown(exc: BaseException) -> str:
    """What a user or a log could ever see of an error: message, hint, repr, traceback, causes."""
    return "\n".join([str(exc), repr(exc), str(getattr(exc, "hint", "")), *traceback.format_exception(exc)])


def assert_never_shown(exc: BaseException, *secrets: str) -> None:
    shown = everything_shown(exc)
    for secret in secrets:
        assert secret not in shown, shown
        assert secret.replace("!", "%21") not in shown, shown


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def assert_not_logged(logs: pytest.LogCaptureFixture, secret: str) -> None:
    for record in logs.records:
        text = record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        assert secret not in text, text


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- connecting ---------------------------------------------------------------------------------


async def test_a_wrong_password_names_host_database_and_user_never_the_password(
    pg_server: PostgresServer, logs: pytest.LogCaptureFixture
) -> None:
    dsn = pg_server.dsn(password=SECRET)
    store = PostgresStore(dsn)
    assert SECRET not in repr(store) and "***" in repr(store)
    try:
        with pytest.raises(StorageError) as caught:
            await store.create_session("s")
        message = str(caught.value)
        assert "cannot connect to PostgreSQL" in message
        assert 'database "postgres"' in message and 'host "127.0.0.1"' in message
        assert f"port {pg_server.port}" in message and 'user "postgres"' in message
        assert "password authentication failed" in message
        assert "password" in (caught.value.hint or "")
        assert caught.value.store == "postgres"
        assert_never_shown(caught.value, SECRET)
    finally:
        await store.aclose()
    memory = PostgresMemory(dsn)
    try:
        with pytest.raises(MemoryStoreError, match="password authentication failed") as mem_caught:
            await memory.add("fact", user_id="u1")
        assert_never_shown(mem_caught.value, SECRET)
        assert SECRET not in repr(memory)
    finally:
        await memory.aclose()
    assert_not_logged(logs, SECRET)


async def test_the_right_password_over_tcp_works(pg_server: PostgresServer, schema: str) -> None:
    store = PostgresStore(pg_server.dsn(password=PASSWORD), schema=schema)
    try:
        await store.create_session("s")
        await store.append_turn("s", [UserMessage("hi"), AssistantMessage("hello")])
        assert (await store.get_session("s")).message_count == 2
        assert PASSWORD not in repr(store)
    finally:
        await store.aclose()


async def test_an_unreachable_server_is_a_clear_error_at_once(logs: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    store = PostgresStore(f"postgresql://agent:{SECRET}@127.0.0.1:{port}/appdb")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            await store.list_sessions()
        assert time.monotonic() - started < 10  # not a wait on the pool
        message = str(caught.value)
        assert 'database "appdb" on host "127.0.0.1"' in message and f"port {port}" in message
        assert "refused" in message.lower()
        assert "running" in (caught.value.hint or "")
        assert_never_shown(caught.value, SECRET)
    finally:
        await store.aclose()
    assert_not_logged(logs, SECRET)


async def test_a_server_that_never_answers_times_out_after_connect_timeout() -> None:
    with silent_server() as port:
        store = PostgresStore(f"postgresql://agent:{SECRET}@127.0.0.1:{port}/appdb", connect_timeout=2)
        try:
            started = time.monotonic()
            with pytest.raises(StorageError) as caught:
                await store.find_session("s")
            assert 1.5 < time.monotonic() - started < 30
            assert 'database "appdb" on host "127.0.0.1"' in str(caught.value)
            assert "timeout" in str(caught.value).lower()
            assert "connect_timeout" in (caught.value.hint or "")
            assert_never_shown(caught.value, SECRET)
        finally:
            await store.aclose()


async def test_a_missing_database_names_it_and_says_how_to_create_it(pg_server: PostgresServer) -> None:
    store = PostgresStore(pg_server.dsn("no_such_db"))
    try:
        with pytest.raises(StorageError, match='database "no_such_db" does not exist') as caught:
            await store.list_sessions()
        assert "createdb no_such_db" in (caught.value.hint or "")
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (f"mysql://agent:{SECRET}@127.0.0.1/appdb", "not valid"),
        (f"postgresql://agent:{SECRET}@[::1/appdb", "not valid"),
        (f"host=127.0.0.1 password={SECRET} dbname", "not valid"),
        (f"postgresql://agent:{SECRET}@127.0.0.1/appdb?no_such_option=1", "not valid"),
    ],
)
def test_a_dsn_that_does_not_parse_is_refused_when_the_store_is_built(dsn: str, shown: str) -> None:
    with pytest.raises(StorageError, match=shown) as caught:
        PostgresStore(dsn)
    assert "postgresql://USER:PASSWORD@HOST" in (caught.value.hint or "")
    assert_never_shown(caught.value, SECRET)


async def test_a_dsn_with_a_bad_value_fails_on_first_use_naming_the_database() -> None:
    store = PostgresStore(f"postgresql://agent:{SECRET}@127.0.0.1:notaport/appdb")
    try:
        with pytest.raises(StorageError, match='database "appdb"') as caught:
            await store.list_sessions()
        assert "notaport" in str(caught.value)
        assert_never_shown(caught.value, SECRET)
    finally:
        await store.aclose()


def test_without_a_dsn_the_error_says_where_one_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(StorageError, match="DATABASE_URL"):
        PostgresStore()
    with pytest.raises(StorageError, match="DATABASE_URL"):
        open_store("postgres")


async def test_database_url_is_the_default_dsn(monkeypatch: pytest.MonkeyPatch, dsn: str) -> None:
    monkeypatch.setenv("DATABASE_URL", dsn)
    store = open_store({"name": "postgres", "schema": "from_env", "pool_size": 2})
    try:
        assert isinstance(store, PostgresStore) and store.settings.pool_size == 2
        await store.put_session(await store.create_session("env"), [])
        assert [i.id for i in await store.list_sessions()] == ["env"]
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        ({"pool_size": 0}, "pool_size"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"statement_timeout": "soon"}, "statement_timeout"),
        ({"schema": "x; drop table"}, "schema"),
    ],
)
def test_bad_settings_are_named(dsn: str, settings: dict[str, object], word: str) -> None:
    with pytest.raises(StorageError, match=word):
        PostgresStore(dsn, **settings)  # type: ignore[arg-type]


# -- while connected -------------------------------------------------------------------------------


async def _hold_lock(pg_server: PostgresServer, schema: str, session_id: str, release: asyncio.Event) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(pg_server.dsn()) as conn:
        await conn.execute(f"SELECT 1 FROM {schema}.sessions WHERE id = %s FOR UPDATE", (session_id,))
        await release.wait()


async def test_a_call_waiting_on_the_server_never_blocks_the_event_loop(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema)
    try:
        await store.create_session("busy")
        release = asyncio.Event()
        holder = asyncio.create_task(_hold_lock(pg_server, schema, "busy", release))
        await asyncio.sleep(0.3)  # the other connection holds the session's row
        append = asyncio.create_task(store.append_turn("busy", [UserMessage("q"), AssistantMessage("a")]))
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not append.done()  # it waits for the row...
        assert ticks >= 20  # ...while this loop goes on running
        release.set()
        await holder
        info = await asyncio.wait_for(append, 30)
        assert info.message_count == 2
    finally:
        await store.aclose()


async def test_statement_timeout_cancels_a_stuck_write_and_stores_nothing(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema, statement_timeout=0.5)
    try:
        await store.create_session("stuck")
        release = asyncio.Event()
        holder = asyncio.create_task(_hold_lock(pg_server, schema, "stuck", release))
        await asyncio.sleep(0.3)
        with pytest.raises(StorageError, match="statement_timeout") as caught:
            await store.append_turn("stuck", [UserMessage("q"), AssistantMessage("a")])
        assert caught.value.session_id == "stuck"
        release.set()
        await holder
        assert await store.read_messages("stuck") == []
    finally:
        await store.aclose()


async def test_a_pool_all_busy_past_pool_timeout_says_so(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema, pool_size=1, pool_timeout=0.5)
    try:
        await store.create_session("one")
        release = asyncio.Event()
        holder = asyncio.create_task(_hold_lock(pg_server, schema, "one", release))
        await asyncio.sleep(0.3)
        waiting = asyncio.create_task(
            store.append_turn("one", [UserMessage("q")])
        )  # holds the one connection
        await asyncio.sleep(0.3)
        with pytest.raises(StorageError, match="all 1 were busy") as caught:
            await store.list_sessions()
        assert "pool_size" in (caught.value.hint or "")
        release.set()
        await holder
        await waiting
    finally:
        await store.aclose()


async def test_a_closed_store_says_so(dsn: str, schema: str) -> None:
    store = PostgresStore(dsn, schema=schema)
    await store.list_sessions()
    await store.aclose()
    with pytest.raises(StorageError, match="closed"):
        await store.list_sessions()


def test_every_error_is_an_agentkit_error() -> None:
    assert issubclass(StorageError, AgentkitError) and issubclass(MemoryStoreError, AgentkitError)
