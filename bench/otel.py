"""What agentkit-otel adds to a run: bench/run.py's sequential run with tracing on (an SDK
exporting every span to a no-op exporter) against tracing off, in one process.

    python bench/otel.py                    # 1,000 runs per case, interleaved
    python bench/otel.py --quick            # a smoke run
    python bench/otel.py --json out.json

One run is bench/run.py's: ``Agent("openai/bench-model", tools=[add]).arun("What is 2 + 3?")``
against the fake OpenAI server (bench/fake_server.py, its own process): a model call that asks
for the tool, the tool, a second model call, the answer. That is four spans (``invoke_agent``,
two ``chat``, one ``execute_tool``) and four histogram records per run when traced. The cases,
run in turn on every iteration so that drift of the machine hits all alike:

- ``not loaded``: agentkit-otel left out of the plugin host (``AGENTKIT_DISABLE_PLUGINS=otel``);
- ``off``: installed and off (the default): its hooks are called and return at once;
- ``on, SDK``: ``AGENTKIT_OTEL=1`` with the OpenTelemetry SDK set up as an application would:
  a global ``TracerProvider`` with a ``BatchSpanProcessor`` over an exporter that drops what it
  is given, and a ``MeterProvider`` whose reader aggregates every measurement;
- ``raw httpx``: bench/run.py's baseline, the same two requests with httpx alone.

A second process measures ``on, no SDK`` (the API's no-op provider) against ``off``, and a third
tracing's own cost without HTTP (the same run on the scripted provider, on against off), and
a fourth the Python function calls per run of that run (cProfile's count), which the machine's
load does not move. Figures:
median milliseconds per run with the interquartile range, and the client process's CPU time per
run (its threads included: the span processor's export thread too). Target: tracing on with an SDK adds at
most 10% to a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

__all__ = ["TARGET", "main"]

#: The most tracing with an SDK may add to a run.
TARGET = 0.10


def _spread(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4)
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2]}


def _sdk() -> Any:
    """A global SDK as an application sets one up, exporting to nowhere; returns the exporter."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        """A no-op exporter that counts what it was given."""

        def __init__(self) -> None:
            self.spans = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.spans += len(spans)
            return SpanExportResult.SUCCESS

    exporter = Dropping()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return tracer_provider, exporter


async def worker(base_url: str, runs: int, with_sdk: bool) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from run import MODEL, PROMPT, RawClient, add, capture_bodies, make_agent  # bench/run.py

    from agentkit import Agent, tool
    from agentkit.plugins import PluginHost

    sdk = _sdk() if with_sdk else None
    bodies = capture_bodies(base_url)
    loaded = make_agent(base_url)  # the process's host: agentkit-otel loaded from its entry point
    assert "otel" in dict(loaded.host.pm.list_name_plugin()), "install agentkit-otel (requirements-dev.txt)"
    without = PluginHost(environ={**os.environ, "AGENTKIT_DISABLE_PLUGINS": "otel"})
    bare = Agent(
        f"openai/{MODEL}", base_url=base_url, api_key="sk-bench", tools=[tool(add)], plugin_host=without
    )
    raw = RawClient(base_url, bodies)

    async def off() -> None:
        os.environ.pop("AGENTKIT_OTEL", None)
        await loaded.arun(PROMPT)

    async def on() -> None:
        os.environ["AGENTKIT_OTEL"] = "1"
        try:
            await loaded.arun(PROMPT)
        finally:
            os.environ.pop("AGENTKIT_OTEL", None)

    async def not_loaded() -> None:
        await bare.arun(PROMPT)

    async def raw_run() -> None:
        assert await raw.run() == "2 + 3 = 5."

    cases = {"off": off, "on": on}
    if with_sdk:
        cases.update({"not loaded": not_loaded, "raw httpx": raw_run})
    for _ in range(20):
        for case in cases.values():
            await case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, float] = dict.fromkeys(cases, 0.0)
    for _ in range(runs):
        for name, case in cases.items():
            start, used = time.perf_counter(), time.process_time()
            await case()
            times[name].append((time.perf_counter() - start) * 1000)
            cpu[name] += time.process_time() - used
    out: dict[str, Any] = {
        name: {**_spread(values), "cpu_ms": cpu[name] / runs * 1000} for name, values in times.items()
    }
    if sdk is not None:
        provider, exporter = sdk
        provider.force_flush()
        out["spans_exported"] = exporter.spans
        out["traced_runs"] = runs + 20
    return out


async def scripted_worker(runs: int) -> dict[str, Any]:
    """Tracing's own cost, without HTTP: the same run on the scripted provider, on and off."""
    sys.path.insert(0, str(HERE))
    from run import PROMPT, add  # bench/run.py

    from agentkit import Agent, tool
    from agentkit.testing import ScriptedProvider, tool_calls

    _sdk()
    script = [tool_calls(("add", {"a": 2, "b": 3})), "2 + 3 = 5."] * (2 * runs + 100)
    agent = Agent("scripted/bench-model", provider=ScriptedProvider(script), tools=[tool(add)])
    times: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}  # this thread's CPU time: what the load moves least
    for i in range(runs + 50):
        for name in ("off", "on"):
            if name == "on":
                os.environ["AGENTKIT_OTEL"] = "1"
            start, used = time.perf_counter(), time.thread_time()
            await agent.arun(PROMPT)
            if i >= 50:
                cpu[name].append((time.thread_time() - used) * 1e6)
                times[name].append((time.perf_counter() - start) * 1e6)
            os.environ.pop("AGENTKIT_OTEL", None)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    return {
        "off_us": off,
        "on_us": on,
        "added_us": on - off,
        "cpu_off_us": cpu_off,
        "cpu_on_us": cpu_on,
        "cpu_added_us": cpu_on - cpu_off,
    }


