"""Batch runs: ``run_batch`` on the local executor next to a bare asyncio loop calling httpx.

::

    python bench/batch.py                         # 2,000 items, 16 at once, 5 repeats
    python bench/batch.py --json out.json         # also write the figures as JSON
    python bench/batch.py --items 200 --repeat 1  # a smoke run

The fake OpenAI-compatible server (bench/fake_server.py) runs in its own process. One item is
one run of ``Agent("openai/bench-model")`` on a short question: one model call answered with
text. agentkit's side is the whole job as a user runs it: ``run_batch(agent, items,
output=results.jsonl, concurrency=16)`` (items read, paced, run, each result written to the
results file as it finishes). The baseline sends the same JSON body agentkit sends, with one
``httpx.AsyncClient`` and an ``asyncio.Semaphore(16)``, and parses the answer. Each figure is
items per second, the median of ``--repeat`` runs, each in a fresh process (the two sides
alternate so that drift of the machine hits both alike). Target: agentkit >= 0.8x the
baseline.

Not a test: nothing here fails on a slow machine (``--check`` makes it exit 1 when the
target is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROMPT = "What is 2 + 3?"
MODEL = "bench-model"
TARGET = 0.8


def capture_body() -> dict[str, Any]:
    """The request body agentkit sends for one item, via a recording fake server."""
    from agentkit import Agent
    from agentkit.testing.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(["2 + 3 = 5."]) as server:
        Agent(f"openai/{MODEL}", base_url=server.base_url, api_key="sk-bench").run(PROMPT)
        return dict(server.chat_requests[0])


def worker_batch(base_url: str, items: int, concurrency: int) -> dict[str, Any]:
    from agentkit import Agent
    from agentkit.batch import run_batch

    agent = Agent(f"openai/{MODEL}", base_url=base_url, api_key="sk-bench")
    with tempfile.TemporaryDirectory() as folder:
        warm = run_batch(agent, [PROMPT] * 50, output=Path(folder) / "warm.jsonl", concurrency=concurrency)
        assert warm.ok == 50
        output = Path(folder) / "results.jsonl"
        start = time.perf_counter()
        summary = run_batch(agent, [PROMPT] * items, output=output, concurrency=concurrency)
        wall = time.perf_counter() - start
        assert summary.ok == items, summary
        lines = output.read_text().splitlines()
        assert len(lines) == items and json.loads(lines[-1])["text"] == "2 + 3 = 5."
    return {"wall_s": wall, "items_per_s": items / wall}


async def worker_raw(base_url: str, items: int, concurrency: int, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    client = httpx.AsyncClient(
        base_url=base_url,
        headers={"authorization": "Bearer sk-bench"},
        timeout=httpx.Timeout(120, connect=10),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
    )
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with gate:
            reply = (await client.post("/chat/completions", json=body)).json()
        return str(reply["choices"][0]["message"]["content"])

    async with client:
        await asyncio.gather(*(one() for _ in range(50)))  # warm-up, as on agentkit's side
        start = time.perf_counter()
        answers = await asyncio.gather(*(one() for _ in range(items)))
        wall = time.perf_counter() - start
    assert answers[-1] == "2 + 3 = 5."
    return {"wall_s": wall, "items_per_s": items / wall}


def run_worker(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(items: int, concurrency: int, repeat: int) -> dict[str, Any]:
    server = subprocess.Popen([sys.executable, str(HERE / "fake_server.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        with tempfile.TemporaryDirectory() as folder:
            body_path = Path(folder) / "body.json"
            body_path.write_text(json.dumps(capture_body()))
            runs: dict[str, list[float]] = {"agentkit": [], "raw": []}
            for _ in range(repeat):
                raw = run_worker("raw", base_url, str(items), str(concurrency), str(body_path))
                runs["raw"].append(raw["items_per_s"])
                mine = run_worker("batch", base_url, str(items), str(concurrency))
                runs["agentkit"].append(mine["items_per_s"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures = {
        side: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} for side, v in runs.items()
    }
    ratio = figures["agentkit"]["median"] / figures["raw"]["median"]
    return {
        "items": items,
        "concurrency": concurrency,
        "repeat": repeat,
        "items_per_s": figures,
        "ratio": ratio,
        "target": TARGET,
        "met": ratio >= TARGET,
    }


def report(r: dict[str, Any]) -> str:
    a, b = r["items_per_s"]["agentkit"], r["items_per_s"]["raw"]
    return (
        f"{r['items']:,} items, {r['concurrency']} at once (median of {r['repeat']}): "
        f"run_batch {a['median']:,.0f} items/s ({a['min']:,.0f}-{a['max']:,.0f}), "
        f"bare asyncio + httpx {b['median']:,.0f} items/s ({b['min']:,.0f}-{b['max']:,.0f}): "
        f"{r['ratio']:.2f}x (target >= {r['target']:.1f}x: {'met' if r['met'] else 'MISSED'})"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, base_url, items, concurrency = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        if kind == "batch":
            out = worker_batch(base_url, items, concurrency)
        else:
            body = json.loads(Path(sys.argv[6]).read_text())
            out = asyncio.run(worker_raw(base_url, items, concurrency, body))
        print(json.dumps(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    results = measure(args.items, args.concurrency, args.repeat)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if args.check and not results["met"] else 0


if __name__ == "__main__":
    sys.exit(main())
