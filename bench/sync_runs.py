"""Synchronous runs and fresh agents: agentkit's ``agent.run()`` next to a sync ``httpx.Client``.

    python bench/sync_runs.py               # the full run (a few minutes)
    python bench/sync_runs.py --quick       # a smoke run
    python bench/sync_runs.py --json out.json

One run is bench/run.py's (a model call that asks for the ``add`` tool, the tool, a second
model call, the answer) against the fake server (bench/fake_server.py, its own process). The
baseline is the same exchange written by hand with one ``httpx.Client``: the same two JSON
bodies agentkit sent, the same function, the same parsing. Parts, each in fresh processes:

- ``sequential``: ``agent.run()`` and the raw loop interleaved, one at a time;
- ``first_delta``: time to the first streamed text delta, ``agent.stream()`` against
  ``httpx.Client.stream()`` (sync), and ``agent.astream()`` against ``httpx.AsyncClient`` (async);
- ``threads``: 200 threads at once, each doing runs on one shared agent, against 200 threads
  sharing one ``httpx.Client``: runs per second;
- ``fresh_agents``: 12 rounds of 500 concurrent runs, each with a new Agent closed and dropped
  (async), beside one shared agent doing the same runs, and 12 rounds of 200 sync runs from 50
  threads, each with a new Agent; RSS after each round (``gc.collect()`` first).

Targets (issue 22): a sync run at most 1.3x the raw loop; the first text delta at most 1.3x the raw
client's; 200 threads at least 0.75x the raw throughput; memory levels off with a fresh agent per run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from run import MODEL, PROMPT, RawClient, add, capture_bodies, make_agent  # noqa: E402  (bench/run.py)

__all__ = ["TARGETS", "main"]

#: issue 22's targets: sync run and first delta at most this times raw, 200 threads at least this.
TARGETS = {"sequential": 1.3, "first_delta": 1.3, "threads": 0.75}
THREADS = 200


class RawSyncClient:
    """The baseline: bench/run.py's raw exchange with a sync ``httpx.Client``."""

    def __init__(self, base_url: str, bodies: list[dict[str, Any]]) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=base_url,
            headers={"authorization": "Bearer sk-bench"},
            timeout=httpx.Timeout(120, connect=10),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self.first, self.second = bodies

    def run(self) -> str:
        body = dict(self.first, messages=[{"role": "user", "content": PROMPT}])
        reply = self.client.post("/chat/completions", json=body).json()
        message = reply["choices"][0]["message"]
        results = []
        for call in message["tool_calls"]:
            args = json.loads(call["function"]["arguments"])
            results.append({"role": "tool", "tool_call_id": call["id"], "content": str(add(**args))})
        body = dict(self.second, messages=[body["messages"][0], message, *results])
        reply = self.client.post("/chat/completions", json=body).json()
        return str(reply["choices"][0]["message"]["content"])

    def first_delta(self) -> float:
        start = time.perf_counter()
        body = dict(self.first, messages=[{"role": "user", "content": PROMPT}], stream=True)
        body.pop("tools", None)
        with self.client.stream("POST", "/chat/completions", json=body) as response:
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("data: ") and line != "data: [DONE]":
                    delta = json.loads(line[6:])["choices"]
                    if delta and delta[0]["delta"].get("content"):
                        elapsed = time.perf_counter() - start
                        for _ in lines:
                            pass  # read to the end, as the agent does
                        return elapsed
        raise RuntimeError("no text delta")


def _spread(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2], "n": len(values)}


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- workers (each in a fresh process) -------------------------------------------------------------


