"""Many writers on one session file, and writers killed mid-append: nothing lost, nothing glued."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from agentkit.errors import CorruptSessionError
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.testing.conformance.writers import check_whole_turns, reaped, spawn_writer, start_together
from agentkit_jsonl import JsonlStore

STORE = "agentkit_jsonl:JsonlStore"


async def test_two_processes_append_1000_turns_each(tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [spawn_writer(STORE, tmp_path / "s", name, 1000, go) for name in ("alpha", "beta")]
    with reaped(*writers):
        start_together(writers, go)
        for writer in writers:
            _, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
    store = JsonlStore(tmp_path / "s")
    try:
        messages = await store.read_messages("shared")
        assert len(messages) == 8000 and (await store.get_session("shared")).message_count == 8000
        assert check_whole_turns(messages) == {"alpha": list(range(1000)), "beta": list(range(1000))}
        writers_in_order = [m.text.split()[0] for m in messages[::4]]
        assert sum(a != b for a, b in itertools.pairwise(writers_in_order)) > 1  # they really interleaved
    finally:
        store.close()


async def test_threads_appending_and_updating_metadata(tmp_path: Path) -> None:
    shared = JsonlStore(tmp_path)
    await shared.create_session("t")
    errors: list[BaseException] = []

    def work(name: str, own: bool) -> None:
        async def run() -> None:
            store = JsonlStore(tmp_path) if own else shared
            for i in range(100):
                await store.append_turn(
                    "t", [UserMessage(f"{name} {i}"), AssistantMessage(f"{name} {i} done")]
                )
                if name == "w0":
                    await store.update_session("t", title=f"title {i}")
            if own:
                await store.aclose()

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}", n < 2)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        messages = await shared.read_messages("t")
        assert len(messages) == 4 * 100 * 2
        for n in range(4):
            mine = [m.text for m in messages if m.text.startswith(f"w{n} ")]
            assert mine == [t for i in range(100) for t in (f"w{n} {i}", f"w{n} {i} done")]
        assert (await shared.get_session("t")).title == "title 99"
    finally:
        shared.close()


async def test_writer_killed_mid_append(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    go = tmp_path / "go"
    go.touch()
    writer = spawn_writer(
        STORE, tmp_path / "k", "victim", -1, go, size=2_000_000
    )  # big writes: a kill can land mid-write
    with reaped(writer):
        assert writer.stdout is not None
        for _ in range(5):
            assert writer.stdout.readline()
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=60)
    store = JsonlStore(tmp_path / "k")
    try:
        try:
            messages = await store.read_messages("shared")
        except CorruptSessionError:  # the kill cut the write right after a newline (rare): repair reads it
            store.close()
            store = JsonlStore(tmp_path / "k", repair=True)
            messages = await store.read_messages("shared")
        order = check_whole_turns(messages)
        assert order["victim"] == list(range(len(order["victim"]))) and len(order["victim"]) >= 5
        with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
            await store.append_turn(
                "shared",
                [UserMessage("after 1"), AssistantMessage("x"), UserMessage("y"), AssistantMessage("z")],
            )
        after = await store.read_messages("shared")
        assert after[: len(messages)] == messages and len(after) == len(messages) + 4
        for line in store.file_of("shared").read_bytes().splitlines():
            json.loads(line)  # nothing torn, nothing glued
    finally:
        store.close()


async def test_torn_write_from_a_killed_process_is_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Make the torn write certain: stop a writer between two halves of its one write."""
    store = JsonlStore(tmp_path)
    await store.create_session("x")
    await store.append_turn("x", [UserMessage("kept"), AssistantMessage("kept too")])
    path = store.file_of("x")
    script = textwrap.dedent(
        f"""
        import fcntl, os, sys, time
        fd = os.open({str(path)!r}, os.O_RDWR | os.O_APPEND)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b'{{"role": "user", "content": [{{"type": "text", "text": "half a')
        print("written", flush=True)
        time.sleep(60)
        """
    )
    victim = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert victim.stdout is not None and victim.stdout.readline() == "written\n"
    os.kill(victim.pid, signal.SIGKILL)  # the lock dies with the process
    victim.wait(timeout=60)
    victim.stdout.close()
    try:
        assert [m.text for m in await store.read_messages("x")] == ["kept", "kept too"]
        with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
            await store.append_turn("x", [UserMessage("next")])
        assert str(path) in caplog.text and "torn" in caplog.text
        assert [m.text for m in await store.read_messages("x")] == ["kept", "kept too", "next"]
    finally:
        store.close()
