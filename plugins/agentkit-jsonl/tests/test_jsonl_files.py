"""JSONL specifics: the file format, hostile ids, torn and corrupt lines, modes, registration."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import logging
import os
import stat
import threading
import weakref
from pathlib import Path

import attrs
import pytest

import agentkit_jsonl.plugin
from agentkit.errors import CorruptSessionError, SchemaVersionError, StorageError
from agentkit.messages import AssistantMessage, Message, UserMessage
from agentkit.plugins import PluginHost
from agentkit.stores import open_store
from agentkit.testing.conformance.stores import HOSTILE_IDS, sample_turn
from agentkit_jsonl import JsonlStore, file_name
from agentkit_jsonl._files import LockedFile


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def store(tmp_path: Path):
    store = JsonlStore(tmp_path / "home" / "sessions")
    yield store
    store.close()


async def test_a_session_file_reads_like_the_conversation(store: JsonlStore) -> None:
    await store.create_session("chat-42", user_id="u", title="Weather")
    await store.append_turn("chat-42", sample_turn(0, tool=False), model="m")
    path = store.file_of("chat-42")
    assert path.name == "chat-42.jsonl"
    records = lines_of(path)
    assert [r.get("type") or r["role"] for r in records] == ["session", "user", "assistant", "session"]
    assert records[0]["format"] == 1 and records[0]["id"] == "chat-42" and records[0]["title"] == "Weather"
    assert records[1] == {
        "role": "user",
        "content": [{"type": "text", "text": "question 0: what is the weather in Paris?"}],
    }
    assert records[-1]["message_count"] == 2 and records[-1]["model"] == "m"
    await store.update_session("chat-42", title="Renamed")
    assert lines_of(path)[-1]["title"] == "Renamed"
    assert len(lines_of(path)) == 5  # metadata changes append; history is never rewritten for them


async def test_files_and_directories_are_private(store: JsonlStore, tmp_path: Path) -> None:
    await store.create_session("s")
    await store.append_turn("s", sample_turn(1))
    await store.fork_session("s", "f")
    await store.replace_messages("s", [])
    assert mode(tmp_path / "home") == 0o700 and mode(store.path) == 0o700
    for path in store.path.iterdir():
        assert mode(path) == 0o600, path


async def test_hostile_ids_never_leave_the_directory(store: JsonlStore, tmp_path: Path) -> None:
    ids = [*HOSTILE_IDS, "A", "a", "é" * 200, "\u202e\u0000/../../x"]
    for sid in ids:
        await store.create_session(sid)
        await store.append_turn(sid, sample_turn(0, tool=False))
    assert sorted(os.listdir(tmp_path)) == ["home"]
    assert sorted(os.listdir(tmp_path / "home")) == ["sessions"]
    names = os.listdir(store.path)
    assert len(names) == len(ids)  # "A" and "a" do not share a file
    for name in names:
        assert "/" not in name and not name.startswith(".") and len(name.encode()) <= 200
        assert (store.path / name).is_file()
    assert {i.id for i in await store.list_sessions()} == set(ids)
    assert file_name("../x") == "%2E%2E%2Fx.jsonl" and file_name("..") == "%2E%2E.jsonl"


async def test_a_planted_symlink_is_not_followed(store: JsonlStore, tmp_path: Path) -> None:
    await store.create_session("s")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    store.file_of("s").unlink()
    store.file_of("s").symlink_to(victim)
    with pytest.raises(StorageError):
        await store.append_turn("s", sample_turn(0))
    assert victim.read_text() == "precious"


async def test_torn_last_line_is_ignored_then_repaired_and_reported(
    store: JsonlStore, caplog: pytest.LogCaptureFixture
) -> None:
    await store.create_session("t")
    await store.append_turn("t", sample_turn(0))
    path = store.file_of("t")
    with path.open("ab") as f:
        f.write(b'{"role": "user", "content": [{"type": "text", "text": "cut sh')  # a crash mid-write
    assert await store.read_messages("t") == sample_turn(0)
    with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
        await store.append_turn("t", sample_turn(1))
    assert str(path) in caplog.text and "torn last line" in caplog.text
    assert await store.read_messages("t") == sample_turn(0) + sample_turn(1)
    lines_of(path)  # every line is whole JSON again: nothing was glued


async def test_a_turn_cut_at_a_line_boundary_is_corrupt_unless_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Complete message lines without their session line at the end: not a write a crash cut
    short (that leaves a line without its newline), so an error; repair=True removes them."""
    store = JsonlStore(tmp_path)
    await store.create_session("u")
    await store.append_turn("u", sample_turn(0))
    path = store.file_of("u")
    whole = path.read_bytes()
    await store.append_turn("u", sample_turn(1))
    full = path.read_bytes()
    cut = full[: len(whole) + (len(full) - len(whole)) // 2]  # half of the second turn's bytes
    cut = cut[: cut.rfind(b"\n") + 1]  # ...ending on complete message lines, without its session line
    path.write_bytes(cut)
    last_line = cut.count(b"\n")
    with pytest.raises(CorruptSessionError, match=f"line {last_line}:"):
        await store.read_messages("u")
    store.close()
    lenient = JsonlStore(tmp_path, repair=True)
    try:
        assert await lenient.read_messages("u") == sample_turn(0)
        assert (await lenient.get_session("u")).message_count == 4
        with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
            await lenient.update_session("u", title="after the crash")
        assert "corrupt line(s), repair=True" in caplog.text
        assert await lenient.read_messages("u") == sample_turn(0)
    finally:
        lenient.close()


async def test_corrupt_middle_line_names_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = JsonlStore(tmp_path)
    await store.create_session("c")
    await store.append_turn("c", sample_turn(0))
    await store.append_turn("c", sample_turn(1))
    path = store.file_of("c")
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = '{"role": "assistant", "content": BROKEN\n'
    path.write_text("".join(lines))
    with pytest.raises(CorruptSessionError) as info:
        await store.read_messages("c")
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert f"{path}, line 3" in str(info.value) and "repair=True" in (info.value.hint or "")
    lines[2] = '{"role": "alien"}\n'  # valid JSON, not a message
    path.write_text("".join(lines))
    with pytest.raises(CorruptSessionError, match="line 3"):
        await store.read_messages("c")
    store.close()
    lenient = JsonlStore(tmp_path, repair=True)
    with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
        messages = await lenient.read_messages("c")
    assert messages == sample_turn(0)[:1] + sample_turn(0)[2:] + sample_turn(1)
    assert "line 3" in caplog.text
    lenient.close()


async def test_a_missing_middle_line_is_noticed(store: JsonlStore) -> None:
    await store.create_session("m")
    await store.append_turn("m", sample_turn(0))
    await store.append_turn("m", sample_turn(1))
    path = store.file_of("m")
    lines = path.read_text().splitlines(keepends=True)
    del lines[2]
    path.write_text("".join(lines))
    with pytest.raises(CorruptSessionError, match="counts 4 messages, the file has 3"):
        await store.read_messages("m")


async def test_not_a_session_file(store: JsonlStore, caplog: pytest.LogCaptureFixture) -> None:
    await store.create_session("ok")
    store.file_of("junk").write_text("hello\nworld\n")
    with pytest.raises(CorruptSessionError, match="line 1"):
        await store.read_messages("junk")
    with pytest.raises(CorruptSessionError):
        await store.find_session("junk")
    with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
        assert [i.id for i in await store.list_sessions()] == ["ok"]
    assert "junk.jsonl" in caplog.text


async def test_newer_file_format_is_refused(store: JsonlStore) -> None:
    await store.create_session("new")
    path = store.file_of("new")
    record = lines_of(path)[0]
    path.write_text(json.dumps({**record, "format": 99}) + "\n")
    with pytest.raises(SchemaVersionError) as info:
        await store.read_messages("new")
    assert (info.value.found, info.value.supported) == (99, 1)


async def test_a_writer_waiting_on_a_replaced_file_writes_to_the_new_one(store: JsonlStore) -> None:
    await store.create_session("r")
    await store.append_turn("r", sample_turn(0))
    path = store.file_of("r")
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        waiting = asyncio.create_task(store.append_turn("r", sample_turn(2, tool=False)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        replacement: list[Message] = [UserMessage("rewritten"), AssistantMessage("history")]
        tmp = path.with_name(".tmp-test.jsonl")
        current = store._tail(LockedFile(fd, path), "r")[0]
        tmp.write_bytes(store._content(attrs.evolve(current, message_count=2), replacement))
        os.replace(tmp, path)  # what another process's set_history does
    finally:
        os.close(fd)
    info = await asyncio.wait_for(waiting, 30)
    assert info.message_count == 4
    assert await store.read_messages("r") == replacement + sample_turn(2, tool=False)


async def test_registered_and_opened_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "kit"))
    host = PluginHost(entry_points=False)
    host.register(agentkit_jsonl.plugin, name="jsonl")
    default = open_store("jsonl", host=host)
    assert isinstance(default, JsonlStore) and default.path == tmp_path / "kit" / "sessions"
    default.close()
    named = open_store({"name": "jsonl", "path": str(tmp_path / "d"), "repair": True}, host=host)
    assert isinstance(named, JsonlStore) and named.repair and named.path == tmp_path / "d"
    named.close()
    assert repr(named) == f"JsonlStore({str(tmp_path / 'd')!r})"


async def test_closed_store_says_so(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.list_sessions()


async def test_reads_continue_where_they_stopped(store: JsonlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    other = JsonlStore(store.path)
    await store.create_session("inc")
    await store.append_turn("inc", sample_turn(0))
    assert await store.read_messages("inc") == sample_turn(0)
    parsed: list[int] = []
    real_parse = store._parse

    def spy(data: bytes, *args: object, **kwargs: object) -> object:
        parsed.append(len(data))
        return real_parse(data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_parse", spy)
    await other.append_turn("inc", sample_turn(1))
    size = store.file_of("inc").stat().st_size
    assert await store.read_messages("inc") == sample_turn(0) + sample_turn(1)
    assert 0 < parsed[-1] < size / 2  # only the new turn was read
    with store.file_of("inc").open("ab") as f:
        f.write(b'{"role": "user", "content": "torn')
    assert await store.read_messages("inc") == sample_turn(0) + sample_turn(1)
    await other.append_turn("inc", sample_turn(2))  # repairs the torn line, then appends
    assert await store.read_messages("inc") == sample_turn(0) + sample_turn(1) + sample_turn(2)
    await other.replace_messages("inc", sample_turn(3))  # a new file: read from the start
    assert await store.read_messages("inc") == sample_turn(3)
    assert parsed[-1] == store.file_of("inc").stat().st_size
    messages = await store.read_messages("inc")
    messages.clear()  # callers get their own list
    assert await store.read_messages("inc") == sample_turn(3)
    other.close()


async def test_short_jobs_run_inline_unless_another_process_holds_the_lock(
    store: JsonlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.create_session("i")
    threads: list[int] = []
    real_append = store._extend

    def spy(*args: object, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return real_append(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_extend", spy)
    await store.append_turn("i", sample_turn(0))
    assert threads == [threading.get_ident()]  # uncontended: here and now
    fd = os.open(store.file_of("i"), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another writer holds the file
    try:
        waiting = asyncio.create_task(store.append_turn("i", sample_turn(1)))
        for _ in range(10):  # the loop keeps running while the append waits on a thread
            await asyncio.sleep(0.005)
        assert not waiting.done()
    finally:
        os.close(fd)
    await asyncio.wait_for(waiting, 30)
    assert threads[1] == threading.get_ident() and threads[2] != threading.get_ident()  # tried, then queued
    assert await store.read_messages("i") == sample_turn(0) + sample_turn(1)


async def test_with_fsync_writes_wait_for_the_disk_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_on: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced_on.append(threading.get_ident())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    synced, plain = JsonlStore(tmp_path / "a", fsync=True), JsonlStore(tmp_path / "b")
    try:
        for store in (synced, plain):
            await store.create_session("s")
            await store.append_turn("s", sample_turn(0))
            assert await store.read_messages("s") == sample_turn(0)
        assert synced_on and threading.get_ident() not in synced_on  # every sync on a thread
        count = len(synced_on)
        await plain.append_turn("s", sample_turn(1))
        assert len(synced_on) == count  # the plain store never syncs
    finally:
        synced.close()
        plain.close()


async def test_the_quick_read_and_the_careful_read_agree(store: JsonlStore) -> None:
    await store.create_session("q", title="t")
    for i in range(5):
        await store.append_turn("q", sample_turn(i), usage=None, model=f"m{i}")
        await store.update_session("q", metadata={"turn": i})
    path = store.file_of("q")
    data = path.read_bytes()
    quick = store._parse_fast(data, path, "q", None)
    careful = store._parse_carefully(data, path, "q", None)
    assert quick is not None and quick == careful
    cut = data.rindex(b'{"type"', 0, len(data) - 1)  # a base that stops one session line early
    base = store._parse_carefully(data[:cut], path, "q", None)
    assert store._parse_fast(data[cut:], path, "q", base) == careful
    for bad in (
        data.replace(b'{"role": ', b'{"role" : ', 1),  # not as this store writes it
        data + b'{"role": "user", "content": "uncommitted"}\n',  # corrupt: a complete line ends the file
        data + b'{"role": "user", "content": "cut',  # a torn write: ignored by both
        data.replace(b'"message_count": 4', b'"message_count": 3', 1),  # a count that is off
        data.replace(b'"format": 1', b'"format": true', 1),  # not an integer
        data.replace(b'"format": 1, ', b"", 1),  # no format at all
        data.replace(b'"id": "q"', b'"id": "other"', 1),  # another session's line
    ):
        fast = store._parse_fast(bad, path, "q", None)
        if fast is not None:
            assert fast == store._parse_carefully(bad, path, "q", None)
        else:
            with contextlib.suppress(CorruptSessionError):
                store._parse_carefully(bad, path, "q", None)


async def test_a_closed_store_is_freed_without_the_garbage_collector(tmp_path: Path) -> None:
    """No reference cycle keeps a dropped store, and the messages it read, alive until the
    next full collection (which, with many objects alive, can take 100 ms)."""
    store = JsonlStore(tmp_path / "f")
    await store.create_session("s")
    await store.append_turn("s", sample_turn(0))
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
