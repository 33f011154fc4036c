"""The PostgreSQL store and memory backend, side by side with SQLite's, in one run.

::

    python bench/postgres.py                  # the full run (a few minutes)
    python bench/postgres.py --quick          # small counts (bench/run.py --quick runs this)
    python bench/postgres.py --json out.json  # also write the figures as JSON

A real PostgreSQL server is started for the run (``agentkit_postgres.testing.PostgresServer``:
the machine's PostgreSQL binaries, a fresh data directory, the server's default settings, so
every commit waits for its WAL flush), and reached over loopback TCP with a password, as an
app server reaches its database. SQLite is a file in a temporary directory, with its defaults.

- **append, 1 writer**: turns of two messages appended one at a time to one session through
  the async Store API, as a running agent does (turns per second, median of the repeats);
- **append, 8 writers**: 8 processes appending at once, each to a session of its own (many
  users), then each to one shared session; total turns per second from the first start to
  the last finish;
- **load**: a 10,000-message session (user, assistant with a tool call, tool result, answer,
  written four messages per turn) read with ``load_messages`` by a fresh store (cold), and
  again by the same store after one more turn (reload);
- **recall**: ``memory.search(query, user_id=..., k=5)`` over 100,000 memories, all of one
  user and spread over 1,000 users (median and p95 of the queries); no embeddings, so recall
  is by full-text rank (PostgreSQL ``ts_rank`` over a GIN index; SQLite FTS5 BM25).

Targets (PostgreSQL): >= 2,000 turns/s from 8 writers, a 10,000-message session loaded in
<= 100 ms, recall top 5 over 100,000 memories in <= 20 ms. Not a test: nothing fails on a
slow machine (``--check`` exits 1 when a target is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from memory import populate as populate_sqlite  # noqa: E402  (bench/memory.py)
from memory import words  # noqa: E402
from storage import _long_session, _turn  # noqa: E402  (bench/storage.py)

from agentkit.messages import Usage  # noqa: E402
from agentkit.stores import Store  # noqa: E402

__all__ = ["TARGETS", "main"]

TARGETS = {"writers8_turns_per_s": 2000.0, "load_ms": 100.0, "recall_ms": 20.0}
WRITERS = 8


# -- stores --------------------------------------------------------------------------------------


def store_factory(name: str, dsn: str, root: Path) -> Callable[[], Store]:
    if name == "postgres":
        from agentkit_postgres import PostgresStore

        return lambda: PostgresStore(dsn, schema="bench", pool_size=WRITERS + 2)
    from agentkit_sqlite import SqliteStore

    return lambda: SqliteStore(root / "bench.db")


async def append_one_writer(make: Callable[[], Store], turns: int, session: str) -> tuple[float, float]:
    """Turns per second, and this process's CPU time per turn (ms, every thread)."""
    store = make()
    try:
        await store.create_session(session)
        batches = [_turn(i) for i in range(turns)]
        usage = Usage(120, 40, requests=1)
        start, cpu = time.perf_counter(), time.process_time()
        for turn in batches:
            await store.append_turn(session, turn, usage=usage, model="provider/model")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert (await store.get_session(session)).message_count == 2 * turns
        return turns / elapsed, cpu / turns * 1000
    finally:
        await store.aclose()


