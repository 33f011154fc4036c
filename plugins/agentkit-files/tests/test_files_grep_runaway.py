"""A runaway regular expression cannot freeze the process: both timeouts hold.

``(a+)+$`` on a 41-byte line backtracks ~2**40 times, holding the GIL all along. Each case
runs in a subprocess of its own (a frozen process cannot time itself out), with an agent
whose model asks for that grep, and a heartbeat task that measures how long the event loop
was blocked. The pure-Python search (ripgrep off) must give up at ``grep_timeout``, or at the
tool's timeout when that comes first, with its child process gone either way.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys, time

    from agentkit import Agent, ToolMessage
    from agentkit.testing import ScriptedProvider, tool_calls
    from agentkit_files import file_tools

    root, grep_timeout, tool_timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])


    def children():
        found = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == os.getpid() and fields[0] != "Z":
                    found.append(int(pid))
        return found


    async def main():
        tools = file_tools(root, ripgrep=False, grep_timeout=grep_timeout)
        tools = [t.with_timeout(tool_timeout) if t.name == "grep" else t for t in tools]
        script = [tool_calls(("grep", {"pattern": "(a+)+$"})), "done"]
        agent = Agent("scripted/x", provider=ScriptedProvider(script), tools=tools, tool_errors="return")
        gaps, last, running = [0.0], time.monotonic(), True

        async def heartbeat():
            nonlocal last
            while running:
                await asyncio.sleep(0.05)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        beat = asyncio.ensure_future(heartbeat())
        started = time.monotonic()
        result = await agent.arun("find it")
        elapsed = time.monotonic() - started
        running = False
        await beat
        await agent.aclose()
        answer = [m.content for m in result.messages if isinstance(m, ToolMessage)][0]
        await asyncio.sleep(0.2)  # a killed child is reaped by the search thread
        print(json.dumps({"elapsed": elapsed, "answer": answer, "max_gap": max(gaps), "children": children()}))


    asyncio.run(main())
    """
)


def run_case(tmp_path: Path, grep_timeout: float, tool_timeout: float) -> dict:
    root = tmp_path / "root"
    root.mkdir()
    (root / "evil.txt").write_bytes(b"a" * 40 + b"!")  # 41 bytes
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), str(grep_timeout), str(tool_timeout)],
        capture_output=True,
        text=True,
        timeout=90,  # the frozen search would run for days; this fails the test instead
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts child processes through /proc")
def test_grep_timeout_stops_a_runaway_regex(tmp_path: Path) -> None:
    out = run_case(tmp_path, grep_timeout=3, tool_timeout=60)
    assert out["answer"] == "Error: ToolError: grep did not finish within 3 s; search a narrower path or use a glob"
    assert 2.5 < out["elapsed"] < 30
    assert out["max_gap"] < 1.5, "the event loop was blocked"
    assert out["children"] == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts child processes through /proc")
def test_a_tool_timeout_stops_a_runaway_regex_and_its_process(tmp_path: Path) -> None:
    out = run_case(tmp_path, grep_timeout=120, tool_timeout=2)
    assert out["answer"] == "Error: tool 'grep' did not finish within 2 s and was cancelled."
    assert 1.5 < out["elapsed"] < 30
    assert out["max_gap"] < 1.5, "the event loop was blocked"
    assert out["children"] == []