async def floor_worker(base_url: str, runs: int) -> dict[str, Any]:
    """The OpenTelemetry SDK's own work for one traced run, without agentkit: one run over HTTP
    is traced into in-memory exporters (the benchmark's SDK otherwise), then its spans, with
    the attributes they ended with, and its histogram records, with theirs, are made again
    directly through the API (nested and in the order the run made them, each record in its
    ``chat`` span's context) ``runs`` times. What that costs this thread is the least any
    instrumentation following the conventions could add to a run under this SDK."""
    sys.path.insert(0, str(HERE))
    from opentelemetry import metrics
    from opentelemetry.context import attach, detach, get_current
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import set_span_in_context
    from run import PROMPT, make_agent  # bench/run.py

    import agentkit_otel

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    traced = TracerProvider()
    traced.add_span_processor(SimpleSpanProcessor(spans))
    agentkit_otel.instrument(tracer_provider=traced, meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        await make_agent(base_url).arun(PROMPT)
    finally:
        agentkit_otel.uninstrument()
    finished = spans.get_finished_spans()
    made = {s.name.split()[0]: s for s in finished}  # invoke_agent, chat, execute_tool
    assert len(finished) == 4 and len(made) == 3, [s.name for s in finished]
    points: list[tuple[str, float, dict[str, Any]]] = []  # what each model call records
    for metric in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics:
        for point in metric.data.data_points:
            assert point.count == 2, (metric.name, point)  # the same attributes in both model calls
            points.append((metric.name, point.sum / 2, dict(point.attributes)))
    assert len(points) == 3, points

    tracer_provider, _ = _sdk()  # the benchmark's SDK: a batch processor, every measurement kept
    tracer = tracer_provider.get_tracer("floor")
    meter = metrics.get_meter("floor")
    histograms = {name: meter.create_histogram(name) for name, _, _ in points}
    run_span, chat, tool_span = made["invoke_agent"], made["chat"], made["execute_tool"]

    def span(template: Any) -> tuple[Any, object, Any]:
        parent = get_current()
        live = tracer.start_span(template.name, parent, kind=template.kind, attributes=template.attributes)
        context = set_span_in_context(live, parent)
        return live, attach(context), context

    def model_call() -> None:
        live, token, context = span(chat)
        for name, value, attributes in points:
            histograms[name].record(value, attributes, context)
        detach(token)
        live.end()

    def one_run() -> None:
        live, token, _ = span(run_span)
        model_call()
        tool, tool_token, _ = span(tool_span)
        detach(tool_token)
        tool.end()
        model_call()
        detach(token)
        live.end()

    for _ in range(200):
        one_run()
    cpu = []
    for _ in range(runs // 50):
        used = time.thread_time()
        for _ in range(50):
            one_run()
        cpu.append((time.thread_time() - used) / 50 * 1e6)
    return {"sdk_floor_cpu_us": statistics.median(cpu)}


def _owner(stats: dict[Any, Any], func: Any, seen: frozenset[Any] = frozenset()) -> str:
    """Whose code ``func`` is: ``"otel"`` (the OpenTelemetry API and SDK) or ``"agentkit"``
    (agentkit, its plugins, the benchmark). Built-ins and the standard library count for whoever
    calls them most."""
    path = func[0]
    if "opentelemetry" in path:
        return "otel"
    if "agentkit" in path or "bench" in path:
        return "agentkit"
    callers = stats.get(func, (0, 0, 0, 0, {}))[4]
    counts = {"otel": 0, "agentkit": 0}
    for caller, entry in callers.items():
        if caller not in seen:
            calls = entry[1] if isinstance(entry, tuple) else entry
            counts[_owner(stats, caller, seen | {func})] += calls
    return max(counts, key=lambda k: counts[k])


def _calls_by_owner(stats: dict[Any, Any]) -> dict[str, int]:
    """Calls of each owner (:func:`_owner`); a built-in or standard library function's calls are
    split between its callers' owners."""
    out = {"otel": 0, "agentkit": 0}
    for func, (_, calls, _, _, callers) in stats.items():
        path = func[0]
        if "opentelemetry" in path or "agentkit" in path or "bench" in path or not callers:
            out[_owner(stats, func)] += calls
            continue
        for caller, entry in callers.items():
            out[_owner(stats, caller, frozenset({func}))] += entry[1] if isinstance(entry, tuple) else entry
    return out


async def calls_worker(runs: int) -> dict[str, Any]:
    """Python function calls per run (cProfile's count, its C calls included), off and on, on
    the scripted provider: a figure the machine's load does not move. The calls tracing adds are
    split between the OpenTelemetry API and SDK and agentkit (agentkit-otel and the loop's
    ``around_*`` plumbing)."""
    import cProfile
    import pstats

    sys.path.insert(0, str(HERE))
    from run import PROMPT, add  # bench/run.py

    from agentkit import Agent, tool
    from agentkit.testing import ScriptedProvider, tool_calls

    _sdk()
    script = [tool_calls(("add", {"a": 2, "b": 3})), "2 + 3 = 5."] * (4 * runs + 100)
    agent = Agent("scripted/bench-model", provider=ScriptedProvider(script), tools=[tool(add)])
    out: dict[str, Any] = {}
    owners: dict[str, dict[str, int]] = {}
    for name in ("off", "on", "off", "on"):  # the first of each warms up
        if name == "on":
            os.environ["AGENTKIT_OTEL"] = "1"
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(runs):
            await agent.arun(PROMPT)
        profile.disable()
        os.environ.pop("AGENTKIT_OTEL", None)
        stats = pstats.Stats(profile)
        out[name] = stats.total_calls / runs  # type: ignore[attr-defined]
        owners[name] = _calls_by_owner(stats.stats)  # type: ignore[attr-defined]
    return {
        "off_calls": out["off"],
        "on_calls": out["on"],
        "added_calls": out["on"] - out["off"],
        "added_calls_otel": (owners["on"]["otel"] - owners["off"]["otel"]) / runs,
        "added_calls_agentkit": (owners["on"]["agentkit"] - owners["off"]["agentkit"]) / runs,
    }


def _worker_process(base_url: str, runs: int, mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_OTEL"))}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", base_url, str(runs), mode],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"worker failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base_url, runs, mode = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        if mode == "floor":
            print(json.dumps(asyncio.run(floor_worker(base_url, runs))))
        elif mode == "scripted":
            print(json.dumps(asyncio.run(scripted_worker(runs))))
        elif mode == "calls":
            print(json.dumps(asyncio.run(calls_worker(runs))))
        else:
            print(json.dumps(asyncio.run(worker(base_url, runs, mode == "sdk"))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000, help="runs per case")
    parser.add_argument("--quick", action="store_true", help="50 runs per case: a smoke run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    runs = 50 if args.quick else args.runs
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fake_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        with_sdk = _worker_process(base_url, runs, "sdk")
        api_only = _worker_process(base_url, runs, "api")
        scripted = _worker_process(base_url, max(runs, 500), "scripted")
        calls = _worker_process(base_url, 200, "calls")
        floor = _worker_process(base_url, max(runs, 500), "floor")
    finally:
        server.terminate()
        server.wait(timeout=10)
    added = with_sdk["on"]["median"] / with_sdk["off"]["median"] - 1
    result = {
        "runs": runs,
        "target": TARGET,
        "sdk": with_sdk,
        "api_only": api_only,
        "scripted": scripted,
        "calls": calls,
        "sdk_floor_cpu_us": floor["sdk_floor_cpu_us"],
        "sdk_floor_of_run": floor["sdk_floor_cpu_us"] / 1000 / with_sdk["off"]["median"],
        "added_with_sdk": added,
        "added_when_off": with_sdk["off"]["median"] / with_sdk["not loaded"]["median"] - 1,
        "added_without_sdk": api_only["on"]["median"] / api_only["off"]["median"] - 1,
        "cpu_added_with_sdk_ms": with_sdk["on"]["cpu_ms"] - with_sdk["off"]["cpu_ms"],
        "cpu_added_when_off_ms": with_sdk["off"]["cpu_ms"] - with_sdk["not loaded"]["cpu_ms"],
        "met": added <= TARGET,
    }
    assert with_sdk["spans_exported"] == 4 * with_sdk["traced_runs"], with_sdk  # every traced run: 4 spans
    for label, case in (
        ("not loaded", "not loaded"),
        ("installed, off", "off"),
        ("on, SDK", "on"),
        ("raw httpx", "raw httpx"),
    ):
        s = with_sdk[case]
        print(
            f"{label:15} {s['median']:.3f} ms (IQR {s['q1']:.3f}-{s['q3']:.3f}), client CPU {s['cpu_ms']:.3f} ms"
        )
    print(
        f"on, no SDK      {api_only['on']['median']:.3f} ms (off in that process: {api_only['off']['median']:.3f} ms)"
    )
    print(
        f"without HTTP (scripted provider): {scripted['off_us']:.0f} us per run off, {scripted['on_us']:.0f} us on "
        f"({scripted['added_us']:+.0f} us); CPU {scripted['cpu_off_us']:.0f} us off, {scripted['cpu_on_us']:.0f} us on "
        f"({scripted['cpu_added_us']:+.0f} us)"
    )
    print(
        f"function calls per run without HTTP: {calls['off_calls']:.0f} off, {calls['on_calls']:.0f} on "
        f"({calls['added_calls']:+.0f}: {calls['added_calls_otel']:.0f} in the OpenTelemetry API and SDK, "
        f"{calls['added_calls_agentkit']:.0f} in agentkit-otel and agentkit's around_* plumbing)"
    )
    print(
        f"the OpenTelemetry SDK alone, making the same spans and records without agentkit: "
        f"{floor['sdk_floor_cpu_us']:.0f} us of CPU per run, {result['sdk_floor_of_run'] * 100:.1f}% of the untraced run"
    )
    print(
        f"tracing on with an SDK adds {added * 100:+.1f}% (target <= {TARGET * 100:.0f}%: "
        f"{'met' if result['met'] else 'not met'}); installed and off: {result['added_when_off'] * 100:+.1f}%; "
        f"on without an SDK: {result['added_without_sdk'] * 100:+.1f}%"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
