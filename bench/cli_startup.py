"""How long ``agentkit --help`` takes, next to a bare interpreter.

Runs each command in a fresh process N times (interleaved, after one warm-up) and reports the
median wall time::

    python bench/cli_startup.py                  # 30 runs each, a table
    python bench/cli_startup.py -n 50 --json out.json
    python bench/cli_startup.py --check          # exit 1 if `agentkit --help` takes > 150 ms

The budget is for the installed ``agentkit`` console script with every first-party plugin
installed: ``--help`` builds the argparse tree and stops, importing no plugin, no httpx, no
jsonschema and no tiktoken (``tests/test_cli_startup.py`` checks that part without timing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["BUDGET_MS", "commands", "main", "measure"]

BUDGET_MS = 150.0


def commands(python: str) -> dict[str, list[str]]:
    """What is timed: a bare interpreter, the console script, and ``python -m agentkit``."""
    script = Path(python).parent / "agentkit"
    if not script.exists():
        script = Path(shutil.which("agentkit") or script)
    return {
        "bare interpreter": [python, "-c", "pass"],
        "agentkit --help": [str(script), "--help"],
        "python -m agentkit --help": [python, "-m", "agentkit", "--help"],
    }


def measure(cmd: list[str], env: dict[str, str]) -> float:
    """Wall time (ms) of one run of ``cmd``."""
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=30, help="runs per command (default 30)")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose agentkit to measure")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--budget-ms", type=float, default=BUDGET_MS, help="budget for `agentkit --help`")
    parser.add_argument("--check", action="store_true", help="exit 1 when the budget is exceeded")
    parser.add_argument("--quick", action="store_true", help="5 runs each (for CI smoke runs)")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")
    cmds = commands(args.python)
    if not Path(cmds["agentkit --help"][0]).exists():
        parser.error(f"no agentkit console script next to {args.python}; install agentkit there first")

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for cmd in cmds.values():  # warm the file cache once
        measure(cmd, env)
    samples: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(runs):  # interleaved, so drift in machine load affects all alike
        for label, cmd in cmds.items():
            samples[label].append(measure(cmd, env))

    bare = statistics.median(samples["bare interpreter"])
    rows: list[dict[str, Any]] = []
    for label, times in samples.items():
        median = statistics.median(times)
        rows.append(
            {
                "label": label,
                "command": " ".join(cmds[label]),
                "median_ms": round(median, 2),
                "min_ms": round(min(times), 2),
                "max_ms": round(max(times), 2),
                "over_bare_ms": round(median - bare, 2),
            }
        )
    help_ms = next(r["median_ms"] for r in rows if r["label"] == "agentkit --help")
    ok = help_ms <= args.budget_ms

    width = max(len(r["label"]) for r in rows)
    print(f"{'command':<{width}}  {'median':>9}  {'min':>9}  {'max':>9}  {'over bare':>10}")
    for r in rows:
        print(
            f"{r['label']:<{width}}  {r['median_ms']:>7.1f}ms  {r['min_ms']:>7.1f}ms  "
            f"{r['max_ms']:>7.1f}ms  {r['over_bare_ms']:>8.1f}ms"
        )
    verdict = "within" if ok else "OVER"
    print(f"\nagentkit --help takes {help_ms:.1f} ms: {verdict} the {args.budget_ms:g} ms budget")
    print(f"({runs} runs each, median; {platform.python_implementation()} {platform.python_version()})")
    if args.json:
        result = {
            "python": args.python,
            "python_version": platform.python_version(),
            "runs": runs,
            "budget_ms": args.budget_ms,
            "help_ms": help_ms,
            "within_budget": ok,
            "results": rows,
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
