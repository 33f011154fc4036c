"""Memory stays flat when every run has a fresh Agent, closed and dropped (async and sync).

Each HTTP client used to build its own TLS context (~1 MB and ~30 ms each, even for
``http://``): 100 agents at once took RSS up by ~75 MB. Now every client shares one context and
a closed agent leaves nothing behind. Measured in a fresh interpreter (RSS is per process),
after ``gc.collect()``, against the fake OpenAI server on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r'''
import asyncio, gc, json, sys
import agentkit
from agentkit.testing.fake_openai import FakeOpenAIServer

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

async def fresh_agents(url, n):
    async def one():
        agent = agentkit.Agent("openai/gpt-4o-mini", base_url=url, api_key="sk-test")
        try:
            return (await agent.arun("hi")).text
        finally:
            await agent.aclose()
    texts = await asyncio.gather(*(one() for _ in range(n)))
    assert texts == ["ok"] * n

with FakeOpenAIServer(default="ok") as server:
    asyncio.run(fresh_agents(server.base_url, 10))
    for _ in range(10):
        with agentkit.Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test") as agent:
            agent.run("hi")
    gc.collect()
    base = rss_mb()
    rounds = []
    for _ in range(3):
        asyncio.run(fresh_agents(server.base_url, 100))
        for _ in range(50):
            with agentkit.Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test") as agent:
                agent.run("hi")
        gc.collect()
        rounds.append(rss_mb())
print(json.dumps({"base": base, "rounds": rounds}))
'''


def test_fresh_agents_per_run_do_not_pile_up_memory() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    base, rounds = figures["base"], figures["rounds"]
    # 3 rounds of 100 concurrent async runs and 50 sync runs, each with a new Agent
    assert rounds[0] - base < 25, figures  # was ~75 MB: a TLS context per client
    assert rounds[-1] - rounds[0] < 10, figures  # and no climb from round to round
