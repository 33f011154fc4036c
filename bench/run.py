"""agentkit's benchmark: agentkit next to a raw httpx client doing the same work, in one run.

    python bench/run.py                     # the full run (several minutes)
    python bench/run.py --quick             # a smoke run (CI runs this so the benchmark cannot rot)
    python bench/run.py --write-docs        # also rewrite docs/performance.md with the figures

A fake OpenAI-compatible server (bench/fake_server.py) runs in its own process on 127.0.0.1.
One "run" is what an agent does for "What is 2 + 3?" with an ``add`` tool: a model call that
returns a tool call, the tool, a second model call with the tool result that returns the
answer. The raw client sends the same two requests (the JSON bodies agentkit sent, rebuilt
per run from dicts) with one ``httpx.AsyncClient``, runs the same function and parses the
same responses. Every measurement of a kind runs in a fresh process, agentkit and raw alike.

The same sequential run is also measured shaped as Anthropic's Messages API: the same fake
server answers ``/v1/messages`` with ``tool_use`` and text blocks, agentkit-anthropic's agent
runs against it, and a raw client posts the two bodies agentkit sent with the API's headers.

Figures (medians with spread): import time (``import agentkit``, ``agentkit --help`` with
every first-party plugin installed), sequential runs, 500 concurrent runs (throughput and
peak memory per in-flight run), time to first text delta when streaming, tool dispatch
overhead, and the benchmarks of their own scripts (storage, memory, synchronous runs and fresh
agents in bench/sync_runs.py, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROMPT = "What is 2 + 3?"
MODEL = "bench-model"


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


# -- the two clients ------------------------------------------------------------------------


def make_agent(base_url: str) -> Any:
    from agentkit import Agent, tool

    return Agent(f"openai/{MODEL}", base_url=base_url, api_key="sk-bench", tools=[tool(add)])


class RawClient:
    """The baseline: the same requests with httpx alone."""

    def __init__(self, base_url: str, bodies: list[dict[str, Any]]) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"authorization": "Bearer sk-bench"},
            timeout=httpx.Timeout(120, connect=10),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self.first, self.second = bodies

    async def run(self) -> str:
        body = dict(self.first, messages=[{"role": "user", "content": PROMPT}])
        reply = (await self.client.post("/chat/completions", json=body)).json()
        message = reply["choices"][0]["message"]
        results = []
        for call in message["tool_calls"]:
            args = json.loads(call["function"]["arguments"])
            results.append({"role": "tool", "tool_call_id": call["id"], "content": str(add(**args))})
        body = dict(self.second, messages=[body["messages"][0], message, *results])
        reply = (await self.client.post("/chat/completions", json=body)).json()
        return str(reply["choices"][0]["message"]["content"])

    async def first_delta(self) -> float:
        start = time.perf_counter()
        body = dict(self.first, messages=[{"role": "user", "content": PROMPT}], stream=True)
        body.pop("tools", None)
        async with self.client.stream("POST", "/chat/completions", json=body) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data: ") and line != "data: [DONE]":
                    delta = json.loads(line[6:])["choices"]
                    if delta and delta[0]["delta"].get("content"):
                        elapsed = time.perf_counter() - start
                        async for _ in lines:
                            pass  # read to the end, as the agent does
                        return elapsed
        raise RuntimeError("no text delta")


ANTHROPIC_KEY = "sk-ant-bench-0123456789"


def make_anthropic_agent(base_url: str) -> Any:
    from agentkit import Agent, tool

    return Agent(f"anthropic/{MODEL}", base_url=base_url, api_key=ANTHROPIC_KEY, tools=[tool(add)])


class RawAnthropicClient:
    """The baseline of the Anthropic-shaped run: the Messages API exchange with httpx alone."""

    def __init__(self, base_url: str, bodies: list[dict[str, Any]]) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
            timeout=httpx.Timeout(120, connect=10),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self.first, self.second = bodies

    async def run(self) -> str:
        question = {"role": "user", "content": [{"type": "text", "text": PROMPT}]}
        body = dict(self.first, messages=[question])
        reply = (await self.client.post("/v1/messages", json=body)).json()
        results = []
        for block in reply["content"]:
            if block["type"] == "tool_use":
                results.append({"type": "tool_result", "tool_use_id": block["id"], "content": str(add(**block["input"]))})
        turns = [question, {"role": "assistant", "content": reply["content"]}, {"role": "user", "content": results}]
        body = dict(self.second, messages=turns)
        reply = (await self.client.post("/v1/messages", json=body)).json()
        return "".join(b["text"] for b in reply["content"] if b["type"] == "text")


def capture_anthropic_bodies() -> list[dict[str, Any]]:
    """The two Messages API bodies agentkit sends for one run, via a recording loopback server."""
    from fake_server import ANTHROPIC_FINAL, ANTHROPIC_TOOL_CALL  # bench/fake_server.py

    from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply, json_reply

    def answer(request: RecordedRequest) -> Reply:
        return json_reply(ANTHROPIC_FINAL if b'"tool_result"' in request.body else ANTHROPIC_TOOL_CALL)

    with LoopbackServer(answer) as server:
        agent = make_anthropic_agent(server.url)
        assert agent.run(PROMPT).text == "2 + 3 = 5."
        agent.close()
        return [r.json() for r in server.requests]


def capture_bodies(base_url: str) -> list[dict[str, Any]]:
    """The two request bodies agentkit sends for one run, via a recording fake server."""
    from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

    with FakeOpenAIServer([tool_call("add", {"a": 2, "b": 3}), "2 + 3 = 5."]) as server:
        make_agent(server.base_url).run(PROMPT)
        return [dict(r) for r in server.chat_requests]


# -- workers (each runs in a fresh process) --------------------------------------------------


async def worker_sequential(base_url: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    agent = make_agent(base_url)
    raw = RawClient(base_url, bodies)
    for _ in range(20):  # warm up connections and caches of both
        await agent.arun(PROMPT)
        await raw.run()
    agent_ms, raw_ms = [], []
    for _ in range(n):  # interleaved, so that drift of the machine hits both alike
        start = time.perf_counter()
        result = await agent.arun(PROMPT)
        agent_ms.append((time.perf_counter() - start) * 1000)
        assert result.text == "2 + 3 = 5.", result.text
        start = time.perf_counter()
        text = await raw.run()
        raw_ms.append((time.perf_counter() - start) * 1000)
        assert text == "2 + 3 = 5."
    return {"agent_ms": agent_ms, "raw_ms": raw_ms}


async def worker_sequential_anthropic(base_url: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The sequential run shaped as the Messages API: agentkit-anthropic next to raw httpx."""
    agent = make_anthropic_agent(base_url)
    raw = RawAnthropicClient(base_url, bodies)
    for _ in range(20):
        await agent.arun(PROMPT)
        await raw.run()
    agent_ms, raw_ms, agent_cpu, raw_cpu = [], [], [], []
    for _ in range(n):  # wall time, and this process's CPU time (which neighbours on the machine do not move)
        start, cpu = time.perf_counter(), time.process_time()
        result = await agent.arun(PROMPT)
        agent_ms.append((time.perf_counter() - start) * 1000)
        agent_cpu.append((time.process_time() - cpu) * 1000)
        assert result.text == "2 + 3 = 5.", result.text
        start, cpu = time.perf_counter(), time.process_time()
        text = await raw.run()
        raw_ms.append((time.perf_counter() - start) * 1000)
        raw_cpu.append((time.process_time() - cpu) * 1000)
        assert text == "2 + 3 = 5."
    return {"agent_ms": agent_ms, "raw_ms": raw_ms, "agent_cpu_ms": agent_cpu, "raw_cpu_ms": raw_cpu}


