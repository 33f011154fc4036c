"""Session storage speed: appending turns, and loading a long session, per backend.

::

    python bench/storage.py                        # SQLite and JSONL, a table
    python bench/storage.py --json out.json        # also write the figures as JSON
    python bench/storage.py --turns 5000 --messages 10000 --repeat 9 --stores sqlite jsonl memory

Append: ``--turns`` turns (a question and an answer each) appended one by one through the
async Store API to one session, as a running agent does; reported in turns per second.
Load: a session of ``--messages`` messages (user, assistant with a tool call, tool result,
answer, repeated), written as an agent writes it (one ``append_turn`` per four messages),
read back with ``load_messages`` (what a session does before each run), from a fresh store
so nothing is cached; reported in milliseconds. Reload: the same store
loads the session again after one more turn was appended (what a session does before its
next run: stores decode only what is new). Each figure is the median of ``--repeat`` runs
with min and max. Targets: >= 5,000 turns/s, <= 50 ms (for the cold load).

Not a test: nothing here fails on a slow machine (``--check`` makes it exit 1 when a target
is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, Usage, UserMessage
from agentkit.stores import InMemoryStore, Store

__all__ = ["APPEND_TARGET", "LOAD_TARGET_MS", "main", "measure"]

APPEND_TARGET = 5000.0  # turns per second
LOAD_TARGET_MS = 50.0


def _factories(root: Path) -> dict[str, Callable[[Path], Store]]:
    def sqlite(path: Path) -> Store:
        from agentkit_sqlite import SqliteStore

        return SqliteStore(path / "agentkit.db")

    def jsonl(path: Path) -> Store:
        from agentkit_jsonl import JsonlStore

        return JsonlStore(path / "sessions")

    def memory(path: Path) -> Store:
        return InMemoryStore()

    return {"sqlite": sqlite, "jsonl": jsonl, "memory": memory}


def _turn(i: int) -> list[Message]:
    return [
        UserMessage(f"Question {i}: what should I pack for a weekend in Lisbon in early spring?"),
        AssistantMessage(
            f"Answer {i}: light layers, a rain jacket, comfortable walking shoes and sunglasses.",
            model="provider/model",
            usage=Usage(120, 40, requests=1),
            finish_reason="stop",
        ),
    ]


def _long_session(count: int) -> list[Message]:
    messages: list[Message] = []
    i = 0
    while len(messages) < count:
        call = ToolCall(f"call_{i}", "get_weather", '{"city": "Lisbon", "unit": "celsius"}')
        messages += [
            UserMessage(f"Question {i}: is it going to rain in Lisbon tomorrow afternoon?"),
            AssistantMessage(
                "", tool_calls=(call,), model="provider/model", usage=Usage(150, 20, requests=1)
            ),
            ToolMessage(call.id, "get_weather", '{"forecast": "showers", "probability": 0.7, "temp_c": 16}'),
            AssistantMessage(
                f"Answer {i}: probably, showers are likely (70%), around 16 C. Take an umbrella.",
                model="provider/model",
                usage=Usage(200, 30, requests=1),
                finish_reason="stop",
            ),
        ]
        i += 1
    return messages[:count]


async def _write_long_session(store: Store, count: int) -> None:
    await store.create_session("long", user_id="bench")
    messages = _long_session(count)
    for i in range(0, count, 4):
        await store.append_turn("long", messages[i : i + 4], usage=Usage(350, 50, requests=2))


async def _append_once(make: Callable[[Path], Store], root: Path, turns: int) -> float:
    store = make(root)
    try:
        await store.create_session("bench")
        batches = [_turn(i) for i in range(turns)]
        usage = Usage(120, 40, requests=1)
        start = time.perf_counter()
        for turn in batches:
            await store.append_turn("bench", turn, usage=usage, model="provider/model")
        elapsed = time.perf_counter() - start
        assert (await store.get_session("bench")).message_count == 2 * turns
        return turns / elapsed
    finally:
        await store.aclose()


async def _load_once(make: Callable[[Path], Store], root: Path, count: int, shared: Store | None) -> float:
    store = shared if shared is not None else make(root)  # a fresh store: no warm caches
    try:
        start = time.perf_counter()
        messages = await store.load_messages("long")
        elapsed = time.perf_counter() - start
        assert len(messages) == count
        return elapsed * 1000
    finally:
        if shared is None:
            await store.aclose()


async def _reload(make: Callable[[Path], Store], root: Path, count: int, repeat: int) -> list[float]:
    reader, writer = make(root), make(root)
    if isinstance(reader, InMemoryStore):
        await writer.aclose()
        writer = reader
        await _write_long_session(reader, count)
    try:
        await reader.load_messages("long")
        times = []
        for i in range(repeat):
            await writer.append_turn("long", _turn(i))
            start = time.perf_counter()
            loaded = await reader.load_messages("long")
            times.append((time.perf_counter() - start) * 1000)
            assert len(loaded) == count + 2 * (i + 1)
        return times
    finally:
        await reader.aclose()
        if writer is not reader:
            await writer.aclose()


async def measure(name: str, *, turns: int, messages: int, repeat: int, root: Path) -> dict[str, Any]:
    """Append and load figures for one backend."""
    make = _factories(root)[name]
    rates = []
    for n in range(repeat):
        where = root / f"{name}-append-{n}"
        where.mkdir()
        rates.append(await _append_once(make, where, turns))
    where = root / f"{name}-load"
    where.mkdir()
    writer = make(where)
    await _write_long_session(writer, messages)
    shared = writer if name == "memory" else None
    if shared is None:
        await writer.aclose()
    await _load_once(make, where, messages, shared)  # warm the OS page cache and imports once
    loads = [await _load_once(make, where, messages, shared) for _ in range(repeat)]
    if shared is not None:
        await shared.aclose()
    reloads = await _reload(make, where, messages, repeat)
    return {
        "store": name,
        "append_turns_per_s": _summary(rates),
        "load_ms": _summary(loads),
        "reload_ms": _summary(reloads),
        "turns": turns,
        "messages": messages,
        "repeat": repeat,
    }


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _table(results: list[dict[str, Any]]) -> str:
    rows = [
        (
            "store",
            "append turns/s (median, min-max)",
            "load ms (median, min-max)",
            "reload ms (median, min-max)",
        )
    ]
    for r in results:
        a, lo, re = r["append_turns_per_s"], r["load_ms"], r["reload_ms"]
        rows.append(
            (
                r["store"],
                f"{a['median']:,.0f}  ({a['min']:,.0f}-{a['max']:,.0f})",
                f"{lo['median']:.1f}  ({lo['min']:.1f}-{lo['max']:.1f})",
                f"{re['median']:.1f}  ({re['min']:.1f}-{re['max']:.1f})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stores", nargs="+", default=["sqlite", "jsonl"], choices=["sqlite", "jsonl", "memory"]
    )
    parser.add_argument("--turns", type=int, default=5000, help="turns appended per run (default 5000)")
    parser.add_argument(
        "--messages", type=int, default=10_000, help="messages in the loaded session (default 10000)"
    )
    parser.add_argument("--repeat", type=int, default=9, help="runs per figure (default 9)")
    parser.add_argument("--dir", type=Path, help="where to put the files (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="agentkit-bench-", dir=args.dir) as tmp:
        results = [
            asyncio.run(
                measure(name, turns=args.turns, messages=args.messages, repeat=args.repeat, root=Path(tmp))
            )
            for name in args.stores
        ]
    print(
        f"{args.turns} turns of 2 messages appended one at a time; a {args.messages}-message session loaded"
    )
    print(_table(results))
    print(f"targets: >= {APPEND_TARGET:,.0f} turns/s, load <= {LOAD_TARGET_MS:.0f} ms")
    if args.json:
        document = {
            "benchmark": "storage",
            "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "targets": {"append_turns_per_s": APPEND_TARGET, "load_ms": LOAD_TARGET_MS},
            "results": results,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    missed = [
        r["store"]
        for r in results
        if r["append_turns_per_s"]["median"] < APPEND_TARGET or r["load_ms"]["median"] > LOAD_TARGET_MS
    ]
    if missed and args.check:
        print(f"missed a target: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
