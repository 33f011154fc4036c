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

from agentkit.messages import AssistantMessage, Message, UserMessage
from agentkit_jsonl import JsonlStore

WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
    from agentkit_jsonl import JsonlStore

    path, name, count, go, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5])

    async def main():
        store = JsonlStore(path)
        await store.open_session("shared")
        if count >= 0:
            print("ready", flush=True)  # the test starts every writer at once
        while not go.exists():
            time.sleep(0.001)
        i = 0
        while count < 0 or i < count:
            call = ToolCall(f"{name}-{i}", "t", "{}")
            await store.append_turn("shared", [
                UserMessage(f"{name} {i} " + "x" * size),
                AssistantMessage("", tool_calls=(call,)),
                ToolMessage(call.id, "t", f"{name} {i}"),
                AssistantMessage(f"{name} {i} done"),
            ])
            if count < 0:
                print(i, flush=True)
            i += 1
        store.close()

    asyncio.run(main())
    """
)


def spawn(path: Path, name: str, count: int, go: Path, size: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count), str(go), str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_whole_turns(messages: list[Message]) -> dict[str, list[int]]:
    assert len(messages) % 4 == 0
    order: dict[str, list[int]] = {}
    for start in range(0, len(messages), 4):
        name, i = messages[start].text.split()[:2]
        assert messages[start + 2].text == f"{name} {i}"
        assert messages[start + 3].text == f"{name} {i} done"
        order.setdefault(name, []).append(int(i))
    return order


async def test_two_processes_append_1000_turns_each(tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [spawn(tmp_path / "s", name, 1000, go) for name in ("alpha", "beta")]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n", writer.communicate()
    go.touch()
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
    writer = spawn(tmp_path / "k", "victim", -1, go, size=2_000_000)  # big writes: a kill can land mid-write
    assert writer.stdout is not None
    for _ in range(5):
        assert writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=60)
    writer.stdout.close()
    if writer.stderr:
        writer.stderr.close()
    store = JsonlStore(tmp_path / "k")
    try:
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
