"""How long ``import agentkit`` takes, over a bare interpreter.

Runs each statement in a fresh interpreter N times and reports the median wall time::

    python bench/import_time.py                 # 30 runs each, a table
    python bench/import_time.py -n 50 --json out.json
    python bench/import_time.py --check         # exit 1 if import agentkit costs > 60 ms

The budget (60 ms over ``python -c pass``) is for ``import agentkit`` alone; ``from agentkit
import Agent, tool`` is shown for information (it imports the agent and tool modules).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["STATEMENTS", "main", "measure"]

STATEMENTS: dict[str, str] = {
    "bare interpreter": "pass",
    "import agentkit": "import agentkit",
    "from agentkit import Agent, tool": "from agentkit import Agent, tool",
}
BUDGET_MS = 60.0


def measure(python: str, statement: str, runs: int, env: dict[str, str]) -> list[float]:
    """Wall times (ms) of ``python -c statement`` in fresh processes."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-c", statement], env=env, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=30, help="runs per statement (default 30)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument(
        "--budget-ms", type=float, default=BUDGET_MS, help="budget for import agentkit over bare"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the budget is exceeded")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    # No bytecode writing, no user site noise; warm the caches once so the first run is not an outlier.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for statement in STATEMENTS.values():
        subprocess.run([args.python, "-c", statement], env=env, check=True, stdout=subprocess.DEVNULL)

    # Interleave the statements so that drift in machine load affects them alike.
    samples: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    for _ in range(args.runs):
        for label, statement in STATEMENTS.items():
            samples[label] += measure(args.python, statement, 1, env)

    bare = statistics.median(samples["bare interpreter"])
    rows: list[dict[str, Any]] = []
    for label, times in samples.items():
        median = statistics.median(times)
        rows.append(
            {
                "label": label,
                "statement": STATEMENTS[label],
                "median_ms": round(median, 2),
                "min_ms": round(min(times), 2),
                "max_ms": round(max(times), 2),
                "over_bare_ms": round(median - bare, 2),
            }
        )
    cost = next(r["over_bare_ms"] for r in rows if r["label"] == "import agentkit")
    ok = cost <= args.budget_ms

    width = max(len(r["label"]) for r in rows)
    print(f"{'statement':<{width}}  {'median':>9}  {'min':>9}  {'max':>9}  {'over bare':>10}")
    for r in rows:
        print(
            f"{r['label']:<{width}}  {r['median_ms']:>7.1f}ms  {r['min_ms']:>7.1f}ms  "
            f"{r['max_ms']:>7.1f}ms  {r['over_bare_ms']:>8.1f}ms"
        )
    verdict = "within" if ok else "OVER"
    print(
        f"\nimport agentkit costs {cost:.1f} ms over a bare interpreter: {verdict} the {args.budget_ms:g} ms budget"
    )
    print(f"({args.runs} runs each, median; {platform.python_implementation()} {platform.python_version()})")

    if args.json:
        result = {
            "python": args.python,
            "python_version": platform.python_version(),
            "runs": args.runs,
            "budget_ms": args.budget_ms,
            "import_cost_ms": cost,
            "within_budget": ok,
            "results": rows,
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
