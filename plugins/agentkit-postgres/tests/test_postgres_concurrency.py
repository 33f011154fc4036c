"""Many processes at once, and a server killed mid-run: nothing committed is lost, nothing half-stored.

Writers are real processes (``agentkit.testing.conformance.writers``, and a script here that
also writes to a session of its own and survives a server restart). The server is a real
PostgreSQL, killed with SIGKILL (postmaster and every backend) and started again through
crash recovery.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from agentkit.testing.conformance.writers import check_whole_turns, reaped, spawn_writer, start_together
from agentkit_postgres import PostgresStore
from agentkit_postgres.testing import PostgresServer

STORE = "agentkit_postgres:PostgresStore"

# A writer that appends numbered turns to "shared" and to a session of its own, in turn, and
# prints "ok <session> <i>" once a turn is committed. A failed append (the server is down)
# prints "error ..." and is tried again after a pause with the same number, so the writer's
# order must hold and a turn it saw committed must be there. One whose outcome the store
# could not tell ("unknown <session> <i>") is not tried again.
_WRITER = textwrap.dedent(
    """
    import asyncio, logging, sys, time
    from pathlib import Path
    from agentkit.errors import StorageError
    from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
    from agentkit_postgres import PostgresStore

    dsn, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    logging.basicConfig(stream=sys.stdout, format="dropped %(message)s", level=logging.WARNING)
    logging.getLogger("psycopg").setLevel(logging.CRITICAL)

    def turn(i):
        call = ToolCall(f"{name}-{i}", "t", "{}")
        return [UserMessage(f"{name} {i}"), AssistantMessage("", tool_calls=(call,)),
                ToolMessage(call.id, "t", f"{name} {i}"), AssistantMessage(f"{name} {i} done")]

    async def main():
        store = PostgresStore(dsn, pool_size=2)
        for sid in ("shared", f"own-{name}"):
            await store.open_session(sid)
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.001)
        i = 0
        while count < 0 or i < 2 * count:
            sid = "shared" if i % 2 == 0 else f"own-{name}"
            try:
                await store.append_turn(sid, turn(i // 2))
            except StorageError as exc:
                print("error", str(exc).replace(chr(10), " "), flush=True)
                if "not known" in str(exc):  # stored or not: never try it twice
                    print("unknown", sid, i // 2, flush=True)
                    i += 1
                await asyncio.sleep(0.05)
                continue
            print("ok", sid, i // 2, flush=True)
            i += 1
        await store.aclose()

    asyncio.run(main())
    """
)


def spawn(dsn: str, name: str, count: int, go: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, dsn, name, str(count), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Lines:
    """A writer's stdout, read on a thread as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.endswith("\n"):  # (a writer killed mid-print leaves half a line: not a report)
                self.lines.append(line[:-1])

    def committed(self) -> list[tuple[str, int]]:
        return [(p[1], int(p[2])) for p in (ln.split() for ln in list(self.lines)) if p[0] == "ok"]

    def unknown(self) -> list[tuple[str, int]]:
        return [(p[1], int(p[2])) for p in (ln.split() for ln in list(self.lines)) if p[0] == "unknown"]

    def dropped(self) -> list[str]:
        return [ln for ln in list(self.lines) if ln.startswith("dropped")]

    def errors(self) -> list[str]:
        return [ln for ln in list(self.lines) if ln.startswith("error")]

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed()) < count:
            assert self._process.poll() is None, (
                self.lines[-5:],
                self._process.stderr and self._process.stderr.read(),
            )
            assert time.monotonic() < deadline, self.lines[-5:]
            time.sleep(0.01)

    def join(self) -> None:
        self._thread.join(timeout=60)


async def test_four_processes_append_1000_turns_each_to_one_session(pg_server: PostgresServer) -> None:
    dsn = pg_server.create_database("four_writers")
    go = Path(pg_server.root) / "go-four"
    names = ("alpha", "beta", "gamma", "delta")
    writers = [spawn_writer(STORE, dsn, name, 1000, go) for name in names]  # type: ignore[arg-type]
    with reaped(*writers):
        start_together(writers, go)
        for writer in writers:
            _, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
    store = PostgresStore(dsn)
    try:
        messages = await store.read_messages("shared")
        assert len(messages) == 16_000
        assert (await store.get_session("shared")).message_count == 16_000
        order = check_whole_turns(messages)
        assert order == {name: list(range(1000)) for name in names}
        writers_in_order = [m.text.split()[0] for m in messages[::4]]
        assert sum(a != b for a, b in itertools.pairwise(writers_in_order)) > 3  # really at once
    finally:
        await store.aclose()


async def test_processes_writing_one_shared_and_their_own_sessions_lose_nothing(
    pg_server: PostgresServer,
) -> None:
    dsn = pg_server.create_database("mixed_writers")
    go = Path(pg_server.root) / "go-mixed"
    names = [f"w{n}" for n in range(6)]
    writers = [spawn(dsn, name, 150, go) for name in names]
    with reaped(*writers):
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n", writer.communicate()
        go.touch()
        for writer in writers:
            out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
            assert "error" not in out
    store = PostgresStore(dsn)
    try:
        shared = check_whole_turns(await store.read_messages("shared"))
        assert shared == {name: list(range(150)) for name in names}
        for name in names:
            assert check_whole_turns(await store.read_messages(f"own-{name}")) == {name: list(range(150))}
        assert len(await store.list_sessions()) == 7
    finally:
        await store.aclose()


async def test_a_server_killed_mid_run_loses_no_committed_turn_and_writers_reconnect(
    own_server: PostgresServer,
) -> None:
    dsn = own_server.dsn()
    go = Path(own_server.root) / "go-kill"
    names = ("red", "blue", "green")
    writers = [spawn(dsn, name, -1, go) for name in names]
    with reaped(*writers):
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n", writer.communicate()
        readers = [Lines(w) for w in writers]
        go.touch()
        for reader in readers:
            reader.wait_for(60)
        own_server.kill()  # every server process, SIGKILL, mid-run
        time.sleep(0.5)
        before = [len(r.committed()) for r in readers]
        own_server.start()  # crash recovery
        for reader, seen in zip(readers, before, strict=True):
            reader.wait_for(seen + 60)  # each writer goes on by itself: it reconnected
        for writer in writers:
            writer.kill()
            writer.wait(timeout=60)
        for reader in readers:
            reader.join()
    assert any(r.dropped() for r in readers)  # the kill did hit them mid-run
    assert not any(r.unknown() for r in readers)  # every cut commit was resolved
    store = PostgresStore(dsn)
    try:
        for session in ("shared", *(f"own-{n}" for n in names)):
            messages = await store.read_messages(session)
            assert (await store.get_session(session)).message_count == len(messages)
            stored = check_whole_turns(messages)  # every stored turn is whole
            for name, reader in zip(names, readers, strict=True):
                if session not in ("shared", f"own-{name}"):
                    continue
                committed = [i for s, i in reader.committed() if s == session]
                numbers = stored.get(name, [])
                assert numbers == sorted(set(numbers))  # in order, none stored twice
                missing = set(committed) - set(numbers)
                assert not missing, f"{name} lost committed turns {sorted(missing)} of {session}"
                # unseen there: at most the turn in flight when the writer was killed, and
                # those whose outcome the store could not tell (none while the server is back
                # within connect_timeout)
                unknown = [i for s, i in reader.unknown() if s == session]
                assert len(set(numbers) - set(committed)) <= 1 + len(unknown)
    finally:
        await store.aclose()


async def test_processes_starting_at_once_on_an_empty_database_create_the_schema_once(
    pg_server: PostgresServer,
) -> None:
    dsn = pg_server.create_database("first_start")
    go = Path(pg_server.root) / "go-first"
    script = textwrap.dedent(
        """
        import asyncio, sys, time
        from pathlib import Path
        from agentkit_postgres import PostgresMemory, PostgresStore

        async def main():
            store, memory = PostgresStore(sys.argv[1]), PostgresMemory(sys.argv[1])
            print("ready", flush=True)
            while not Path(sys.argv[2]).exists():
                time.sleep(0.001)
            await asyncio.gather(store.list_sessions(), memory.list())
            await store.aclose()
            await memory.aclose()

        asyncio.run(main())
        """
    )
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", script, dsn, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    with reaped(*starters):
        start_together(starters, go)
        for starter in starters:
            _, err = starter.communicate(timeout=300)
            assert starter.returncode == 0, err
    rows = pg_server.execute(
        "SELECT component, version, count(*) FROM agentkit.schema_migrations GROUP BY 1, 2 ORDER BY 1, 2",
        database="first_start",
    )
    assert rows == [("memory", 1, 1), ("memory", 2, 1), ("sessions", 1, 1), ("sessions", 2, 1)]
