"""One pool of connections for every event loop of a process: agents run synchronously from
threads (each ``agent.run()`` on a loop of its own) and async code at once, never more than
``pool_size`` connections; a waiter on one loop woken by a connection given back on another;
a cancelled write still stored whole; a forked child leaving its parent's connections alone."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from agentkit import Agent
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.plugins import PluginHost
from agentkit.testing import ScriptedProvider
from agentkit_postgres import PostgresStore
from agentkit_postgres._pool import Conn, Pool
from agentkit_postgres.testing import PostgresServer


def connector(dsn: str) -> Callable[[], Awaitable[Conn]]:
    """A pool's ``connect``: a new autocommit connection to ``dsn``."""

    async def connect() -> Conn:
        return await psycopg.AsyncConnection.connect(dsn, autocommit=True)

    return connect


class ConnectionCount:
    """The most connections a PostgreSQL ``application_name`` had open at once, sampled by the
    server (pg_stat_activity) every few milliseconds on a thread."""

    def __init__(self, server: PostgresServer, name: str) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._conn = psycopg.connect(server.dsn(), autocommit=True)
        self._name = name
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            row = self._conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self._name,)
            ).fetchone()
            self.most = max(self.most, row[0] if row else 0)
            time.sleep(0.003)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()
        return self.most


