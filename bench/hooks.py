"""What lifecycle hooks cost a run: none, plain functions, and an ``async def`` hook.

::

    python bench/hooks.py                      # 3,000 runs per case, 3 repeats
    python bench/hooks.py --json out.json      # also write the figures as JSON
    python bench/hooks.py --runs 300 --repeat 1  # a smoke run

One run is what bench/run.py times (a tool call, the tool, the answer), played by the built-in
scripted provider so that only agentkit's own work is measured, with no HTTP. The cases:

- ``none``: no plugin implements a lifecycle hook (every call is skipped);
- ``plain``: plain-function implementations of ``before_model_call``, ``after_tool_call`` and
  ``on_event`` (pluggy calls them inline, on the event loop);
- ``async``: one ``async def`` implementation of ``before_model_call`` (pluggy's call is driven
  from a helper thread, the coroutine awaited on the loop: see agentkit/_hookcall.py).

Each figure is the median time per run, the median of ``--repeat`` processes (cases
alternate, so that drift of the machine hits all alike). Not a test: nothing fails on a slow
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASES = ("none", "plain", "async")


def worker(case: str, runs: int) -> float:
    """Median microseconds per run for ``case`` (in this process)."""
    import agentkit
    from agentkit.plugins import PluginHost
    from agentkit.testing import ScriptedProvider, tool_calls

    @agentkit.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    class Plain:
        @agentkit.hookimpl
        def before_model_call(self, ctx: Any, request: Any) -> None:
            return None

        @agentkit.hookimpl
        def after_tool_call(self, ctx: Any, call: Any, result: Any) -> None:
            return None

        @agentkit.hookimpl
        def on_event(self, ctx: Any, event: Any) -> None:
            return None

    class Async:
        @agentkit.hookimpl
        async def before_model_call(self, ctx: Any, request: Any) -> None:
            return None

    host = PluginHost(entry_points=False)
    if case == "plain":
        host.register(Plain(), name="plain")
    elif case == "async":
        host.register(Async(), name="async")
    warmup = 50
    script = [tool_calls(("add", {"a": 2, "b": 3})), "2 + 3 = 5."] * (runs + warmup)
    agent = agentkit.Agent("scripted/bench", provider=ScriptedProvider(script), tools=[add], plugin_host=host)

    async def go() -> float:
        for _ in range(warmup):
            await agent.arun("What is 2 + 3?")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            await agent.arun("What is 2 + 3?")
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e6

    return asyncio.run(go())


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    found: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(args.repeat):
        for case in CASES:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", case, str(args.runs)], capture_output=True, text=True, check=True
            )
            found[case].append(json.loads(out.stdout))
    figures = {case: statistics.median(values) for case, values in found.items()}
    result = {"runs": args.runs, "repeat": args.repeat, "us_per_run": figures}
    for case in CASES:
        extra = figures[case] - figures["none"]
        print(f"{case:6} {figures[case]:8.0f} us per run ({extra:+.0f} us over no hooks)")
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
