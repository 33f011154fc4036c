"""SQLite specifics: files and modes, pragmas, schema versions, errors, registration."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import stat
import threading
import weakref
from pathlib import Path

import pytest

import agentkit_sqlite.plugin
from agentkit.errors import CorruptSessionError, SchemaVersionError, StorageError
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.plugins import PluginHost
from agentkit.stores import open_store
from agentkit_sqlite import SCHEMA_VERSION, SqliteStore
from agentkit_sqlite.schema import MIGRATIONS


def turn(i: int) -> list:
    return [UserMessage(f"question {i}"), AssistantMessage(f"answer {i}")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "nested" / "agentkit.db"
    store = SqliteStore(path)
    try:
        await store.create_session("s")
        await store.append_turn("s", turn(0))
        assert mode(tmp_path / "new") == 0o700
        assert mode(tmp_path / "new" / "nested") == 0o700
        assert mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert mode(path.with_name(path.name + suffix)) == 0o600
    finally:
        store.close()


async def test_wal_mode_and_who_waits_for_locks(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db", busy_timeout=7.5)
    try:
        await store.list_sessions()
        check = sqlite3.connect(tmp_path / "a.db")
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        check.close()
        # SQLite itself never waits (a statement that would is retried by the worker thread,
        # up to busy_timeout) and never checkpoints on commit (the worker thread does)
        pragmas = await store._worker.call(
            lambda conn: [
                conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("busy_timeout", "wal_autocheckpoint")
            ]
        )
        assert pragmas == [0, 0]
    finally:
        store.close()


def _write_job(conn: sqlite3.Connection) -> int:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("COMMIT")
    return threading.get_ident()


async def test_short_jobs_run_inline_unless_they_would_wait(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "i.db", busy_timeout=30)
    here = threading.get_ident()
    try:
        await store.create_session("s")  # the first job opens the database, on the thread
        assert await store._worker.call_inline(_write_job) == here
        blocker = sqlite3.connect(tmp_path / "i.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(store._worker.call_inline(_write_job))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # queued on the thread, retrying; the loop runs on
        blocker.execute("COMMIT")
        blocker.close()
        assert await asyncio.wait_for(waiting, 30) != here
        assert await store._worker.call_inline(_write_job) == here
        await store.append_turn("s", turn(1))
        assert [m.text for m in await store.read_messages("s")] == ["question 1", "answer 1"]
    finally:
        store.close()


async def test_synchronous_full_writes_wait_for_the_disk_on_the_thread(tmp_path: Path) -> None:
    full, normal = SqliteStore(tmp_path / "f.db", synchronous="full"), SqliteStore(tmp_path / "n.db")
    try:
        assert full._small_write == full._worker.call
        assert normal._small_write == normal._worker.call_inline
    finally:
        full.close()
        normal.close()


async def test_the_worker_checkpoints_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SqliteStore(path)
    try:
        await store.create_session("s")
        for i in range(1500):  # ~6 pages each: 36 MB of WAL if nothing were checkpointed
            await store.append_turn("s", turn(i))
        await store._worker.call(lambda conn: None)  # queued checkpoints have run
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal < 8 * 1024 * 1024, wal
        assert len(await store.read_messages("s")) == 3000
    finally:
        store.close()


async def test_default_path_follows_agentkit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "home"))
    host = PluginHost(entry_points=False)
    host.register(agentkit_sqlite.plugin, name="sqlite")
    store = open_store(host=host)
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == tmp_path / "home" / "agentkit.db"
        await store.create_session("x")
        assert mode(tmp_path / "home") == 0o700
    finally:
        store.close()
    named = open_store(f"sqlite:{tmp_path / 'other.db'}", host=host, busy_timeout=1)
    assert isinstance(named, SqliteStore) and named.path == tmp_path / "other.db" and named.busy_timeout == 1
    named.close()
    assert "sqlite" in host.registry("cache")


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    store = SqliteStore(path)
    try:
        with pytest.raises(SchemaVersionError) as info:
            await store.list_sessions()
        error = info.value
        assert (error.found, error.supported) == (SCHEMA_VERSION + 5, SCHEMA_VERSION)
        assert str(path) in str(error) and "newer" in str(error)
        assert "upgrade agentkit-sqlite" in (error.hint or "")
        with pytest.raises(SchemaVersionError):  # and again, not a broken store
            await store.find_session("x")
    finally:
        store.close()


async def test_forward_migration_keeps_data_and_indexes_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO sessions (id, user_id, created_at, updated_at, message_count, usage, metadata)"
        " VALUES ('old', 'u', 1, 2, 1, '{}', '{}')"
    )
    conn.execute(
        "INSERT INTO messages (session_id, seq, turn, role, text, data) VALUES ('old', 0, 1, 'user', 'legacy words',"
        ' \'{"role": "user", "content": [{"type": "text", "text": "legacy words"}]}\')'
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    try:
        assert await store.read_messages("old") == [UserMessage("legacy words")]
        assert [h.session_id for h in await store.search("legacy")] == ["old"]
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    store = SqliteStore(path)
    try:
        with pytest.raises(CorruptSessionError, match=r"junk\.db"):
            await store.list_sessions()
    finally:
        store.close()


async def test_unreadable_row_names_session_and_position(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        await store.create_session("s")
        await store.append_turn("s", turn(0))
        await store._worker.call(
            lambda c: c.execute('UPDATE messages SET data = \'{"role": "alien"}\' WHERE seq = 1')
        )
        with pytest.raises(CorruptSessionError, match=r"message 1 of session 's'"):
            await store.read_messages("s")
    finally:
        store.close()


async def test_lock_held_past_busy_timeout_is_a_clear_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "l.db", busy_timeout=0.2)
    try:
        await store.create_session("s")
        blocker = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StorageError) as info:
                await store.append_turn("s", turn(1))
            assert "busy timeout" in str(info.value) and "busy_timeout" in (info.value.hint or "")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await store.read_messages("s") == []
        await store.append_turn("s", turn(1))
    finally:
        store.close()


async def test_waiting_for_the_lock_does_not_block_the_event_loop(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "w.db", busy_timeout=30)
    await store.create_session("s")
    held = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        blocker = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(30)
        blocker.execute("COMMIT")
        blocker.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert await asyncio.to_thread(held.wait, 30)
        ticks = 0
        write = asyncio.create_task(store.append_turn("s", turn(1)))
        while ticks < 20:  # the loop keeps running while the write waits for the lock
            await asyncio.sleep(0.005)
            ticks += 1
        assert not write.done()
        release.set()
        info = await asyncio.wait_for(write, 30)
        assert info.message_count == 2
    finally:
        release.set()
        thread.join()
        store.close()


async def test_closed_store_says_so(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "c.db")
    await store.list_sessions()
    await store.aclose()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        await store.list_sessions()


async def test_a_closed_store_is_freed_without_the_garbage_collector(tmp_path: Path) -> None:
    """No reference cycle keeps a dropped store, and the messages it read, alive until the
    next full collection (which, with many objects alive, can take 100 ms)."""
    store = SqliteStore(tmp_path / "f.db")
    await store.create_session("s")
    await store.append_turn("s", turn(0))
    messages = await store.load_messages("s")
    ref, message_ref = weakref.ref(store), weakref.ref(messages[0].content[0])
    await store.aclose()
    del store, messages
    await asyncio.sleep(0)  # the event loop lets go of the finished future's result
    gc.disable()
    try:
        assert ref() is None and message_ref() is None
    finally:
        gc.enable()


def test_bad_settings() -> None:
    with pytest.raises(StorageError, match="synchronous"):
        SqliteStore("x.db", synchronous="sometimes")


def test_repr_shows_the_path(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    assert repr(store) == f"SqliteStore({str(tmp_path / 'r.db')!r})"
    store.close()
