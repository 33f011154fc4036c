"""A damaged database file gives a StorageError naming the file, whatever the damage (issue 22).

Copies of a real database, each with bytes flipped at random (many seeds), are opened and
used the way an agent and the CLI use a store. Any failure must be an agentkit
:class:`~agentkit.errors.StorageError` whose message names the file: not SQLite's raw
exceptions, nor a ``UnicodeDecodeError``, ``OverflowError`` or ``AttributeError`` from
reading what is there.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

import pytest

from agentkit.errors import MemoryStoreError, SessionNotFoundError, StorageError
from agentkit.messages import UserMessage
from agentkit.testing.conformance.stores import sample_turn
from agentkit_sqlite import SqliteStore
from agentkit_sqlite.memory import SqliteMemory

SEEDS = range(80)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "agentkit.db"

    async def fill() -> None:
        store = SqliteStore(path)
        try:
            for s in range(6):
                await store.create_session(
                    f"s{s}", user_id=f"u{s % 2}", title=f"title {s}", metadata={"n": s}
                )
                for t in range(4):
                    await store.append_turn(f"s{s}", sample_turn(t), model=f"m{t}", title="x")
            await store.search("weather")  # builds the full-text index too
        finally:
            await store.aclose()

    asyncio.run(fill())
    return path


def damaged_copy(pristine: Path, where: Path, seed: int) -> Path:
    """A copy with a few bytes flipped, past the first 100 (SQLite's header) half the time."""
    rng = random.Random(seed)
    data = bytearray(pristine.read_bytes())
    start = 0 if seed % 2 else 100
    for _ in range(rng.randint(1, 16)):
        data[rng.randrange(start, len(data))] ^= 1 << rng.randrange(8)
    copy = where / f"damaged-{seed}.db"
    copy.write_bytes(bytes(data))
    return copy


async def use(store: SqliteStore) -> None:
    """What agents and the CLI do with a store, each call on its own (one may fail, not all)."""
    calls = [
        store.list_sessions,
        lambda: store.list_sessions(user_id="u1"),
        lambda: store.search("paris weather"),
        lambda: store.fork_session("s1", "fork"),
        lambda: store.append_turn("s2", [UserMessage("after the damage")]),
        lambda: store.update_session("s3", title="renamed"),
        lambda: store.replace_messages("s4", sample_turn(9)),
        lambda: store.create_session("new"),
    ]
    for s in range(6):
        calls += [lambda s=s: store.find_session(f"s{s}"), lambda s=s: store.load_messages(f"s{s}")]
    calls.append(lambda: store.delete_session("s5"))
    for call in calls:
        try:
            await call()
        except SessionNotFoundError:
            pass  # the damage took a session's row: not a failure to read
        except StorageError as exc:
            assert str(store.path) in str(exc), f"{type(exc).__name__} does not name the file: {exc}"


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_damaged_database_gives_storage_errors_naming_the_file(
    pristine: Path, tmp_path: Path, seed: int
) -> None:
    store = SqliteStore(damaged_copy(pristine, tmp_path, seed), busy_timeout=2)
    try:
        await use(store)
    finally:
        await store.aclose()


async def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "agentkit.db"
    path.write_bytes(b"\x00\xff" * 5000)
    store = SqliteStore(path)
    try:
        with pytest.raises(StorageError, match=str(path)):
            await store.list_sessions()
    finally:
        await store.aclose()


async def test_a_truncated_database(pristine: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cut.db"
    shutil.copy(pristine, copy)
    with copy.open("r+b") as f:
        f.truncate(copy.stat().st_size // 3)
    store = SqliteStore(copy)
    try:
        await use(store)
    finally:
        await store.aclose()


@pytest.fixture(scope="module")
def pristine_memory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine-memory") / "memory.db"

    async def fill() -> None:
        memory = SqliteMemory(path)
        try:
            for i in range(40):
                await memory.add(
                    f"fact number {i} about travel and food", user_id=f"u{i % 3}", metadata={"i": i}
                )
        finally:
            await memory.aclose()

    asyncio.run(fill())
    return path


@pytest.mark.parametrize("seed", range(30))
async def test_a_damaged_memory_database_gives_memory_errors_naming_the_file(
    pristine_memory: Path, tmp_path: Path, seed: int
) -> None:
    memory = SqliteMemory(damaged_copy(pristine_memory, tmp_path, seed))
    try:
        for call in (
            lambda: memory.search("travel food", user_id="u1"),
            lambda: memory.list(user_id="u2"),
            lambda: memory.add("a new fact", user_id="u1"),
            lambda: memory.list(),
        ):
            try:
                await call()
            except MemoryStoreError as exc:
                assert str(memory.path) in str(exc), f"does not name the file: {exc}"
    finally:
        await memory.aclose()