def worker_sequential(base_url: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    agent = make_agent(base_url)
    raw = RawSyncClient(base_url, bodies)
    for _ in range(20):
        agent.run(PROMPT)
        raw.run()
    agent_ms, raw_ms = [], []
    for _ in range(n):  # interleaved: drift of the machine hits both alike
        start = time.perf_counter()
        text = agent.run(PROMPT).text
        agent_ms.append((time.perf_counter() - start) * 1000)
        assert text == "2 + 3 = 5.", text
        start = time.perf_counter()
        text = raw.run()
        raw_ms.append((time.perf_counter() - start) * 1000)
        assert text == "2 + 3 = 5.", text
    agent.close()
    return {"agent_ms": agent_ms, "raw_ms": raw_ms}


def worker_first_delta(base_url: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    from agentkit import Agent, TextDelta

    agent = Agent(f"openai/{MODEL}", base_url=base_url, api_key="sk-bench")
    raw_sync = RawSyncClient(base_url, bodies)
    raw_async = RawClient(base_url, bodies)
    loop = asyncio.new_event_loop()

    def agent_sync() -> float:
        start = time.perf_counter()
        first = None
        for event in agent.stream(PROMPT):
            if first is None and isinstance(event, TextDelta):
                first = time.perf_counter() - start
        assert first is not None
        return first

    async def agent_async() -> float:
        start = time.perf_counter()
        first = None
        async for event in agent.astream(PROMPT):
            if first is None and isinstance(event, TextDelta):
                first = time.perf_counter() - start
        assert first is not None
        return first

    cases = {
        "agent_sync": agent_sync,
        "raw_sync": raw_sync.first_delta,
        "agent_async": lambda: loop.run_until_complete(agent_async()),
        "raw_async": lambda: loop.run_until_complete(raw_async.first_delta()),
    }
    for _ in range(10):
        for case in cases.values():
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(n):
        for name, case in cases.items():
            times[name].append(case() * 1000)
    loop.run_until_complete(agent.aclose())
    loop.close()
    agent.close()
    return times


def worker_threads(base_url: str, mode: str, per_thread: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    if mode == "agent":
        agent = make_agent(base_url)

        def one() -> str:
            return str(agent.run(PROMPT).text)
    else:
        raw = RawSyncClient(base_url, bodies)
        one = raw.run

    def work() -> None:
        for _ in range(2):  # warm-up in the thread itself: its event loop (agentkit), the pool's connections
            one()
        barrier.wait()
        for _ in range(per_thread):
            texts.append(one())

    texts: list[str] = []
    barrier = threading.Barrier(THREADS + 1)
    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    assert texts == ["2 + 3 = 5."] * (THREADS * per_thread), len(texts)
    return {"runs_per_s": THREADS * per_thread / wall, "wall_s": wall}


def worker_fresh_agents(base_url: str, mode: str, rounds: int, per_round: int) -> dict[str, Any]:
    """RSS after each round of ``per_round`` runs, each with a fresh Agent closed and dropped
    (``fresh``), or all on one agent (``shared``); async (gathered) or sync (from 50 threads)."""
    import concurrent.futures

    kind, sync = mode.split("-")[0], mode.endswith("-sync")
    shared = make_agent(base_url)

    async def one_async() -> str:
        if kind == "shared":
            return str((await shared.arun(PROMPT)).text)
        agent = make_agent(base_url)
        try:
            return str((await agent.arun(PROMPT)).text)
        finally:
            await agent.aclose()

    def one_sync(_: int) -> str:
        if kind == "shared":
            return str(shared.run(PROMPT).text)
        with make_agent(base_url) as agent:
            return str(agent.run(PROMPT).text)

    async def gather(n: int) -> list[str]:
        return list(await asyncio.gather(*(one_async() for _ in range(n))))

    pool = concurrent.futures.ThreadPoolExecutor(50) if sync else None

    def round_of(n: int) -> list[str]:
        if pool is not None:
            return list(pool.map(one_sync, range(n)))
        return asyncio.run(gather(n))

    round_of(50)  # warm-up: imports, pools, caches
    gc.collect()
    base = _rss_mb()
    rss = []
    for _ in range(rounds):
        texts = round_of(per_round)
        assert texts == ["2 + 3 = 5."] * per_round
        gc.collect()
        rss.append(_rss_mb())
    if pool is not None:
        pool.shutdown()
    return {"base_mb": base, "rss_mb": rss}


def worker_main(argv: list[str]) -> None:
    kind, base_url = argv[0], argv[1]
    bodies = capture_bodies(base_url) if kind != "fresh_agents" else []
    if kind == "sequential":
        out = worker_sequential(base_url, int(argv[2]), bodies)
    elif kind == "first_delta":
        out = worker_first_delta(base_url, int(argv[2]), bodies)
    elif kind == "threads":
        out = worker_threads(base_url, argv[2], int(argv[3]), bodies)
    elif kind == "fresh_agents":
        out = worker_fresh_agents(base_url, argv[2], int(argv[3]), int(argv[4]))
    else:
        raise SystemExit(f"unknown worker {kind}")
    print(json.dumps(out))


def run_worker(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- the driver ------------------------------------------------------------------------------------


def measure(base_url: str, quick: bool, parts: set[str]) -> dict[str, Any]:
    counts = {
        "sequential": 50 if quick else 500,
        "sequential_repeats": 1 if quick else 3,
        "first_delta": 20 if quick else 200,
        "first_delta_repeats": 1 if quick else 3,
        "threads_per_thread": 2 if quick else 10,
        "threads_repeats": 1 if quick else 5,
        "fresh_rounds": 3 if quick else 12,
        "fresh_per_round": 100 if quick else 500,
        "fresh_per_round_sync": 50 if quick else 200,
    }
    out: dict[str, Any] = {"counts": counts, "targets": TARGETS, "thread_count": THREADS, "load": [os.getloadavg()[0]]}
    if "sequential" in parts:
        print("sync runs, one at a time ...", flush=True)
        agent_ms: list[float] = []
        raw_ms: list[float] = []
        per_process = []
        for _ in range(counts["sequential_repeats"]):
            r = run_worker("sequential", base_url, str(counts["sequential"]))
            agent_ms += r["agent_ms"]
            raw_ms += r["raw_ms"]
            per_process.append(statistics.median(r["agent_ms"]) / statistics.median(r["raw_ms"]))
        ratio = statistics.median(agent_ms) / statistics.median(raw_ms)
        out["sequential"] = {
            "agent_ms": _spread(agent_ms), "raw_ms": _spread(raw_ms), "ratio": ratio,
            "ratio_per_process": per_process, "met": ratio <= TARGETS["sequential"],
        }  # fmt: skip
    if "first_delta" in parts:
        print("time to the first text delta ...", flush=True)
        times: dict[str, list[float]] = {}
        for _ in range(counts["first_delta_repeats"]):
            for name, values in run_worker("first_delta", base_url, str(counts["first_delta"])).items():
                times.setdefault(name, []).extend(values)
        fd: dict[str, Any] = {name: _spread(values) for name, values in times.items()}
        for flavour in ("sync", "async"):
            fd[f"ratio_{flavour}"] = fd[f"agent_{flavour}"]["median"] / fd[f"raw_{flavour}"]["median"]
        fd["met"] = max(fd["ratio_sync"], fd["ratio_async"]) <= TARGETS["first_delta"]
        out["first_delta"] = fd
    if "threads" in parts:
        print(f"sync runs from {THREADS} threads ...", flush=True)
        rates: dict[str, list[float]] = {"agent": [], "raw": []}
        failed: dict[str, list[str]] = {"agent": [], "raw": []}
        for _ in range(counts["threads_repeats"]):
            for mode in ("raw", "agent"):  # interleaved processes
                for _attempt in range(2):  # a process with a failed run is measured again, and said so
                    try:
                        r = run_worker("threads", base_url, mode, str(counts["threads_per_thread"]))
                    except SystemExit as exc:
                        failed[mode].append(str(exc).strip().splitlines()[-1][:200])
                        continue
                    rates[mode].append(r["runs_per_s"])
                    break
        ratio = statistics.median(rates["agent"]) / statistics.median(rates["raw"])
        out["threads"] = {
            "agent_runs_per_s": _spread(rates["agent"]), "raw_runs_per_s": _spread(rates["raw"]),
            "ratio": ratio, "met": ratio >= TARGETS["threads"], "failed_processes": failed,
        }  # fmt: skip
    if "fresh_agents" in parts:
        print("memory with a fresh agent per run ...", flush=True)
        fresh: dict[str, Any] = {}
        for mode in ("fresh-async", "shared-async", "fresh-sync"):
            per_round = counts["fresh_per_round"] if mode.endswith("async") else counts["fresh_per_round_sync"]
            r = run_worker("fresh_agents", base_url, mode, str(counts["fresh_rounds"]), str(per_round))
            r["per_round"] = per_round
            rss = r["rss_mb"]
            half = len(rss) // 2
            r["growth_mb"] = rss[-1] - r["base_mb"]
            r["second_half_growth_mb"] = rss[-1] - rss[half - 1] if half else 0.0
            fresh[mode] = r
        out["fresh_agents"] = fresh
    out["load"].append(os.getloadavg()[0])
    return out


def report(r: dict[str, Any]) -> str:
    lines = []
    s = r.get("sequential")
    if s:
        lines.append(
            f"sync run: agentkit {s['agent_ms']['median']:.2f} ms, httpx.Client {s['raw_ms']['median']:.2f} ms "
            f"({s['ratio']:.2f}x; target <= {TARGETS['sequential']}x)"
        )
    f = r.get("first_delta")
    if f:
        for flavour in ("sync", "async"):
            lines.append(
                f"first text delta, {flavour}: agentkit {f[f'agent_{flavour}']['median']:.2f} ms, raw "
                f"{f[f'raw_{flavour}']['median']:.2f} ms ({f[f'ratio_{flavour}']:.2f}x; "
                f"target <= {TARGETS['first_delta']}x)"
            )
    t = r.get("threads")
    if t:
        lines.append(
            f"{r['thread_count']} threads: agentkit {t['agent_runs_per_s']['median']:.0f} runs/s, httpx.Client "
            f"{t['raw_runs_per_s']['median']:.0f} runs/s ({t['ratio']:.2f}x; target >= {TARGETS['threads']}x)"
        )
    for mode, m in (r.get("fresh_agents") or {}).items():
        rounds = ", ".join(f"{v:.0f}" for v in m["rss_mb"])
        lines.append(
            f"{mode}: RSS {m['base_mb']:.0f} MB after warm-up; after each round {rounds} MB "
            f"({_growth(m['growth_mb'])} in all, {_growth(m['second_half_growth_mb'])} in the second half)"
        )
    return "\n".join(lines)


def _growth(mb: float) -> str:
    """Growth of RSS; a drop (the allocator giving memory back) is no growth, not a negative cost."""
    return f"+{mb:.1f} MB" if mb > 0 else "no growth"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--only", action="append", choices=["sequential", "first_delta", "threads", "fresh_agents"],
                        help="measure only this part (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    parts = set(args.only or ["sequential", "first_delta", "threads", "fresh_agents"])
    server = subprocess.Popen([sys.executable, str(HERE / "fake_server.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        result = measure(base_url, args.quick, parts)
    finally:
        server.terminate()
        server.wait(timeout=10)
    result["quick"] = args.quick
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
