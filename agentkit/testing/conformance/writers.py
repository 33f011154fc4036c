"""Processes that append to one store at once: concurrency and crash tests for stores.

Each writer is a fresh Python process that opens ``store_class(path)``, opens the session
``"shared"`` and appends numbered turns of four messages (a question, a tool call, its
result, an answer), all tagged with the writer's name, so that
:func:`check_whole_turns` can tell afterwards whether every turn is whole and in order::

    writers = [spawn_writer("my_store:MyStore", path, name, 1000, go) for name in ("a", "b")]
    with reaped(*writers):
        start_together(writers, go)
        for writer in writers:
            _, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
    order = check_whole_turns(await MyStore(path).read_messages("shared"))
    assert order == {"a": list(range(1000)), "b": list(range(1000))}

A writer with a ``count`` prints ``ready`` once its store is open, then waits for the file
``go`` to exist. A writer with ``count=-1`` writes until it is killed and prints each turn's
number once it is stored: read a few lines, then kill it, to test a crash mid-write.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from agentkit.messages import Message

__all__ = ["check_whole_turns", "reaped", "spawn_writer", "start_together"]

_SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib, sys, time
    from pathlib import Path
    from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage

    where, path, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    go, size = Path(sys.argv[5]), int(sys.argv[6])
    module, _, attribute = where.partition(":")
    store_class = getattr(importlib.import_module(module), attribute)

    async def main():
        store = store_class(path)
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


def spawn_writer(
    store_class: str, path: Path, name: str, count: int, go: Path, *, size: int = 0
) -> subprocess.Popen[str]:
    """Start a writer process (see the module docstring).

    :param store_class: ``"module:Class"``, called with ``path`` to open the store.
    :param count: turns to append, or ``-1`` for as many as it can until killed.
    :param size: extra characters in every question, to make each write large.
    """
    return subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, store_class, str(path), name, str(count), str(go), str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_together(writers: list[subprocess.Popen[str]], go: Path) -> None:
    """Wait until every writer (each with a ``count``) has its store open, then let them go."""
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n", writer.communicate()
    go.touch()


@contextlib.contextmanager
def reaped(*processes: subprocess.Popen[str]) -> Iterator[None]:
    """Whatever happens in the block, leave no writer running and no pipe open."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()


def check_whole_turns(messages: list[Message]) -> dict[str, list[int]]:
    """Assert every stored turn is complete and in one piece; each writer's turn numbers."""
    assert len(messages) % 4 == 0
    order: dict[str, list[int]] = {}
    for start in range(0, len(messages), 4):
        name, i = messages[start].text.split()[:2]
        assert messages[start + 2].text == f"{name} {i}"
        assert messages[start + 3].text == f"{name} {i} done"
        order.setdefault(name, []).append(int(i))
    return order
