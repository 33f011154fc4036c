"""Faults: a server that never answers (timeout), one that exits mid-call, one that writes
garbage to stdout, a huge result, abort during a call, a server that fails to start, no
child process left at interpreter exit (a hung one killed), and fork()."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from agentkit import Agent, ToolCallStarted
from agentkit.errors import RunAbortedError
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit_mcp import MCPServer, MCPStartError


def wait_for_file(path: Path, text: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return True
        time.sleep(0.05)
    return False


def test_a_call_past_tool_timeout_is_cancelled_on_the_server(demo: MCPServer, cancelled_file: Path) -> None:
    provider = ScriptedProvider([tool_calls(("slow", {"seconds": 60})), tool_calls(("echo", {"text": "still here"})), "ok"])
    agent = Agent("scripted/test", provider=provider, tools=[demo], tool_timeout=1.0)
    result = agent.run("wait")
    timed_out = result.messages[2]
    assert timed_out.is_error and "did not finish within 1 s" in timed_out.content
    assert wait_for_file(cancelled_file, "cancelled")  # notifications/cancelled reached the server
    assert result.messages[4].content == "still here"  # the same connection goes on


def test_a_per_server_tool_timeout(h, cancelled_file: Path) -> None:
    server = MCPServer.stdio(
        sys.executable, [str(h.demo)], env={"DEMO_CANCELLED_FILE": str(cancelled_file)}, tool_timeout=0.5
    )
    with server:
        provider = ScriptedProvider([tool_calls(("slow", {"seconds": 60})), "ok"])
        result = Agent("scripted/test", provider=provider, tools=[server]).run("wait")
        assert "did not finish within 0.5 s" in result.messages[2].content
        assert wait_for_file(cancelled_file, "cancelled")


def test_abort_during_a_call_sends_cancel_and_leaves_no_process(demo: MCPServer, cancelled_file: Path, h) -> None:
    provider = ScriptedProvider([tool_calls(("pid", {})), tool_calls(("slow", {"seconds": 60})), "never"])
    agent = Agent("scripted/test", provider=provider, tools=[demo])
    pid = None

    def abort_soon() -> None:
        time.sleep(1.0)
        agent.abort()

    with pytest.raises(RunAbortedError) as info:
        for event in agent.stream("go"):
            if event.type == "tool_result" and event.call.name == "pid":
                pid = int(event.result.content)
            if isinstance(event, ToolCallStarted) and event.name == "slow":
                threading.Thread(target=abort_soon).start()
    assert "Interrupted" in info.value.partial.messages[-1].content
    assert wait_for_file(cancelled_file, "cancelled")
    assert pid is not None and h.alive(pid)
    agent.close()
    assert h.wait_dead(pid)


def test_a_server_that_exits_mid_call_is_reported_and_restarted(demo: MCPServer) -> None:
    provider = ScriptedProvider([tool_calls(("pid", {})), tool_calls(("crash", {})), tool_calls(("pid", {})), "ok"])
    result = Agent("scripted/test", provider=provider, tools=[demo]).run("go")
    first, crashed, second = result.messages[2], result.messages[4], result.messages[6]
    assert crashed.is_error
    assert "MCP server 'demo' exited" in crashed.content and "the disk is on fire" in crashed.content
    assert "restarted on the next call" in crashed.content
    assert not second.is_error and second.content != first.content  # a new process answered


def test_garbage_on_stdout_is_skipped(h) -> None:
    with MCPServer.stdio(sys.executable, [str(h.demo), "--garbage"], name="noisy") as server:
        assert asyncio.run(server.call_tool("echo", {"text": "fine"})) == "fine"
        assert server._conn is not None and server._conn.garbage == 1


def test_a_huge_result_is_cut_like_other_tool_results(demo: MCPServer) -> None:
    provider = ScriptedProvider([tool_calls(("huge", {"n": 200_000})), "ok"])
    agent = Agent("scripted/test", provider=provider, tools=[demo])
    content = agent.run("go").messages[2].content
    assert len(content) < 50_100 and content.endswith("[... 150000 more characters cut]")


def test_a_missing_command_names_the_command() -> None:
    server = MCPServer.stdio("agentkit-no-such-mcp-server", ["--flag"], name="ghost")
    with pytest.raises(MCPStartError, match="MCP server 'ghost' could not start: command 'agentkit-no-such-mcp-server' not found"):
        asyncio.run(server.list_tools())


def test_a_server_that_dies_at_start_shows_its_stderr() -> None:
    script = "import sys; sys.stderr.write('boom: missing API token\\n'); sys.exit(2)"
    server = MCPServer.stdio(sys.executable, ["-c", script], name="broken")
    with pytest.raises(MCPStartError) as info:
        asyncio.run(server.list_tools())
    text = str(info.value)
    assert "MCP server 'broken'" in text and sys.executable in text and "boom: missing API token" in text


def test_a_server_that_never_answers_the_handshake_times_out() -> None:
    script = "import time; time.sleep(60)"
    server = MCPServer.stdio(sys.executable, ["-c", script], name="mute", connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(MCPStartError, match="did not finish the handshake within 1 s"):
        asyncio.run(server.list_tools())
    assert time.monotonic() - started < 15


def test_the_start_error_reaches_the_run(h) -> None:
    server = MCPServer.stdio("agentkit-no-such-mcp-server", name="ghost")
    agent = Agent("scripted/test", provider=ScriptedProvider(["x"]), tools=[server])
    with pytest.raises(MCPStartError, match="not found"):
        agent.run("go")


@pytest.mark.parametrize("where", ["mcp loop", "sync runs"])
def test_no_child_process_is_left_at_interpreter_exit(h, tmp_path: Path, where: str) -> None:
    program = textwrap.dedent(
        f"""
        import asyncio, sys
        from agentkit import Agent
        from agentkit.testing import ScriptedProvider, tool_calls
        from agentkit_mcp import MCPServer
        server = MCPServer.stdio(sys.executable, [{str(h.demo)!r}])
        if {where!r} == "mcp loop":
            print(asyncio.run(server.call_tool("pid")), flush=True)
        else:
            agent = Agent("scripted/t", provider=ScriptedProvider([tool_calls(("pid", {{}})), "ok"]), tools=[server])
            print(agent.run("pid?").messages[2].content, flush=True)
        # no close(): the interpreter exits with the server running
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    assert h.wait_dead(pid, timeout=5)