async def worker_concurrent(base_url: str, mode: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    import gc

    if mode == "agent":
        agent = make_agent(base_url)

        async def one() -> Any:
            return await agent.arun(PROMPT)
    else:
        raw = RawClient(base_url, bodies)

        async def one() -> Any:
            return await raw.run()

    await asyncio.gather(*(one() for _ in range(50)))  # warm-up: imports, pools, caches
    gc.collect()
    base_kb = _rss_kb()
    measured_from_base = _reset_peak()  # else the peak may be the warm-up's, not these runs'
    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - start
    peak_kb = _peak_kb()
    return {
        "wall_s": wall,
        "runs_per_s": n / wall,
        "base_kb": base_kb,
        "peak_kb": max(peak_kb, base_kb),
        "peak_since_base": measured_from_base,
    }


async def worker_first_delta(base_url: str, n: int, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    from agentkit import Agent, TextDelta

    agent = Agent(f"openai/{MODEL}", base_url=base_url, api_key="sk-bench")
    raw = RawClient(base_url, bodies)

    async def agent_first() -> float:
        start = time.perf_counter()
        first = None
        async for event in agent.astream(PROMPT):
            if first is None and isinstance(event, TextDelta):
                first = time.perf_counter() - start
        assert first is not None
        return first

    for _ in range(10):
        await agent_first()
        await raw.first_delta()
    agent_ms, raw_ms = [], []
    for _ in range(n):
        agent_ms.append(await agent_first() * 1000)
        raw_ms.append(await raw.first_delta() * 1000)
    return {"agent_ms": agent_ms, "raw_ms": raw_ms}


async def worker_tool_dispatch(n: int) -> dict[str, Any]:
    """Per tool call: a run with one tool call minus a run without, on the scripted provider."""
    from agentkit import Agent, ToolCall, tool
    from agentkit.messages import AssistantMessage
    from agentkit.testing import ScriptedProvider

    def script_with_tool(_request: Any) -> Any:
        if _request.messages[-1].role == "tool":
            return "5"
        return AssistantMessage(tool_calls=[ToolCall("call_1", "add", '{"a": 2, "b": 3}')])

    with_tool = Agent("scripted/x", provider=ScriptedProvider([script_with_tool], repeat_last=True), tools=[tool(add)])
    plain = Agent("scripted/x", provider=ScriptedProvider(["5"], repeat_last=True), tools=[tool(add)])
    for _ in range(50):
        await with_tool.arun(PROMPT)
        await plain.arun(PROMPT)
    tool_us, plain_us = [], []
    for _ in range(n):
        start = time.perf_counter()
        await with_tool.arun(PROMPT)
        tool_us.append((time.perf_counter() - start) * 1e6)
        start = time.perf_counter()
        await plain.arun(PROMPT)
        plain_us.append((time.perf_counter() - start) * 1e6)
    return {"with_tool_us": tool_us, "plain_us": plain_us}


def _rss_kb() -> int:
    return _status_kb("VmRSS:")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Start the peak RSS afresh (Linux >= 4.0: ``5`` to ``clear_refs`` resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_kb() -> int:
    """The peak RSS since :func:`_reset_peak` (VmHWM), else the process's lifetime peak."""
    return _status_kb("VmHWM:") or int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def worker_main(argv: list[str]) -> None:
    kind, base_url, n, mode = argv[0], argv[1], int(argv[2]), argv[3]
    bodies = json.loads(Path(argv[4]).read_text()) if len(argv) > 4 else []
    if kind == "sequential":
        out = asyncio.run(worker_sequential(base_url, n, bodies))
    elif kind == "sequential_anthropic":
        out = asyncio.run(worker_sequential_anthropic(base_url, n, bodies))
    elif kind == "concurrent":
        out = asyncio.run(worker_concurrent(base_url, mode, n, bodies))
    elif kind == "first_delta":
        out = asyncio.run(worker_first_delta(base_url, n, bodies))
    elif kind == "tool_dispatch":
        out = asyncio.run(worker_tool_dispatch(n))
    elif kind == "capacity":
        out = asyncio.run(worker_capacity(base_url, n))
    else:
        raise SystemExit(f"unknown worker {kind}")
    print(json.dumps(out))


async def worker_capacity(base_url: str, n: int) -> dict[str, Any]:
    """The fake server's raw capacity: keep-alive POSTs from 4 raw sockets per pipeline-free loop."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}).encode()
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def connection(count: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection(n // 8) for _ in range(8)))
    return {"requests_per_s": (n // 8 * 8) / (time.perf_counter() - start)}


# -- the driver -------------------------------------------------------------------------------


def run_worker(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def spread(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2], "n": len(values)}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    import httpx

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "httpx": httpx.__version__,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where to write results.json")
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/performance.md from the results")
    args = parser.parse_args()
    q = args.quick
    counts = {
        "sequential": 50 if q else 1000,
        "concurrent": 100 if q else 500,
        "concurrent_repeats": 1 if q else 5,
        "first_delta": 20 if q else 300,
        "tool_dispatch": 50 if q else 2000,
        "capacity": 800 if q else 8000,
        "import_runs": "3" if q else "30",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fake_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base_url = f"http://127.0.0.1:{port}/v1"
        results: dict[str, Any] = {"machine": machine(), "quick": q, "counts": counts}
        bodies_path = args.out / "bodies.json"
        bodies_path.write_text(json.dumps(capture_bodies(base_url)))
        bodies = str(bodies_path)

        print("server capacity ...", flush=True)
        results["server_capacity"] = run_worker("capacity", base_url, str(counts["capacity"]), "-")

        print("sequential runs ...", flush=True)
        seq = run_worker("sequential", base_url, str(counts["sequential"]), "-", bodies)
        results["sequential"] = {"agent_ms": spread(seq["agent_ms"]), "raw_ms": spread(seq["raw_ms"])}

        print("sequential runs, Anthropic-shaped ...", flush=True)
        anthropic_bodies = args.out / "anthropic_bodies.json"
        anthropic_bodies.write_text(json.dumps(capture_anthropic_bodies()))
        root_url = base_url.removesuffix("/v1")
        seq = run_worker("sequential_anthropic", root_url, str(counts["sequential"]), "-", str(anthropic_bodies))
        results["anthropic_sequential"] = {key: spread(values) for key, values in seq.items()}

        print("concurrent runs ...", flush=True)
        conc: dict[str, list[dict[str, Any]]] = {"agent": [], "raw": []}
        for _ in range(int(counts["concurrent_repeats"])):
            for mode in ("raw", "agent"):
                conc[mode].append(run_worker("concurrent", base_url, str(counts["concurrent"]), mode, bodies))
        results["concurrent"] = {
            mode: {
                "runs_per_s": spread([r["runs_per_s"] for r in reps]),
                "kb_per_run": spread([max(0, r["peak_kb"] - r["base_kb"]) / counts["concurrent"] for r in reps]),
            }
            for mode, reps in conc.items()
        }

        print("time to first text delta ...", flush=True)
        fd = run_worker("first_delta", base_url, str(counts["first_delta"]), "-", bodies)
        results["first_delta"] = {"agent_ms": spread(fd["agent_ms"]), "raw_ms": spread(fd["raw_ms"])}

        print("tool dispatch ...", flush=True)
        td = run_worker("tool_dispatch", base_url, str(counts["tool_dispatch"]), "-")
        results["tool_dispatch"] = {
            "with_tool_us": spread(td["with_tool_us"]),
            "plain_us": spread(td["plain_us"]),
            "overhead_us": statistics.median(td["with_tool_us"]) - statistics.median(td["plain_us"]),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)

    print("import time and CLI startup ...", flush=True)
    for script, key in (("import_time.py", "import_time"), ("cli_startup.py", "cli_startup")):
        path = args.out / f"{key}.json"
        subprocess.run([sys.executable, str(HERE / script), "-n", counts["import_runs"], "--json", str(path)],
                       check=True, capture_output=True)
        results[key] = json.loads(path.read_text())
    print("storage, memory, batch runs and MCP tool calls ...", flush=True)
    for script, key, extra in (
        ("storage.py", "storage", ["--turns", "500", "--messages", "2000", "--repeat", "1"] if q else []),
        ("memory.py", "memory", ["--memories", "10000", "--queries", "50"] if q else []),
        ("postgres.py", "postgres", ["--quick"] if q else []),
        ("batch.py", "batch", ["--items", "200", "--repeat", "1"] if q else []),
        ("mcp_calls.py", "mcp", ["--quick"] if q else []),
        ("hooks.py", "hooks", ["--runs", "300", "--repeat", "1"] if q else []),
        ("otel.py", "otel", ["--quick"] if q else []),
        ("sync_runs.py", "sync", ["--quick"] if q else []),
    ):
        if not (HERE / script).exists():
            continue
        path = args.out / f"{key}.json"
        subprocess.run([sys.executable, str(HERE / script), *extra, "--json", str(path)], check=True,
                       capture_output=True)
        results[key] = json.loads(path.read_text())

    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(report(results))
    if args.write_docs:
        from render import render_performance  # bench/render.py

        (ROOT / "docs" / "performance.md").write_text(render_performance(results))
        print("wrote docs/performance.md")
    return 0


def report(r: dict[str, Any]) -> str:
    """The figures of every part that ran, one line each (docs/performance.md has them all)."""
    s, c, f, t = r["sequential"], r["concurrent"], r["first_delta"], r["tool_dispatch"]
    ratio = s["agent_ms"]["median"] / s["raw_ms"]["median"]
    thr = c["agent"]["runs_per_s"]["median"] / c["raw"]["runs_per_s"]["median"]
    n = r["counts"]["concurrent"]
    lines = [
        f"server capacity: {r['server_capacity']['requests_per_s']:,.0f} requests/s",
        f"sequential run: agentkit {s['agent_ms']['median']:.2f} ms, raw {s['raw_ms']['median']:.2f} ms "
        f"({ratio:.2f}x; target <= 1.3x)",
        *anthropic_line(r),
        f"{n} concurrent: agentkit {c['agent']['runs_per_s']['median']:.0f} runs/s, raw "
        f"{c['raw']['runs_per_s']['median']:.0f} runs/s ({thr:.2f}x; target >= 0.75x)",
        memory_line(c),
        f"first text delta: agentkit {f['agent_ms']['median']:.2f} ms, raw {f['raw_ms']['median']:.2f} ms",
        f"tool dispatch overhead: {t['overhead_us']:.0f} us per call",
    ]
    for key in ("import_time", "cli_startup"):
        for row in (r.get(key) or {}).get("results", []):
            over = f" ({row['over_bare_ms']:+.1f} ms over a bare interpreter)" if row.get("over_bare_ms") else ""
            lines.append(f"{row['label']}: {row['median_ms']:.1f} ms{over}")
    for row in (r.get("storage") or {}).get("results", []):
        lines.append(
            f"sessions, {row['store']}: {row['append_turns_per_s']['median']:,.0f} turns/s appended, "
            f"a session loaded in {row['load_ms']['median']:.1f} ms"
        )
    for label, row in (r.get("memory") or {}).items():
        lines.append(
            f"memory recall, {label}, {row['memories']:,} memories: {row['median_ms']:.2f} ms "
            f"(p95 {row['p95_ms']:.2f} ms)"
        )
    otel = r.get("otel")
    if otel:
        lines.append(
            f"agentkit-otel: tracing on adds {otel['added_with_sdk'] * 100:+.1f}% to a sequential run "
            f"(target <= {otel['target'] * 100:g}%), installed and off {otel['added_when_off'] * 100:+.1f}%"
        )
    batch = r.get("batch")
    if batch:
        rate = batch["items_per_s"]
        lines.append(
            f"batch of {batch['items']} items, {batch['concurrency']} at once: agentkit "
            f"{rate['agentkit']['median']:.0f} items/s, raw {rate['raw']['median']:.0f} items/s "
            f"({batch['ratio']:.2f}x; target >= {batch['target']}x)"
        )
    for row in (r.get("mcp") or {}).get("results", []):
        lines.append(f"MCP tool call, {row['label']}: {row['per_call_us']:,.0f} us")
    hooks = (r.get("hooks") or {}).get("us_per_run")
    if hooks:
        lines.append("a run with hooks: " + ", ".join(f"{k} {v:.0f} us" for k, v in hooks.items()))
    for row in (r.get("postgres") or {}).get("results", []):
        recall = ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in row["recall"].items())
        lines.append(
            f"{row['store']} (bench/postgres.py): {row['append_1_turns_per_s']['median']:,.0f} turns/s from 1 writer, "
            f"{row['append_8_own_turns_per_s']['median']:,.0f} from 8, load {row['load_ms']['median']:.1f} ms, "
            f"recall {recall}"
        )
    sync = r.get("sync")
    if sync:
        from sync_runs import report as sync_report  # bench/sync_runs.py

        lines += sync_report(sync).splitlines()
    for key in sorted(set(r) - _REPORTED):  # a part added later still says it ran
        lines.append(f"{key}: measured, see results.json")
    return "\n".join(lines)


#: The parts of a run's results that report() describes (and what is not a part).
_REPORTED = frozenset({
    "machine", "quick", "counts", "server_capacity", "sequential", "concurrent", "first_delta",
    "tool_dispatch", "import_time", "cli_startup", "storage", "memory", "batch", "mcp", "hooks", "otel", "postgres",
    "anthropic_sequential", "sync",
})


def anthropic_line(r: dict[str, Any]) -> list[str]:
    """The Anthropic-shaped sequential run's figures, when it ran."""
    a = r.get("anthropic_sequential")
    if not a:
        return []
    ratio = a["agent_ms"]["median"] / a["raw_ms"]["median"]
    cpu = a["agent_cpu_ms"]["median"] / a["raw_cpu_ms"]["median"]
    return [
        f"sequential run, Anthropic-shaped: agentkit {a['agent_ms']['median']:.2f} ms, raw "
        f"{a['raw_ms']['median']:.2f} ms ({ratio:.2f}x; target <= 1.3x); CPU {a['agent_cpu_ms']['median']:.2f} ms "
        f"vs {a['raw_cpu_ms']['median']:.2f} ms ({cpu:.2f}x)"
    ]


def memory_line(c: dict[str, Any]) -> str:
    """Peak memory per in-flight run, agentkit's and raw's; never a negative figure (a quick run's
    noise can put agentkit below raw: that reads "no more than raw")."""
    agent, raw = c["agent"]["kb_per_run"]["median"], c["raw"]["kb_per_run"]["median"]
    beyond = agent - raw
    verdict = f"{beyond:.1f} KB beyond raw" if beyond > 0 else "no more than raw"
    return f"memory per in-flight run: agentkit {agent:.1f} KB, raw {raw:.1f} KB ({verdict}; target <= +50 KB)"


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
