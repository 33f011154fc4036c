# ruff: noqa: RUF001  (the report uses typographic symbols on purpose)
"""Render bench/results/results.json as docs/performance.md (``python bench/run.py --write-docs``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["postgres_rows", "render_performance", "sync_section"]


def _ms(s: dict[str, float]) -> str:
    return f"{s['median']:.2f} ms (IQR {s['q1']:.2f}–{s['q3']:.2f})"


def _beyond(kb: float) -> str:
    """Memory beyond raw httpx; noise can put agentkit below it, which is no negative cost."""
    return f"+{kb:.1f} KB" if kb > 0 else "none (within noise)"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _anthropic_rows(r: dict[str, Any]) -> list[str]:
    """The Anthropic-shaped sequential run (agentkit-anthropic against the same fake server), when it ran."""
    a = r.get("anthropic_sequential")
    if not a:
        return []
    n = r["counts"]["sequential"]
    ratio = a["agent_ms"]["median"] / a["raw_ms"]["median"]
    cpu = a["agent_cpu_ms"]["median"] / a["raw_cpu_ms"]["median"]
    return [
        f"| one run, sequential, Anthropic-shaped (`anthropic/`, `/v1/messages`; ×{n}) | {_ms(a['agent_ms'])} | "
        f"{_ms(a['raw_ms'])} | {ratio:.2f}× | ≤ 1.3× ({_verdict(ratio <= 1.3)}) |",
        f"| the same, CPU time of the client process per run | {_ms(a['agent_cpu_ms'])} | {_ms(a['raw_cpu_ms'])} | "
        f"{cpu:.2f}× | |",
    ]


def render_performance(r: dict[str, Any]) -> str:
    m, s, c, f, t = r["machine"], r["sequential"], r["concurrent"], r["first_delta"], r["tool_dispatch"]
    seq_ratio = s["agent_ms"]["median"] / s["raw_ms"]["median"]
    thr_ratio = c["agent"]["runs_per_s"]["median"] / c["raw"]["runs_per_s"]["median"]
    mem_delta = c["agent"]["kb_per_run"]["median"] - c["raw"]["kb_per_run"]["median"]
    n = r["counts"]
    out = [
        "# Performance",
        "",
        "agentkit should cost nothing next to the model. These figures come from `python bench/run.py",
        "--write-docs`, which measures agentkit side by side with a raw `httpx` client doing the same",
        "work in the same run; CI runs `--quick` so the benchmark cannot rot (the figures are not",
        "pass/fail: machines are noisy). Rerun it on your machine to compare.",
        "",
        "## The machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gib']} GiB",
        f"- Python {m['python']}, httpx {m['httpx']}; {m['platform']}",
        "- The fake OpenAI-compatible server (`bench/fake_server.py`, raw asyncio, pre-encoded replies)",
        "  runs in its own process, so client and server each have a core.",
        f"- Server raw capacity (8 keep-alive connections, raw sockets): "
        f"{r['server_capacity']['requests_per_s']:,.0f} requests/s — far above what either client asks of it.",
        "",
        "## What one run is",
        "",
        '`Agent("openai/bench-model", tools=[add]).arun("What is 2 + 3?")`: a model call that returns a',
        "tool call, the tool, a second model call with the tool result, the answer. The raw client",
        "sends the same two JSON bodies agentkit sent (rebuilt per run), calls the same function and",
        "parses the same responses, with one `httpx.AsyncClient`.",
        "",
        "The Anthropic-shaped run is the same exchange through agentkit-anthropic",
        '(`Agent("anthropic/bench-model", tools=[add])`): the fake server answers `POST /v1/messages`',
        "with a `tool_use` block, then a text block; the raw client posts the two Messages API bodies",
        "agentkit sent, with the `x-api-key` and `anthropic-version` headers.",
        "",
        "## Results",
        "",
        "| figure | agentkit | raw httpx | ratio | target |",
        "|---|---|---|---|---|",
        f"| one run, sequential (×{n['sequential']}) | {_ms(s['agent_ms'])} | {_ms(s['raw_ms'])} | "
        f"{seq_ratio:.2f}× | ≤ 1.3× ({_verdict(seq_ratio <= 1.3)}) |",
        f"| {n['concurrent']} concurrent runs, one process (median of {n['concurrent_repeats']}) | "
        f"{c['agent']['runs_per_s']['median']:,.0f} runs/s | {c['raw']['runs_per_s']['median']:,.0f} runs/s | "
        f"{thr_ratio:.2f}× | ≥ 0.75× ({_verdict(thr_ratio >= 0.75)}) |",
        f"| peak memory per in-flight run | {c['agent']['kb_per_run']['median']:.1f} KB | "
        f"{c['raw']['kb_per_run']['median']:.1f} KB | {_beyond(mem_delta)} | ≤ +50 KB ({_verdict(mem_delta <= 50)}) |",
        f"| streaming: time to first text delta (×{n['first_delta']}) | {_ms(f['agent_ms'])} | "
        f"{_ms(f['raw_ms'])} | {f['agent_ms']['median'] / f['raw_ms']['median']:.2f}× | |",
        *_anthropic_rows(r),
        "",
        "Tool dispatch overhead (scripted provider, no HTTP; a run with one tool call minus a run",
        f"without, ×{n['tool_dispatch']}): **{t['overhead_us']:.0f} µs per call** — validation of the",
        "arguments against the tool's JSON Schema, the thread a sync tool runs in, the tool message, the",
        "hooks and the guardrail checks.",
        "",
        "Memory per in-flight run is the peak RSS growth while the runs are in flight, divided by their",
        "number, after a warm-up of 50 runs; each measurement runs in a fresh process.",
    ]
    out += [
        "",
        "## Reading the figures",
        "",
        "- Where agentkit's time goes in a run (measured separately, same machine): about 300 µs for the",
        "  worker thread a *sync* tool runs in (two thread hand-offs, ~150 µs each on this VM); without",
        "  HTTP, a run with one tool call costs ~370 µs of agentkit code in all (a run without tools",
        "  ~90 µs): the loop, request building, argument validation, hooks and guardrails. With an async",
        "  tool the sequential ratio is about 1.1×. Both clients also pay httpcore's retry of a missing",
        "  optional import (`sniffio`) on every request.",
        "- The absolute concurrent throughput is low for both clients alike: with 500 connections in",
        "  flight, httpx's connection pool dominates, far below the fake server's capacity above.",
        "- Sessions: an append that gets the lock at once runs inline (a hand-off to the store's thread",
        "  and back would cost ~300 µs here) and commits one transaction, about 110 µs of it in SQLite.",
        "  A cold load of 10,000 messages parses their JSON in batches into msgspec structs derived from",
        "  the message classes (~5 ms of CPU) and builds every message with its class's constructor, so",
        "  validators run (~17 ms: the most of it, and ~6 ms more than the slot setters it replaced), with",
        "  the garbage collector paused; the rest is fetching rows or reading the file. This VM is shared",
        "  and moves single runs by up to 2× (its neighbours), hence medians over 9 repeats.",
    ]
    sync = r.get("sync")
    if sync:
        out += ["", *sync_section(sync)]
    imp = r.get("import_time")
    cli = r.get("cli_startup")
    if imp or cli:
        out += ["", "## Start-up", "", "| what | median | target |", "|---|---|---|"]
        out += _startup_rows(imp, cli)
    storage = r.get("storage")
    if storage:
        out += ["", "## Sessions (`bench/storage.py`)", "", _storage_table(storage)]
    mcp = r.get("mcp")
    if mcp:
        out += ["", *mcp_section(mcp)]
    memory = r.get("memory")
    if memory:
        out += [
            "",
            "## Memory recall (`bench/memory.py`)",
            "",
            "| layout | memories | median | p95 | target |",
            "|---|---|---|---|---|",
        ]
        for label, row in memory.items():
            out.append(
                f"| {label} | {row['memories']:,} | {row['median_ms']:.2f} ms | {row['p95_ms']:.2f} ms | "
                f"top 5 in ≤ 10 ms ({_verdict(row['median_ms'] <= 10)}) |"
            )
    postgres = r.get("postgres")
    if postgres and postgres.get("results"):
        out += ["", "## PostgreSQL (`bench/postgres.py`)", "", *postgres_rows(postgres)]
    batch = r.get("batch")
    if batch:
        out += ["", "## Batch runs (`bench/batch.py`)", "", *_batch_rows(batch)]
    hooks = r.get("hooks")
    if hooks:
        out += ["", "## Lifecycle hooks (`bench/hooks.py`)", "", *_hooks_rows(hooks)]
    otel = r.get("otel")
    if otel:
        out += ["", *otel_section(otel)]
    if r.get("quick"):
        out += ["", "_These figures come from a quick run (`--quick`): small counts, more noise._"]
    return "\n".join(out) + "\n"


def mcp_section(mcp: Any) -> list[str]:
    """The MCP tool-call section (``bench/mcp_calls.py``)."""
    target = mcp["target"] * 100
    out = [
        "## MCP tool calls (`bench/mcp_calls.py`)",
        "",
        f"One `echo` call over stdio to a server written with the SDK, {mcp['calls']} calls x {mcp['rounds']} "
        "rounds per client, interleaved: the SDK's own `ClientSession.call_tool` next to agentkit "
        "(schema check, call, result conversion). Wall time per call (median and best round) and the client "
        "process's CPU time per call.",
        "",
        "| client | median | best round | client CPU | median vs SDK | best vs SDK | paired rounds vs SDK |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in mcp["results"]:
        out.append(
            f"| {r['label']} | {r['per_call_us'] / 1000:.2f} ms | {r['best_us'] / 1000:.2f} ms | "
            f"{r['client_cpu_us']:.0f} µs | {r['over_sdk'] * 100:+.1f}% | {r['best_over_sdk'] * 100:+.1f}% | "
            f"{r.get('paired_over_sdk', 0) * 100:+.1f}% |"
        )
    by_label = {r["label"]: r for r in mcp["results"]}
    added = by_label["agentkit"]["over_sdk"] * 100
    sync = by_label.get("agentkit, sync run")
    sync_text = f", sync runs {sync['over_sdk'] * 100:+.1f}%" if sync else ""
    out += [
        "",
        f"Target: agentkit adds ≤ {target:g}% to the SDK's round trip; this run: {added:+.1f}%{sync_text} "
        f"({'met' if mcp['met'] else 'not met'}).",
    ]
    return out


def sync_section(y: Any) -> list[str]:
    """Synchronous runs, 200 threads and fresh agents (``bench/sync_runs.py``)."""
    t, n = y["targets"], y["counts"]
    out = [
        "## Synchronous runs and fresh agents (`bench/sync_runs.py`)",
        "",
        "`agent.run()` (the sync API) next to the same exchange written by hand with one sync `httpx.Client`: "
        "the same two JSON bodies, the same `add` function, the same parsing, against the same fake server; "
        "each part in fresh processes, agentkit and raw interleaved in each. Load average while measuring: "
        + (f"{min(y['load']):.0f} to {max(y['load']):.0f}" if y.get("load") else "not recorded")
        + f" on {os.cpu_count()} cores.",
        "",
        "| figure | agentkit | raw httpx | ratio | target |",
        "|---|---|---|---|---|",
    ]
    s = y.get("sequential")
    if s:
        out.append(
            f"| sync run, one at a time (×{n['sequential']} × {n['sequential_repeats']} processes) | "
            f"{_ms(s['agent_ms'])} | {_ms(s['raw_ms'])} | {s['ratio']:.2f}× (per process: "
            + ", ".join(f"{v:.2f}×" for v in s.get("ratio_per_process", []))
            + f") | ≤ {t['sequential']}× ({_verdict(s['met'])}) |"
        )
    f = y.get("first_delta")
    if f:
        for flavour, api, raw in (("sync", "agent.stream()", "httpx.Client.stream()"),
                                  ("async", "agent.astream()", "httpx.AsyncClient.stream()")):  # fmt: skip
            ratio = f[f"ratio_{flavour}"]
            out.append(
                f"| first text delta, {api} vs {raw} (×{n['first_delta']} × {n['first_delta_repeats']}) | "
                f"{_ms(f[f'agent_{flavour}'])} | {_ms(f[f'raw_{flavour}'])} | {ratio:.2f}× | "
                f"≤ {t['first_delta']}× ({_verdict(ratio <= t['first_delta'])}) |"
            )
    th = y.get("threads")
    if th:
        out.append(
            f"| sync runs from {y['thread_count']} threads at once, one shared agent / client (median of "
            f"{n['threads_repeats']}) | {th['agent_runs_per_s']['median']:,.0f} runs/s | "
            f"{th['raw_runs_per_s']['median']:,.0f} runs/s | {th['ratio']:.2f}× | ≥ {t['threads']}× "
            f"({_verdict(th['met'])}) |"
        )
    failed = {k: v for k, v in ((th or {}).get("failed_processes") or {}).items() if v}
    if failed:
        out += ["", "Processes of the 200-thread part that failed and were measured again: " + "; ".join(
            f"{mode}: {len(errors)} ({errors[0]})" for mode, errors in failed.items()
        ) + "."]
    fresh = y.get("fresh_agents")
    if fresh:
        labels = {
            "fresh-async": "a new Agent per run, `arun()` then `aclose()`, {n} at once",
            "shared-async": "one shared Agent, {n} `arun()` at once",
            "fresh-sync": "a new Agent per run, `with agent: agent.run()`, {n} per round from 50 threads",
        }
        out += [
            "",
            f"Memory with a fresh agent per run: {n['fresh_rounds']} rounds, RSS after each round "
            "(after `gc.collect()`), from the RSS after a warm-up round of 50 runs:",
            "",
            "| runs | after warm-up | after round 1 | after the last round | growth over the second half |",
            "|---|---|---|---|---|",
        ]
        for mode, m in fresh.items():
            label = labels.get(mode, mode).format(n=m.get("per_round", n["fresh_per_round"]))
            out.append(
                f"| {label} | {m['base_mb']:.0f} MB | {m['rss_mb'][0]:.0f} MB | {m['rss_mb'][-1]:.0f} MB | "
                + (f"+{m['second_half_growth_mb']:.1f} MB |" if m["second_half_growth_mb"] > 0 else "none |")
            )
    return out


def otel_section(o: Any) -> list[str]:
    """The OpenTelemetry section (``bench/otel.py``)."""
    sdk, api = o["sdk"], o["api_only"]
    labels = (
        ("not loaded", "agentkit-otel not loaded (`AGENTKIT_DISABLE_PLUGINS=otel`)"),
        ("off", "installed, off (the default)"),
        ("on", "on, an SDK exporting every span to a no-op exporter"),
        ("raw httpx", "raw httpx (the same two requests)"),
    )
    out = [
        "## OpenTelemetry (`bench/otel.py`)",
        "",
        f"bench/run.py's sequential run (a tool call, the tool, the answer) against the fake server, {o['runs']:,} "
        "runs per case, the cases interleaved in one process. \"On\": `AGENTKIT_OTEL=1` with the SDK set up as "
        "an application would (a global `TracerProvider` with a `BatchSpanProcessor` over an exporter that "
        "drops the spans, a `MeterProvider` aggregating every measurement): four spans and six histogram "
        "records per run. Wall time per run (median, IQR) and the client process's CPU time per run.",
        "",
        "| case | per run | IQR | client CPU |",
        "|---|---|---|---|",
    ]
    for key, label in labels:
        c = sdk[key]
        out.append(f"| {label} | {c['median']:.2f} ms | {c['q1']:.2f}–{c['q3']:.2f} ms | {c['cpu_ms']:.2f} ms |")
    out += [
        "",
        f"Tracing on adds {o['added_with_sdk'] * 100:+.1f}% to a run (target ≤ {o['target'] * 100:g}%: "
        f"{'met' if o['met'] else 'not met'}; {o['cpu_added_with_sdk_ms'] * 1000:+.0f} µs of client CPU). "
        f"Installed and off: {o['added_when_off'] * 100:+.1f}% ({o['cpu_added_when_off_ms'] * 1000:+.0f} µs of "
        f"CPU). On with no SDK in the process (a second process): {api['on']['median']:.2f} ms against "
        f"{api['off']['median']:.2f} ms off ({o['added_without_sdk'] * 100:+.1f}%): no span is made when nothing "
        "would receive it.",
    ]
    scripted = o.get("scripted")
    if scripted:
        out += [
            "",
            f"Tracing's own cost, without HTTP (the same run on the scripted provider, on against off): "
            f"{scripted['added_us']:+.0f} µs per run ({scripted['off_us']:.0f} µs off, {scripted['on_us']:.0f} µs on), "
            "nearly all of it in the SDK (span creation, the batch processor, six histogram records with "
            "exemplars): a run's share depends on how long its model calls take.",
        ]
    calls = o.get("calls")
    if calls and "added_calls_otel" in calls:
        out += [
            "",
            f"Python function calls per run without HTTP (cProfile's count, which the load does not move): "
            f"{calls['off_calls']:,.0f} off, {calls['on_calls']:,.0f} on ({calls['added_calls']:+,.0f}: "
            f"{calls['added_calls_otel']:,.0f} in the OpenTelemetry API and SDK, {calls['added_calls_agentkit']:,.0f} "
            "in agentkit-otel and the loop's `around_*` plumbing).",
        ]
    return out


def _startup_rows(imp: Any, cli: Any) -> list[str]:
    """The rows that carry a budget: ``import agentkit`` (over a bare interpreter) and ``agentkit --help``."""
    rows = []
    targets = {
        "import agentkit": (imp, "over_bare_ms", "over a bare interpreter"),
        "agentkit --help": (cli, "median_ms", ""),
    }
    for source in (imp, cli):
        for item in (source or {}).get("results", []):
            label = item["label"]
            text = f"{item['median_ms']:.1f} ms"
            if item.get("over_bare_ms"):
                text += f" ({item['over_bare_ms']:+.1f} ms over a bare interpreter)"
            target = ""
            if label in targets:
                owner, key, note = targets[label]
                budget = owner["budget_ms"]
                target = f"≤ {budget:.0f} ms {note} ({_verdict(item[key] <= budget)})".replace("  ", " ")
            rows.append(f"| `{label}` | {text} | {target} |")
    return rows


def _hooks_rows(h: Any) -> list[str]:
    us = h["us_per_run"]
    labels = {
        "none": "no lifecycle hook implemented",
        "plain": "plain `before_model_call`, `after_tool_call`, `on_event`",
        "async": "one `async def before_model_call`",
    }
    rows = [
        "What lifecycle hooks add to a run (a tool call, the tool, the answer; the scripted provider, no "
        f"HTTP; median time per run of {h['runs']:,} runs, median of {h['repeat']} processes). Plain "
        "implementations are called by pluggy on the event loop; an async one makes pluggy's call for its "
        "hook go through a helper thread (`on_event`'s async observers excepted).",
        "",
        "| hooks | per run | over no hooks |",
        "|---|---|---|",
    ]
    for case, label in labels.items():
        if case in us:
            rows.append(f"| {label} | {us[case]:,.0f} µs | {us[case] - us['none']:+,.0f} µs |")
    return rows


def _batch_rows(b: Any) -> list[str]:
    a, raw = b["items_per_s"]["agentkit"], b["items_per_s"]["raw"]
    return [
        f"{b['items']:,} items against the fake server, {b['concurrency']} in flight, one model call each "
        f"(items per second, median and min–max of {b['repeat']} runs, each in a fresh process). "
        "agentkit: `run_batch(agent, items, output=results.jsonl, concurrency=16)` on the local executor, "
        "every result written to the results file as it finishes. Baseline: a bare asyncio loop with a "
        "semaphore of the same size sending the same request body with one `httpx.AsyncClient`.",
        "",
        "| run_batch | bare asyncio + httpx | ratio | target |",
        "|---|---|---|---|",
        f"| {a['median']:,.0f} items/s ({a['min']:,.0f}–{a['max']:,.0f}) | "
        f"{raw['median']:,.0f} items/s ({raw['min']:,.0f}–{raw['max']:,.0f}) | {b['ratio']:.2f}× | "
        f"≥ {b['target']:.1f}× ({_verdict(b['met'])}) |",
    ]


def _storage_table(storage: Any) -> str:
    targets = storage.get("targets", {})
    append_target = targets.get("append_turns_per_s", 5000)
    load_target = targets.get("load_ms", 50)
    rows = [
        "Appending turns of two messages one at a time, and loading a 10,000-message session cold "
        "(medians, min–max over the repeats).",
        "",
        "| store | append, turns/s | load 10k messages | reload after one turn | targets |",
        "|---|---|---|---|---|",
    ]
    for r in storage["results"]:
        a, lo, re = r["append_turns_per_s"], r["load_ms"], r.get("reload_ms")
        ok = a["median"] >= append_target and lo["median"] <= load_target
        reload = f"{re['median']:.1f} ms" if re else ""
        rows.append(
            f"| {r['store']} | {a['median']:,.0f} ({a['min']:,.0f}–{a['max']:,.0f}) | "
            f"{lo['median']:.1f} ms ({lo['min']:.1f}–{lo['max']:.1f}) | {reload} | "
            f"≥ {append_target:,.0f}/s, ≤ {load_target:.0f} ms ({_verdict(ok)}) |"
        )
    return "\n".join(rows)


def postgres_rows(pg: Any) -> list[str]:
    """The PostgreSQL store and memory beside SQLite's (``bench/postgres.py``)."""
    t, n = pg["targets"], pg["counts"]

    def rate(x: Any) -> str:
        return f"{x['median']:,.0f} ({x['min']:,.0f}–{x['max']:,.0f})"

    changed = ", ".join(f"`{k}={v}`" for k, v in (pg.get("server_settings") or {}).items())
    settings = (
        f"settings changed for this run: {changed}; the targets are for the defaults"
        if changed
        else "default settings: every commit waits for its WAL flush"
    )
    out = [
        f"PostgreSQL {pg['postgres'].split()[0]} started for the run ({settings}) and reached over loopback "
        "TCP, beside SQLite (a file, `synchronous=normal`: no "
        f"flush per commit) in the same run. Turns of two messages, {n['turns']:,} per run appended one at a "
        f"time by 1 writer, {n['turns'] // 2:,} each by 8 writer processes at once (each to a session of "
        f"its own, then all to one session); medians and min–max of {n['repeat']} runs. Load: a "
        f"{n['messages']:,}-message session read by a fresh store, and again after one more turn. Recall: "
        f"top 5 over {n['memories']:,} memories, no embeddings (load average during the run: "
        f"{pg['load_average']:.1f} on {pg['cpus']} CPUs).",
        "",
        "| store | 1 writer, turns/s | 8 writers, own sessions | 8 writers, one session "
        f"| load {n['messages']:,} messages "
        "| reload after one turn |",
        "|---|---|---|---|---|---|",
    ]
    for r in pg["results"]:
        out.append(
            f"| {r['store']} | {rate(r['append_1_turns_per_s'])} | {rate(r['append_8_own_turns_per_s'])} | "
            f"{rate(r['append_8_shared_turns_per_s'])} | {r['load_ms']['median']:.1f} ms "
            f"({r['load_ms']['min']:.1f}–{r['load_ms']['max']:.1f}) | {r['reload_ms']['median']:.1f} ms |"
        )
    per_turn = [r for r in pg["results"] if r.get("append_per_turn")]
    if per_turn:
        labels = list(per_turn[0]["append_per_turn"])
        out += [
            "",
            "| per turn appended: client CPU (the writer's process, every thread) / transactions / WAL "
            "flushes | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
        ]
        for r in per_turn:
            cells = []
            for x in r["append_per_turn"].values():
                server = "" if x.get("commits") is None else f" / {x['commits']:.2f} / {x['wal_flushes']:.2f}"
                cells.append(f"{x['client_cpu_ms']:.3f} ms{server}")
            out.append(f"| {r['store']} | " + " | ".join(cells) + " |")
    floor = pg.get("round_trip_ms")
    if floor:
        out += [
            "",
            f"A bare round trip to the server (`SELECT 1` on one connection) took {floor['median_ms']:.2f} ms "
            f"(p95 {floor['p95_ms']:.2f} ms) in the same run: the floor under every PostgreSQL figure.",
        ]
    flush = pg.get("disk_flush_ms")
    if flush:
        out += [
            "",
            f"A flush of the server's disk (an 8 kB write and `fdatasync` in its data directory) took "
            f"{flush['median_ms']:.2f} ms (p95 {flush['p95_ms']:.2f} ms): what every durable commit, or "
            "group of commits sharing a flush, waits for.",
        ]
    out += ["", "| recall, top 5 | layout | median | p95 |", "|---|---|---|---|"]
    for r in pg["results"]:
        for layout, row in r["recall"].items():
            out.append(f"| {r['store']} | {layout} | {row['median_ms']:.2f} ms | {row['p95_ms']:.2f} ms |")
    pr = pg["results"][0]
    checks = [
        (f"≥ {t['writers8_turns_per_s']:,.0f} turns/s from 8 writers", pr["append_8_own_turns_per_s"]["median"]
         >= t["writers8_turns_per_s"]),
        (f"a 10,000-message session loaded in ≤ {t['load_ms']:.0f} ms", pr["load_ms"]["median"] <= t["load_ms"]),
        (f"recall top 5 in ≤ {t['recall_ms']:.0f} ms", all(x["median_ms"] <= t["recall_ms"] for x in pr["recall"].values())),
    ]  # fmt: skip
    out += ["", "Targets (PostgreSQL): " + "; ".join(f"{what} ({_verdict(ok)})" for what, ok in checks) + "."]
    return out


if __name__ == "__main__":
    results = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/results.json").read_text())
    sys.stdout.write(render_performance(results))