def append_writers(name: str, dsn: str, root: Path, turns: int, shared: bool) -> tuple[float, float]:
    """``WRITERS`` processes appending ``turns`` each at once: total turns per second, and the
    writers' mean CPU time per turn (ms, each process's every thread)."""
    go = root / f"go-{uuid.uuid4().hex}"
    tag = uuid.uuid4().hex[:8]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--writer", name, dsn, str(root), str(turns), str(go),
             f"shared-{tag}" if shared else f"own-{tag}-{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]  # fmt: skip
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        go.touch()
        spans = [json.loads(proc.communicate(timeout=1800)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert all(proc.returncode == 0 for proc in procs)
    rate = WRITERS * turns / (max(s[1] for s in spans) - min(s[0] for s in spans))
    return rate, statistics.mean(s[2] for s in spans) / turns * 1000


async def _writer(name: str, dsn: str, root: Path, turns: int, go: Path, session: str) -> None:
    store = store_factory(name, dsn, root)()
    await store.open_session(session)
    batches = [_turn(i) for i in range(turns)]
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.0005)
    start, cpu = time.time(), time.process_time()
    for turn in batches:
        await store.append_turn(session, turn, usage=Usage(120, 40, requests=1))
    end, cpu = time.time(), time.process_time() - cpu
    await store.aclose()
    print(json.dumps([start, end, cpu]), flush=True)


async def load(make: Callable[[], Store], messages: int, repeat: int) -> dict[str, Any]:
    writer = make()
    session = f"long-{uuid.uuid4().hex[:8]}"
    await writer.create_session(session, user_id="bench")
    history = _long_session(messages)
    for i in range(0, messages, 4):
        await writer.append_turn(session, history[i : i + 4], usage=Usage(350, 50, requests=2))
    await writer.aclose()
    cold = []
    for _ in range(repeat + 1):  # the first warms the server's and the OS's caches
        store = make()
        await store.find_session(session)  # connected, as a session is before it loads
        start = time.perf_counter()
        loaded = await store.load_messages(session)
        cold.append((time.perf_counter() - start) * 1000)
        assert len(loaded) == messages
        await store.aclose()
    reader, other = make(), make()
    await reader.load_messages(session)
    warm = []
    for i in range(repeat):
        await other.append_turn(session, _turn(i))
        start = time.perf_counter()
        loaded = await reader.load_messages(session)
        warm.append((time.perf_counter() - start) * 1000)
        assert len(loaded) == messages + 2 * (i + 1)
    await reader.aclose()
    await other.aclose()
    return {"load_ms": spread(cold[1:]), "reload_ms": spread(warm)}


# -- recall --------------------------------------------------------------------------------------


async def recall(name: str, dsn: str, root: Path, memories: int, queries: int) -> dict[str, Any]:
    out = {}
    for label, users in (("one user", 1), ("1,000 users", 1000)):
        rng = random.Random(7)
        vocab = words(rng, 20_000)
        started = time.perf_counter()
        if name == "postgres":
            from agentkit_postgres import PostgresMemory

            memory: Any = PostgresMemory(dsn, schema=f"recall_{users}")
            await memory.list(limit=1)  # creates the tables
            populate_postgres(dsn, f"recall_{users}", memories, users, vocab, rng)
        else:
            from agentkit_sqlite.memory import SqliteMemory

            memory = SqliteMemory(root / f"recall-{users}.db")
            populate_sqlite(memory, memories, users, vocab, rng)
        setup = time.perf_counter() - started
        timings = []
        for i in range(queries + 10):
            query = " ".join(rng.choices(vocab, k=3))
            start = time.perf_counter()
            await memory.search(query, user_id=f"user{i % users}", k=5)
            timings.append((time.perf_counter() - start) * 1000)
        await memory.aclose()
        ms = timings[10:]
        out[label] = {
            "median_ms": statistics.median(ms),
            "p95_ms": statistics.quantiles(ms, n=20)[-1],
            "setup_s": setup,
            "memories": memories,
        }
    return out


def populate_postgres(
    dsn: str, schema: str, count: int, users: int, vocab: list[str], rng: random.Random
) -> None:
    """Rows as the backend writes them (its own terms and JSON), copied in bulk."""
    import psycopg

    from agentkit_postgres.memory import _terms

    now = time.time()
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(
            f'COPY "{schema}".memories (id, text, scope, user_id, metadata, meta, terms, created_at,'
            " updated_at) FROM STDIN"
        ) as copy:
            for i in range(count):
                text = " ".join(rng.choices(vocab, k=12))
                copy.write_row(
                    (
                        uuid.uuid4().hex,
                        text,
                        "user",
                        f"user{i % users}",
                        "{}",
                        "{}",
                        _terms(text),
                        now + i * 1e-6,
                        now,
                    )
                )
        conn.execute(f'ANALYZE "{schema}".memories')


# -- the run -------------------------------------------------------------------------------------


def round_trip(dsn: str, count: int = 300) -> dict[str, float]:
    """``SELECT 1`` over the same loopback connection: the floor under every figure above (on
    a busy machine, mostly the wait for the server process and this one to get a CPU again)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        timings = []
        for _ in range(count + 20):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            timings.append((time.perf_counter() - start) * 1000)
    ms = timings[20:]
    return {"median_ms": statistics.median(ms), "p95_ms": statistics.quantiles(ms, n=20)[-1]}


def disk_flush(directory: Path, count: int = 200) -> dict[str, float]:
    """An 8 kB write and ``fdatasync`` of a file in the server's data directory, as a commit's
    WAL flush (``pg_test_fsync`` measures the same): what each durable commit, or each group of
    commits sharing a flush, waits for at least."""
    path = directory / f"agentkit-bench-flush-{uuid.uuid4().hex[:8]}"
    sync = getattr(os, "fdatasync", os.fsync)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = os.urandom(8192)
        timings = []
        for _ in range(count + 5):
            start = time.perf_counter()
            os.pwrite(fd, block, 0)
            sync(fd)
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    ms = timings[5:]
    return {"median_ms": statistics.median(ms), "p95_ms": statistics.quantiles(ms, n=20)[-1]}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def server_counts(name: str, dsn: str) -> tuple[int, int] | None:
    """The server's count of WAL flushes to disk (``pg_stat_wal.wal_sync``, PostgreSQL 14+)
    and of transactions committed in this database, or ``None`` (SQLite). A durable commit
    waits for a flush; commits made while one is under way share the next (group commit)."""
    if name != "postgres":
        return None
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            row = conn.execute(
                "SELECT (SELECT wal_sync FROM pg_stat_wal), xact_commit FROM pg_stat_database"
                " WHERE datname = current_database()"
            ).fetchone()
        except psycopg.Error:
            return None
    return (int(row[0]), int(row[1])) if row else None


def measure(name: str, dsn: str, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    make = store_factory(name, dsn, root)
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "1 writer": lambda: asyncio.run(append_one_writer(make, args.turns, f"one-{uuid.uuid4().hex[:8]}")),
        "8 own": lambda: append_writers(name, dsn, root, args.turns // 2, shared=False),
        "8 shared": lambda: append_writers(name, dsn, root, args.turns // 2, shared=True),
    }
    rates: dict[str, list[float]] = {}
    per_turn: dict[str, dict[str, float | None]] = {}
    for label, run in runs.items():
        turns = args.turns if label == "1 writer" else WRITERS * (args.turns // 2)
        cpu, flushes, commits = [], [], []
        rates[label] = []
        for _ in range(args.repeat):
            before = server_counts(name, dsn)
            rate, ms = run()
            after = server_counts(name, dsn)
            rates[label].append(rate)
            cpu.append(ms)
            if before is not None and after is not None:
                flushes.append((after[0] - before[0]) / turns)
                commits.append((after[1] - before[1]) / turns)
        per_turn[label] = {
            "client_cpu_ms": statistics.median(cpu),
            "wal_flushes": statistics.median(flushes) if flushes else None,
            "commits": statistics.median(commits) if commits else None,
        }
    return {
        "store": name,
        "append_1_turns_per_s": spread(rates["1 writer"]),
        "append_8_own_turns_per_s": spread(rates["8 own"]),
        "append_8_shared_turns_per_s": spread(rates["8 shared"]),
        "append_per_turn": per_turn,
        **asyncio.run(load(make, args.messages, args.repeat)),
        "recall": asyncio.run(recall(name, dsn, root, args.memories, args.queries)),
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'':<9}{'1 writer':>11}{'8 own':>9}{'8 shared':>10}{'load ms':>9}{'reload':>8}"
        f"{'recall 1u':>11}{'p95':>7}{'recall 1000u':>14}{'p95':>7}"
    ]
    for r in results:
        one, many = r["recall"]["one user"], r["recall"]["1,000 users"]
        lines.append(
            f"{r['store']:<9}{r['append_1_turns_per_s']['median']:>11,.0f}{r['append_8_own_turns_per_s']['median']:>9,.0f}"
            f"{r['append_8_shared_turns_per_s']['median']:>10,.0f}{r['load_ms']['median']:>9.1f}"
            f"{r['reload_ms']['median']:>8.1f}{one['median_ms']:>11.2f}{one['p95_ms']:>7.2f}"
            f"{many['median_ms']:>14.2f}{many['p95_ms']:>7.2f}"
        )
    lines += [
        "",
        "per turn appended: client CPU ms (the writer's process, every thread) / transactions / WAL flushes",
    ]
    for r in results:
        cells = []
        for label, row in r["append_per_turn"].items():
            server = "" if row["commits"] is None else f" / {row['commits']:.2f} / {row['wal_flushes']:.2f}"
            cells.append(f"{label} {row['client_cpu_ms']:.3f}{server}")
        lines.append(f"{r['store']:<9}" + ";  ".join(cells))
    return "\n".join(lines)


def missed(pg: dict[str, Any]) -> list[str]:
    out = []
    if pg["append_8_own_turns_per_s"]["median"] < TARGETS["writers8_turns_per_s"]:
        out.append("8 writers")
    if pg["load_ms"]["median"] > TARGETS["load_ms"]:
        out.append("load")
    if any(r["median_ms"] > TARGETS["recall_ms"] for r in pg["recall"].values()):
        out.append("recall")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--writer":
        name, dsn, root, turns, go, session = argv[1:7]
        asyncio.run(_writer(name, dsn, Path(root), int(turns), Path(go), session))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--turns", type=int, help="turns per append run (default 2000; quick 200)")
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the loaded session")
    parser.add_argument("--memories", type=int, help="memories recalled over (default 100000; quick 5000)")
    parser.add_argument("--queries", type=int, default=200, help="recall queries per layout")
    parser.add_argument("--repeat", type=int, help="runs per figure (default 3; quick 1)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL server setting for the run (repeatable), e.g. commit_delay=1000; the "
        "targets are for the server's defaults",
    )
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.setting):
        parser.error("--setting takes NAME=VALUE")
    settings = dict(item.split("=", 1) for item in args.setting)
    args.turns = args.turns or (200 if args.quick else 2000)
    args.memories = args.memories or (5_000 if args.quick else 100_000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.quick:
        args.messages, args.queries = min(args.messages, 2000), min(args.queries, 30)

    from agentkit_postgres.testing import PASSWORD, PostgresServer, find_binaries

    if find_binaries() is None and not os.environ.get("CI"):
        print("no PostgreSQL server binaries here (apt-get install postgresql): nothing measured")
        if args.json:
            args.json.write_text(
                json.dumps({"benchmark": "postgres", "skipped": "no PostgreSQL binaries"}) + "\n"
            )
        return 0
    with (
        PostgresServer(tcp=True, settings=settings) as server,
        tempfile.TemporaryDirectory(prefix="agentkit-bench-") as tmp,
    ):
        dsn = server.dsn(password=PASSWORD)
        version = server.execute("SHOW server_version")[0][0]
        results = [measure(name, dsn, Path(tmp), args) for name in ("postgres", "sqlite")]
        floor = round_trip(dsn)
        flush = disk_flush(server.data)
    print(
        f"turns/s appending {args.turns} turns (8 writers: {args.turns // 2} each); a {args.messages:,}-message "
        f"session loaded (ms); recall top 5 over {args.memories:,} memories (ms). PostgreSQL {version} over "
        "loopback TCP."
    )
    print(table(results))
    print(f"a bare round trip (SELECT 1): {floor['median_ms']:.2f} ms median, {floor['p95_ms']:.2f} ms p95")
    print(
        f"a flush of the server's disk (8 kB write + fdatasync): {flush['median_ms']:.2f} ms median, "
        f"{flush['p95_ms']:.2f} ms p95"
    )
    if settings:
        given = ", ".join(f"{k}={v}" for k, v in settings.items())
        print(f"server settings changed for this run ({given}): the targets are for the defaults")
    print(
        f"targets (PostgreSQL): >= {TARGETS['writers8_turns_per_s']:,.0f} turns/s from 8 writers, load <= "
        f"{TARGETS['load_ms']:.0f} ms, recall <= {TARGETS['recall_ms']:.0f} ms"
    )
    if args.json:
        document = {
            "benchmark": "postgres",
            "python": sys.version.split()[0],
            "postgres": version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "round_trip_ms": floor,
            "disk_flush_ms": flush,
            "server_settings": settings,
            "counts": {k: getattr(args, k) for k in ("turns", "messages", "memories", "queries", "repeat")},
            "targets": TARGETS,
            "results": results,
            "missed": missed(results[0]),
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    if args.check and missed(results[0]):
        print(f"missed: {', '.join(missed(results[0]))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
