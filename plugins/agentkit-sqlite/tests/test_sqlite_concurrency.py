"""Many writers on one database, and writers killed mid-write: nothing is lost or half-stored."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import threading
from pathlib import Path

from agentkit.messages import AssistantMessage, UserMessage
from agentkit.testing.conformance.writers import check_whole_turns, reaped, spawn_writer, start_together
from agentkit_sqlite import SqliteStore
from agentkit_sqlite._db import connect

STORE = "agentkit_sqlite:SqliteStore"


async def test_two_processes_append_1000_turns_each(tmp_path: Path) -> None:
    path, go = tmp_path / "shared.db", tmp_path / "go"
    SqliteStore(path).close()
    writers = [spawn_writer(STORE, path, name, 1000, go) for name in ("alpha", "beta")]
    with reaped(*writers):
        start_together(writers, go)
        for writer in writers:
            _, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
            assert "locked" not in err
    store = SqliteStore(path)
    try:
        messages = await store.read_messages("shared")
        assert len(messages) == 8000
        assert (await store.get_session("shared")).message_count == 8000
        order = check_whole_turns(messages)
        assert order == {"alpha": list(range(1000)), "beta": list(range(1000))}
        writers_in_order = [m.text.split()[0] for m in messages[::4]]
        switches = sum(a != b for a, b in itertools.pairwise(writers_in_order))
        assert switches > 1  # they really wrote at the same time
    finally:
        store.close()


async def test_threads_with_their_own_and_a_shared_store(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    shared = SqliteStore(path)
    await shared.create_session("t")
    errors: list[BaseException] = []

    def work(name: str, own: bool) -> None:
        async def run() -> None:
            store = SqliteStore(path) if own else shared
            for i in range(150):
                await store.append_turn(
                    "t", [UserMessage(f"{name} {i}"), AssistantMessage(f"{name} {i} done")]
                )
            if own:
                await store.aclose()

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}", n < 3)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        messages = await shared.read_messages("t")
        assert len(messages) == 5 * 150 * 2
        for n in range(5):
            mine = [m.text for m in messages if m.text.startswith(f"w{n} ")]
            assert mine == [t for i in range(150) for t in (f"w{n} {i}", f"w{n} {i} done")]
    finally:
        shared.close()


async def test_writer_killed_mid_turn_leaves_only_whole_turns(tmp_path: Path) -> None:
    path, go = tmp_path / "killed.db", tmp_path / "go"
    go.touch()
    writer = spawn_writer(STORE, path, "victim", -1, go, size=200_000)
    with reaped(writer):
        assert writer.stdout is not None
        for _ in range(20):  # let it write a while, then kill it without warning
            assert writer.stdout.readline(), writer.stderr.read() if writer.stderr else ""
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=60)
    store = SqliteStore(path)
    try:
        messages = await store.read_messages("shared")
        order = check_whole_turns(messages)
        assert order["victim"] == list(range(len(order["victim"])))
        assert len(order["victim"]) >= 20
        assert (await store.get_session("shared")).message_count == len(messages)
        await store.append_turn(
            "shared", [UserMessage("after 1"), AssistantMessage("a"), UserMessage("b"), AssistantMessage("c")]
        )
        assert len(await store.read_messages("shared")) == len(messages) + 4
    finally:
        store.close()


async def test_a_writer_writing_back_to_back_does_not_starve_another(tmp_path: Path) -> None:
    """The waiting side retries every few hundred microseconds, so it gets the lock between
    two of the greedy writer's turns; SQLite's own busy handler would sleep up to 100 ms at
    a time and could keep missing it past the busy timeout."""
    path, go = tmp_path / "greedy.db", tmp_path / "go"
    go.touch()
    greedy = spawn_writer(STORE, path, "greedy", -1, go)
    with reaped(greedy):
        await _append_patiently_beside(greedy, path)
    reader = SqliteStore(path)
    try:
        starts = [m.text for m in (await reader.read_messages("shared"))[::4]]
        mine = [n for n, text in enumerate(starts) if text.startswith("patient")]
        assert len(mine) == 30
        assert any(text.startswith("greedy") for text in starts[mine[0] : mine[-1]])  # interleaved
    finally:
        reader.close()


async def _append_patiently_beside(greedy: subprocess.Popen[str], path: Path) -> None:
    assert greedy.stdout is not None
    assert greedy.stdout.readline(), greedy.stderr.read() if greedy.stderr else ""
    drain = threading.Thread(target=greedy.stdout.read, daemon=True)  # never let its pipe fill
    drain.start()
    store = SqliteStore(path, busy_timeout=2.0)
    try:
        for i in range(30):
            await store.append_turn(
                "shared",
                [
                    UserMessage(f"patient {i}"),
                    AssistantMessage("a"),
                    UserMessage("patient"),
                    AssistantMessage("c"),
                ],
            )
            await asyncio.sleep(0.002)  # the greedy writer writes meanwhile
        assert greedy.poll() is None  # it was writing all along
    finally:
        greedy.kill()
        greedy.wait(timeout=60)
        drain.join(timeout=60)
        store.close()


def test_connections_creating_the_same_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """Two connections switching a new file to WAL at once: SQLite fails one of them at
    once with "database is locked" (busy timeout or not); ``connect`` retries it."""
    failures: list[BaseException] = []
    for round_ in range(60):
        path = tmp_path / f"new-{round_}.db"
        barrier = threading.Barrier(4)

        def open_it(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                connect(path, busy_timeout=10, synchronous="normal").close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
