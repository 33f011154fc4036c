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


COUNT_SCRIPT = r'''
import asyncio, collections, gc, json
import agentkit, agentkit.tokens
from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b

def census():
    # The token-count cache keeps recent messages for the next request, bounded in entries and in
    # text (tests/test_tokens.py): what is left besides it must not grow with agents.
    agentkit.tokens.clear_caches(warning=False)
    gc.collect()
    return collections.Counter(type(o).__module__ + "." + type(o).__qualname__ for o in gc.get_objects())

def script(body):
    return "ok" if body["messages"][-1]["role"] == "tool" else tool_call("add", {"a": 1, "b": 2})

with FakeOpenAIServer(script) as server:
    def agent():
        return agentkit.Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", tools=[add])

    async def fresh(n):
        async def one():
            async with agent() as a:
                return (await a.arun("hi")).text
        return await asyncio.gather(*(one() for _ in range(n)))

    def round_():
        server.reset(script)  # the server's record of requests is not the agents'
        assert asyncio.run(fresh(20)) == ["ok"] * 20
        for _ in range(10):
            with agent() as a:
                assert a.run("hi").text == "ok"
            assert list(agent().stream("hi"))  # dropped without close
            with agent().session() as ask:  # ephemeral: a named session is kept by design
                assert ask("hi").text == "ok"

    round_()
    before = census()
    for _ in range(3):
        round_()
    after = census()
print(json.dumps({k: after[k] - before[k] for k in after if after[k] - before[k] > 0}))
'''


def test_fresh_agents_leave_no_objects_behind() -> None:
    """Whatever a run builds per agent (provider and its HTTP clients, plugin host, tools, caches,
    registries) goes with the agent: after 3 more rounds of 50 fresh agents (async, sync, streamed,
    in a session, closed or just dropped), no kind of object is more numerous than before."""
    done = subprocess.run([sys.executable, "-c", COUNT_SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    grown = json.loads(done.stdout.strip().splitlines()[-1])
    # 150 agents: a leak per agent (or per run) shows as 150 or more of some kind; the loopback
    # server's threads for connections still closing can leave a few
    assert all(n < 50 for n in grown.values()), grown
