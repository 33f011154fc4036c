"""Fixtures: the demo MCP server (tests/servers/demo.py) over stdio and Streamable HTTP on
127.0.0.1, and helpers to see whether a process is still alive."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit_mcp import MCPServer

DEMO = Path(__file__).parent / "servers" / "demo.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_dead(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


class Helpers:
    """What tests use beside fixtures: the demo server's path, process checks, free ports."""

    demo = DEMO
    alive = staticmethod(alive)
    wait_dead = staticmethod(wait_dead)
    free_port = staticmethod(free_port)
    wait_for_port = staticmethod(wait_for_port)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers


@pytest.fixture
def cancelled_file(tmp_path: Path) -> Path:
    """The demo server writes a line here when a call of its ``slow`` tool is cancelled."""
    return tmp_path / "cancelled.txt"


@pytest.fixture
def demo(cancelled_file: Path) -> Iterator[MCPServer]:
    server = MCPServer.stdio(sys.executable, [str(DEMO)], env={"DEMO_CANCELLED_FILE": str(cancelled_file)}, name="demo")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def demo_http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("demo-http") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(DEMO), "--http", str(port)], stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
