"""Synchronous runs keep their HTTP connections: one pool per provider, across runs, threads and loops.

Against the fake OpenAI server on 127.0.0.1, which records the peer address of each request:
requests on one keep-alive connection share it. Also what a blocking read must still honour:
the timeouts, ``agent.abort()`` from another thread, Ctrl-C, ``fork()``, and no socket left
open or warned about.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import agentkit
from agentkit.errors import ProviderTimeoutError, RunAbortedError
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit.testing.servers import Pause, Reply

FAST = {"backoff_base": 0.01, "backoff_max": 0.02}


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def server(_server: FakeOpenAIServer) -> FakeOpenAIServer:
    return _server.reset(default="pong")


def make_agent(server: FakeOpenAIServer, **settings: Any) -> agentkit.Agent:
    return agentkit.Agent(
        "openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", provider_settings={**FAST, **settings}
    )


def peers(server: FakeOpenAIServer) -> list[str]:
    return [r.client for r in server.requests]


# -- one pool, kept --------------------------------------------------------------------------------


def test_sync_runs_share_one_connection(server: FakeOpenAIServer) -> None:
    with make_agent(server) as agent:
        for _ in range(5):
            assert agent.run("ping").text == "pong"
        assert [e for e in agent.stream("ping") if isinstance(e, agentkit.TextDelta)]
        assert agent.session("s").run("ping").text == "pong"
    assert len(server.requests) == 7
    assert len(set(peers(server))) == 1, peers(server)


def test_close_closes_the_connections_and_the_agent_stays_usable(server: FakeOpenAIServer) -> None:
    agent = make_agent(server)
    agent.run("ping")
    agent.close()
    agent.run("ping")
    agent.close()
    first, second = peers(server)
    assert first != second  # the first connection was closed; a new one was opened


def test_many_threads_share_the_pool(server: FakeOpenAIServer) -> None:
    agent = make_agent(server)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(lambda i: agent.run(f"ping {i}").text, range(64)))
    agent.close()
    assert texts == ["pong"] * 64
    assert len(set(peers(server))) <= 16  # connections are reused across threads, never one per run


def test_run_and_stream_inside_a_running_loop_leave_no_socket(server: FakeOpenAIServer) -> None:
    """What Jupyter does: sync calls inside a running loop, async calls on that loop too, a sync close."""
    async def main() -> None:
        agent = make_agent(server)
        assert (await agent.arun("ping")).text == "pong"
        assert agent.run("ping").text == "pong"
        for _event in agent.stream("ping"):
            break  # an early exit too
        assert agent.session("s").run("ping").text == "pong"
        agent.close()
        await asyncio.sleep(0.2)  # the loop goes on, as a notebook's does

        dropped = make_agent(server)  # never closed: collected with its connections
        assert dropped.run("ping").text == "pong"
        del dropped

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def test_a_sync_run_sends_what_an_async_run_sends(server: FakeOpenAIServer) -> None:
    """Sync runs send without httpx's client layer (its work done once per path): the requests
    must stay byte for byte those of async runs, headers included, and cookies still go round."""
    first_answer = Reply(
        200,
        b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}]}',
        {"content-type": "application/json", "set-cookie": "lb=node-7; Path=/"},
    )

    def answer(_body: dict[str, Any]) -> Any:
        return first_answer if len(server.chat_requests) == 1 else "pong"

    sent: dict[str, list[Any]] = {}
    for mode in ("sync", "async"):
        server.reset(answer)
        prompts = ("ping", "pång ✓")  # the body as UTF-8, not escaped, as httpx sends it
        agent = make_agent(server, headers={"x-trace": "t-1"})
        if mode == "sync":
            assert [agent.run(p).text for p in prompts] == ["pong", "pong"]
            agent.close()
        else:

            async def both(agent: agentkit.Agent) -> list[str]:
                async with agent:
                    return [(await agent.arun(p)).text for p in ("ping", "pång ✓")]

            assert asyncio.run(both(agent)) == ["pong", "pong"]
        sent[mode] = [(r.method, r.path, r.headers, r.body) for r in server.requests]
    assert sent["sync"] == sent["async"]
    (_, _, headers, _), (_, _, later, body) = sent["sync"]
    assert "cookie" not in headers and later["cookie"] == "lb=node-7"  # stored from Set-Cookie, sent back
    assert headers["x-trace"] == "t-1" and headers["authorization"] == "Bearer sk-test"
    assert "pång ✓".encode() in body


LEAK_SCRIPT = r"""
import asyncio, gc, sys
import agentkit
from agentkit.testing.fake_openai import FakeOpenAIServer