def test_a_hung_stdio_server_is_killed_when_closing_it_at_exit_times_out(h) -> None:
    """The exit handler's last resort: a server that ignores its closed stdin and SIGTERM is
    still there when closing gives up (here after 0.5 s), so its process group is killed: the
    server and the process it started (asyncio, collecting the server's transport at exit, may
    kill the server itself, never what it started)."""
    program = textwrap.dedent(
        f"""
        import asyncio, sys
        from agentkit_mcp import MCPServer, _runtime
        _runtime._background.exit_timeout = 0.5
        server = MCPServer.stdio(sys.executable, [{str(h.demo)!r}])
        print(asyncio.run(server.call_tool("freeze")), server._conn.pid, flush=True)

        async def until_it_hangs():  # it does shortly after its answer
            for _ in range(100):
                try:
                    await asyncio.wait_for(server.call_tool("pid"), 0.5)
                except TimeoutError:
                    return
                await asyncio.sleep(0.1)
            raise SystemExit("the server never hung")

        asyncio.run(until_it_hangs())
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    pids = [int(word) for word in done.stdout.split()]
    try:
        assert done.returncode == 0, done.stderr
        pid, helper, known = pids
        assert known == pid  # the connection found its server's process in the SDK's stdio_client
        assert h.wait_dead(pid, timeout=5)
        assert h.wait_dead(helper, timeout=5)
    finally:
        for left in pids[:2]:
            if h.alive(left):
                os.kill(left, signal.SIGKILL)


@pytest.mark.parametrize("where", ["mcp loop", "sync runs"])
def test_a_forked_child_calls_tools_on_a_server_of_its_own(h, where: str) -> None:
    """After fork() the child starts an MCP loop and a server process of its own; the parent's
    connection is left alone and still works once the child is gone."""
    program = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from agentkit import Agent
        from agentkit.testing import ScriptedProvider, tool_calls
        from agentkit_mcp import MCPServer
        server = MCPServer.stdio(sys.executable, [{str(h.demo)!r}])
        agent = Agent("scripted/t", provider=ScriptedProvider([tool_calls(("pid", {{}})), "ok"] * 2), tools=[server])

        def server_pid():
            if {where!r} == "mcp loop":
                return int(asyncio.run(asyncio.wait_for(server.call_tool("pid"), 60)))
            return int(agent.run("pid?").messages[2].content)

        parent = server_pid()
        child = os.fork()
        if child == 0:
            print("child", server_pid(), flush=True)
            server.close()
            sys.exit(0)
        os.waitpid(child, 0)
        print("parent", parent, server_pid(), flush=True)
        server.close()
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    in_child = int(lines["child"])
    before, after = map(int, lines["parent"].split())
    assert in_child != before  # the child's own server process
    assert after == before  # the parent's connection survived the child
    assert h.wait_dead(in_child, timeout=5)  # the child closed its own
