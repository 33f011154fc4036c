"""Recall latency of the SQLite memory backend (FTS5 BM25) over 100,000 memories.

    python bench/memory.py [--memories 100000] [--queries 200] [--json out.json]

Two layouts: every memory belongs to one user (the worst case for the scope filter), and the
memories are spread over 1,000 users. Setup inserts rows in bulk through the backend's own
connection (the schema, triggers and FTS index are the real ones); what is timed is
``await memory.search(query, user_id=..., k=5)``, the public API, end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path


def words(rng: random.Random, n: int) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def populate(memory: object, count: int, users: int, vocab: list[str], rng: random.Random) -> None:
    conn = memory._connect()  # type: ignore[attr-defined]
    now = time.time()
    rows = []
    for i in range(count):
        text = " ".join(rng.choices(vocab, k=12))
        rows.append((uuid.uuid4().hex, text, "user", f"user{i % users}", None, None, "{}", now + i * 1e-6, now, None))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO memories (id, text, scope, user_id, agent, session_id, metadata, created_at, updated_at,"
        " expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA optimize")


async def measure(memory: object, users: int, vocab: list[str], queries: int, rng: random.Random) -> list[float]:
    timings = []
    for i in range(queries):
        query = " ".join(rng.choices(vocab, k=3))
        user = f"user{i % users}"
        start = time.perf_counter()
        await memory.search(query, user_id=user, k=5)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def summary(ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(ms, n=20)
    return {"median_ms": statistics.median(ms), "p5_ms": q[0], "p95_ms": q[-1], "n": len(ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from agentkit_sqlite.memory import SqliteMemory

    rng = random.Random(7)
    vocab = words(rng, 20_000)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, users in (("one user", 1), ("1,000 users", 1000)):
            memory = SqliteMemory(Path(tmp) / f"{users}.db")
            start = time.perf_counter()
            populate(memory, args.memories, users, vocab, rng)
            setup = time.perf_counter() - start
            timings = asyncio.run(measure(memory, users, vocab, args.queries, rng))
            results[label] = {**summary(timings), "setup_s": setup, "memories": args.memories}
    print(f"recall top 5 over {args.memories:,} memories (SQLite FTS5 BM25)")
    print(f"{'layout':<14}{'median ms':>11}{'p5 ms':>9}{'p95 ms':>9}")
    for label, r in results.items():
        print(f"{label:<14}{r['median_ms']:>11.2f}{r['p5_ms']:>9.2f}{r['p95_ms']:>9.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