def agent(url):
    return agentkit.Agent("openai/gpt-4o-mini", base_url=url, api_key="sk-test")

async def notebook(url):  # sync calls inside a running loop, as in Jupyter
    a = agent(url)
    assert a.run("ping").text == "pong"
    for _event in a.stream("ping"):
        break
    assert (await a.arun("ping")).text == "pong"
    a.close()
    await asyncio.sleep(0.1)
    dropped = agent(url)
    assert dropped.run("ping").text == "pong"
    del dropped
    gc.collect()

with FakeOpenAIServer(default="pong") as server:
    asyncio.run(notebook(server.base_url))
    a = agent(server.base_url)
    for _ in range(3):  # a loop per call: each call's client must close with its loop
        assert asyncio.run(a.arun("ping")).text == "pong"
    a.close()
    del a
    gc.collect()
print("done", flush=True)
"""


def test_no_unclosed_socket_with_resource_warnings_as_errors(tmp_path: Any) -> None:
    """``agent.run()`` inside a running loop, and ``asyncio.run(agent.arun())`` call after call,
    in a fresh interpreter where a ResourceWarning is an error (one raised in a finalizer is
    printed as "Exception ignored", so stderr is checked too)."""
    script = tmp_path / "leaks.py"
    script.write_text(LEAK_SCRIPT)
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done"
    assert "ResourceWarning" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr[-3000:]


# -- what a blocking read still honours --------------------------------------------------------------


def test_a_stalled_answer_times_out_in_a_sync_run(server: FakeOpenAIServer) -> None:
    stalled = Reply(200, headers={"content-type": "application/json"}, chunks=[b'{"id": ', Pause(10)])
    server.reset([stalled], default="pong")
    agent = make_agent(server, read_timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        agent.run("ping")
    assert time.monotonic() - started < 5
    agent.close()


def test_no_first_byte_times_out_in_a_sync_run(server: FakeOpenAIServer) -> None:
    def slow(_body: dict[str, Any]) -> Any:
        time.sleep(3)
        return "late"

    server.reset(slow)
    agent = make_agent(server, first_byte_timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="no response"):
        agent.run("ping")
    assert time.monotonic() - started < 2.5
    agent.close()


def test_abort_from_another_thread_cuts_a_blocking_read(server: FakeOpenAIServer) -> None:
    arrived = threading.Event()

    def stall(_body: dict[str, Any]) -> Reply:
        arrived.set()
        return Reply(200, headers={"content-type": "application/json"}, chunks=[Pause(30), b"{}"])

    server.reset(stall)
    agent = make_agent(server, max_retries=0)

    def pull_the_plug() -> None:
        if arrived.wait(10):
            time.sleep(0.2)  # the run is blocked in its read by now
            agent.abort()

    threading.Thread(target=pull_the_plug, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(RunAbortedError):
        agent.run("ping")
    assert time.monotonic() - started < 10
    agent.close()


def test_ctrl_c_cuts_a_blocking_read(server: FakeOpenAIServer, tmp_path: Any) -> None:
    def stall(_body: dict[str, Any]) -> Reply:
        return Reply(200, headers={"content-type": "application/json"}, chunks=[Pause(60), b"{}"])

    server.reset(stall)
    script = tmp_path / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            import agentkit
            agent = agentkit.Agent("openai/gpt-4o-mini", base_url={server.base_url!r}, api_key="x",
                                   provider_settings={{"max_retries": 0}})
            print("ready", flush=True)
            started = time.monotonic()
            try:
                agent.run("ping")
            except KeyboardInterrupt:
                print(f"interrupted after {{time.monotonic() - started:.1f}}s", flush=True)
                sys.exit(130)
            """
        )
    )
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # blocked in the read by now
        child.send_signal(2)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "interrupted after" in out


def test_a_forked_child_gets_its_own_connections(server: FakeOpenAIServer) -> None:
    agent = make_agent(server)
    agent.run("ping")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: one run, then out without running the parent's clean-ups
        code = 0
        try:
            code = 0 if agent.run("ping").text == "pong" else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    agent.run("ping")  # the parent's connection is still good
    agent.close()
    first, child, parent = peers(server)
    assert child != first and parent == first
