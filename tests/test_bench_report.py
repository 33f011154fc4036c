"""What ``python bench/run.py --quick`` prints: a line for every part it ran, and no negative
memory figure (a quick run's noise can put agentkit's peak below raw httpx's)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spread(median: float) -> dict[str, float]:
    return {"median": median, "q1": median, "q3": median, "min": median, "max": median}


def results(agent_kb: float, raw_kb: float) -> dict[str, Any]:
    """A quick run's results, as bench/run.py assembles them."""
    return {
        "machine": {"cpu": "x", "cores": 2, "memory_gib": 24, "python": "3.11", "platform": "linux", "httpx": "0.28"},
        "quick": True,
        "counts": {"sequential": 50, "concurrent": 100, "concurrent_repeats": 1, "first_delta": 20, "tool_dispatch": 50},
        "server_capacity": {"requests_per_s": 9000.0},
        "sequential": {"agent_ms": spread(3.0), "raw_ms": spread(2.5)},
        "concurrent": {
            "agent": {"runs_per_s": spread(40.0), "kb_per_run": spread(agent_kb)},
            "raw": {"runs_per_s": spread(35.0), "kb_per_run": spread(raw_kb)},
        },
        "first_delta": {"agent_ms": spread(1.6), "raw_ms": spread(1.0)},
        "tool_dispatch": {"with_tool_us": [300.0], "plain_us": [180.0], "overhead_us": 120.0},
        "import_time": {"budget_ms": 100, "results": [{"label": "import agentkit", "median_ms": 80.0, "over_bare_ms": 60.0}]},
        "cli_startup": {"budget_ms": 150, "results": [{"label": "agentkit --help", "median_ms": 120.0, "over_bare_ms": 95.0}]},
        "storage": {"results": [{"store": "sqlite", "append_turns_per_s": spread(8000.0), "load_ms": spread(34.0)}]},
        "memory": {"one user": {"memories": 10000, "median_ms": 0.8, "p95_ms": 2.0, "p5_ms": 0.5}},
        "batch": {"items": 200, "concurrency": 16, "repeat": 1, "ratio": 2.4, "target": 0.8, "met": True,
                  "items_per_s": {"agentkit": {"median": 325.0}, "raw": {"median": 134.6}}},
        "mcp": {"calls": 50, "rounds": 2, "target": 0.1, "met": True, "results": [
            {"label": "sdk", "per_call_us": 2499.4, "best_us": 2215.6, "client_cpu_us": 532.3, "over_sdk": 0.0,
             "best_over_sdk": 0.0, "cpu_over_sdk_us": 0.0},
            {"label": "agentkit", "per_call_us": 2619.7, "best_us": 2172.2, "client_cpu_us": 525.7,
             "over_sdk": 0.0481, "best_over_sdk": -0.0196, "cpu_over_sdk_us": -6.6},
        ]},
        "hooks": {"runs": 300, "repeat": 1, "us_per_run": {"none": 185.0, "plain": 212.4, "async": 427.3}},
    }  # fmt: skip


NEGATIVE = re.compile(r"(?<![\w.])[-\u2212]\d")


@pytest.mark.parametrize(("agent_kb", "raw_kb"), [(12.0, 4.0), (1.8, 55.6)])
def test_the_quick_report_has_every_part_and_no_negative_figure(agent_kb: float, raw_kb: float) -> None:
    run = load("run")
    text = run.report(results(agent_kb, raw_kb))
    assert not NEGATIVE.search(text), text
    for part in ("server capacity", "sequential run", "100 concurrent", "memory per in-flight run",
                 "first text delta", "tool dispatch", "import agentkit", "agentkit --help",
                 "sessions, sqlite", "memory recall, one user", "batch of 200 items", "MCP tool call, agentkit",
                 "a run with hooks"):  # fmt: skip
        assert part in text, part
    memory = next(line for line in text.splitlines() if line.startswith("memory per in-flight run"))
    if agent_kb > raw_kb:
        assert f"{agent_kb - raw_kb:.1f} KB beyond raw" in memory
    else:
        assert "no more than raw" in memory


def test_every_part_the_runner_measures_has_a_line() -> None:
    """Each sub-benchmark run.py runs is stored under its key; report() has a line for each."""
    run = load("run")
    source = (BENCH / "run.py").read_text()
    keys = set(re.findall(r'results\["(\w+)"\] =', source)) | set(re.findall(r'\("\w+\.py", "(\w+)"', source))
    assert {"storage", "memory", "import_time", "cli_startup"} <= keys
    assert keys <= run._REPORTED, keys - run._REPORTED
    extra = {**results(12.0, 4.0), "someday": {"x": 1}}
    assert "someday: measured, see results.json" in run.report(extra)


def test_the_performance_page_shows_no_negative_memory_cost() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        render = load("render")
        parts = {k: v for k, v in results(1.8, 55.6).items() if k not in ("batch", "mcp", "hooks")}
        page = render.render_performance(parts)
    finally:
        sys.path.remove(str(BENCH))
    row = next(line for line in page.splitlines() if line.startswith("| peak memory per in-flight run"))
    assert "none (within noise)" in row and "+-" not in row


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux only: /proc/self/clear_refs")
def test_the_peak_is_measured_from_the_reset_not_the_warm_up() -> None:
    run = load("run")
    block = bytearray(64 * 1024 * 1024)  # a warm-up peak of 64 MB, then freed
    block[::4096] = b"x" * len(block[::4096])
    del block
    lifetime_peak = run._peak_kb()
    assert run._reset_peak()
    assert run._peak_kb() < lifetime_peak - 32 * 1024  # the warm-up's peak is forgotten