def test_sync_runs_on_threads_and_an_async_loop_share_one_pool_of_pool_size(
    host: PluginHost, pg_server: PostgresServer, schema: str
) -> None:
    """Six threads each run an agent synchronously (a loop of their own per run) while an
    async loop appends too, all through one store with ``pool_size = 2``: every turn is
    stored in order, and the server never sees more than two connections of the store."""
    name = f"loops-{uuid.uuid4().hex[:8]}"
    dsn = pg_server.dsn() + f"&application_name={name}"
    store = PostgresStore(dsn, schema=schema, pool_size=2, pool_timeout=30)
    watch = ConnectionCount(pg_server, name)
    errors: list[BaseException] = []

    def user(n: int) -> None:
        try:
            replies = [f"answer {n}.{i}" for i in range(8)]
            agent = Agent("scripted/test", provider=ScriptedProvider(replies), storage=store)
            for i in range(8):
                agent.session(f"user-{n}").run(f"question {n}.{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    async def async_writer() -> None:
        await store.create_session("async")
        for i in range(40):
            await store.append_turn("async", [UserMessage(f"q{i}"), AssistantMessage(f"a{i}")])

    threads = [threading.Thread(target=user, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    asyncio.run(async_writer())
    for thread in threads:
        thread.join(timeout=120)
    most = watch.stop()
    assert not errors, errors

    async def check() -> None:
        for n in range(6):
            texts = [m.text for m in await store.load_messages(f"user-{n}")]
            expected = [t for i in range(8) for t in (f"question {n}.{i}", f"answer {n}.{i}")]
            assert texts == expected
        assert [m.text for m in await store.load_messages("async")] == [
            t for i in range(40) for t in (f"q{i}", f"a{i}")
        ]
        await store.aclose()

    asyncio.run(check())
    assert 1 <= most <= 2


async def test_a_waiter_on_one_loop_gets_a_connection_given_back_on_another(dsn: str) -> None:
    """``pool_size = 1``: the connection is taken on a thread's loop; a waiter here is woken
    when that thread gives it back, and a waiter cancelled meanwhile passes its turn on."""

    pool = Pool(connector(dsn), size=1, timeout=10)
    taken = threading.Event()
    give_back = threading.Event()

    def holder() -> None:
        async def hold() -> None:
            conn = await pool.get()
            taken.set()
            while not give_back.is_set():
                await asyncio.sleep(0.01)
            await conn.execute("SELECT 1")
            pool.put(conn)

        asyncio.run(hold())

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert await asyncio.to_thread(taken.wait, 10)
        cancelled = asyncio.create_task(pool.get())  # first in line, then cancelled
        waiting = asyncio.create_task(pool.get())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        cancelled.cancel()
        give_back.set()
        started = time.monotonic()
        conn = await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - started < 2  # woken, not timed out
        assert (await (await conn.execute("SELECT 41 + 1")).fetchone()) == (42,)
        pool.put(conn)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
    finally:
        give_back.set()
        thread.join(timeout=10)
        pool.close()


async def test_a_write_whose_caller_is_cancelled_is_still_stored_whole(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    """The append waits on the session's row, locked by another transaction; its caller is
    cancelled meanwhile. When the lock is released the write goes on and commits the whole turn."""
    store = PostgresStore(dsn, schema=schema)
    await store.create_session("s")
    await store.append_turn("s", [UserMessage("one"), AssistantMessage("1")])
    locker = await psycopg.AsyncConnection.connect(pg_server.dsn())
    try:
        await locker.execute(f'SELECT 1 FROM "{schema}".sessions WHERE id = %s FOR UPDATE', ("s",))
        caller = asyncio.create_task(store.append_turn("s", [UserMessage("two"), AssistantMessage("2")]))
        await asyncio.sleep(0.3)  # the append is queued on the row lock
        assert not caller.done()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await locker.rollback()  # the lock goes: the shielded write commits
        for _ in range(100):
            if len(await store.load_messages("s")) == 4:
                break
            await asyncio.sleep(0.05)
        assert [m.text for m in await store.load_messages("s")] == ["one", "1", "two", "2"]
    finally:
        await locker.close()
        await store.aclose()


def test_a_forked_child_opens_connections_of_its_own_and_leaves_the_parents_alone(
    dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema, pool_size=1)

    async def append(session: str, text: str) -> None:
        await store.open_session(session)
        await store.append_turn(session, [UserMessage(text), AssistantMessage(text.upper())])

    asyncio.run(append("parent", "before"))  # the parent's one connection is idle in the pool
    assert store.db._pool is not None
    ((conn, _),) = store.db._pool._idle
    backend = conn.info.backend_pid
    pid = os.fork()
    if pid == 0:  # the child: its own connection; the parent's is not closed from here
        code = 1
        try:
            asyncio.run(append("child", "child"))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with psycopg.connect(dsn) as watcher:  # the parent's backend is still there
        found = watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()
        assert found is not None
    asyncio.run(append("parent", "after"))
    assert [c for c, _ in store.db._pool._idle] == [conn] and not conn.closed  # the same one served it

    async def check() -> None:
        assert [m.text for m in await store.load_messages("parent")] == ["before", "BEFORE", "after", "AFTER"]
        assert [m.text for m in await store.load_messages("child")] == ["child", "CHILD"]
        await store.aclose()

    asyncio.run(check())


def test_many_loops_taking_giving_back_and_giving_up_never_exceed_the_size(dsn: str) -> None:
    """Five threads, each on a loop of its own, take and give back connections of a pool of 2
    while some of their waits are cancelled (a connection being opened included): every wait
    not cancelled gets a connection, and no more than two are ever open at once."""
    opened: list[int] = []  # connections open (or being opened) as each was begun

    async def connect() -> Conn:
        opened.append(pool._open)
        return await connector(dsn)()

    pool = Pool(connect, size=2, timeout=20)
    errors: list[BaseException] = []
    served = [0] * 5

    def user(n: int) -> None:
        async def main() -> None:
            for i in range(30):
                if i % 4 == n % 4:  # a wait given up: cancelled after a moment
                    task = asyncio.create_task(pool.get())
                    await asyncio.sleep(0.001 * (i % 3))
                    if task.cancel():
                        continue
                    pool.put(await task)  # it got one before the cancel: give it back
                    continue
                conn = await pool.get()
                try:
                    await conn.execute("SELECT pg_sleep(0.002)")
                    served[n] += 1
                finally:
                    pool.put(conn)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert not errors, errors
        assert sum(served) == sum(30 - len([i for i in range(30) if i % 4 == n % 4]) for n in range(5))
        assert opened and max(opened) <= 2 and pool._open <= 2 and not pool._waiters
    finally:
        pool.close()


async def test_a_connection_idle_longer_than_max_idle_is_closed_not_used(dsn: str) -> None:
    """A firewall may drop an idle connection without a word: one idle past ``max_idle`` is
    closed (the server sees it go) and a fresh one opened in its place."""

    pool = Pool(connector(dsn), size=2, timeout=5, max_idle=0.3)
    try:
        first = await pool.get()
        backend = first.info.backend_pid
        pool.put(first)
        again = await pool.get()  # idle a moment only: the same one
        assert again is first
        pool.put(again)
        await asyncio.sleep(0.5)
        fresh = await pool.get()
        assert fresh is not first and first.closed and not fresh.closed
        for _ in range(50):  # the server notices the goodbye at once, or nearly
            gone = await (
                await fresh.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend,))
            ).fetchone()
            if gone == (0,):
                break
            await asyncio.sleep(0.05)
        assert gone == (0,)
        assert pool._open == 1
        pool.put(fresh)
    finally:
        pool.close()
