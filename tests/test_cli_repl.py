"""``agentkit chat`` driven through a pseudo-terminal: lines, /commands, and Ctrl-C during a slow
answer cancelling only that answer."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit.testing.servers import Pause, Reply

DATA = Path(__file__).parent / "data" / "configs"
KEY = "sk-repl-test"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def slow_answer(_request: Any) -> Reply:
    """Starts streaming "Thinking", then stalls (until the client goes away)."""
    chunk = {
        "id": "chatcmpl-slow",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Thinking"}, "finish_reason": None}],
    }
    return Reply(200, headers={"content-type": "text/event-stream"}, chunks=[f"data: {json.dumps(chunk)}\n\n", Pause(15)])


class Terminal:
    """A child process on a pseudo-terminal: send keys, wait for text."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the agentkit process, the pty its controlling terminal
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = b""
        self.seen = 0  # expect() looks after what earlier expects matched

    def send(self, data: str) -> None:
        os.write(self.fd, data.encode())

    def expect(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        needle = text.encode()
        while True:
            found = self.output.find(needle, self.seen)
            if found >= 0:
                self.seen = found + len(needle)
                return self.output[:found].decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} did not appear; output so far:\n{self.output.decode(errors='replace')}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} did not appear before the end:\n{self.output.decode(errors='replace')}")
                self.output += chunk

    def settle(self, timeout: float = 10) -> None:
        """Wait until the child is asleep, blocked reading the terminal.

        A Ctrl-C that lands after the prompt is written but before the read blocks is lost
        until the next key: CPython's readline checks for signals only when its ``select()``
        is interrupted. A person never types that fast; a test on a busy machine does.
        """
        stat = Path(f"/proc/{self.pid}/stat")
        deadline = time.monotonic() + timeout
        asleep = 0
        while asleep < 3 and time.monotonic() < deadline:
            try:
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):  # no /proc here: give it a moment instead
                time.sleep(0.3)
                return
            asleep = asleep + 1 if state == "S" else 0
            time.sleep(0.01)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:  # keep draining, so the child never blocks on a full terminal
                if select.select([self.fd], [], [], 0.1)[0]:
                    self.output += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the chat did not exit:\n{self.output.decode(errors='replace')}")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    script = ["Hi there!", slow_answer, "Back again."]
    with FakeOpenAIServer(script, api_key=KEY) as server:
        yield server


def test_chat_lines_commands_and_ctrl_c(tmp_path: Path, server: FakeOpenAIServer) -> None:
    (tmp_path / "agentkit.toml").write_text(
        f'[providers.openai]\nbase_url = "{server.base_url}"\napi_key = "{KEY}"\nmax_retries = 0\n'
        '[agents.helper]\nmodel = "openai/gpt-4o-mini"\ntools = ["cli_tools:get_weather"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), PYTHONPATH=str(DATA), TERM="dumb")
    term = Terminal([sys.executable, "-m", "agentkit", "chat", "-a", "helper"], env, tmp_path)
    try:
        term.expect("agentkit chat with helper (openai/gpt-4o-mini)")
        term.expect("> ")
        term.send("hello\r")
        term.expect("Hi there!")
        term.expect("> ")

        term.send("/tools\r")
        term.expect("get_weather  The weather in a city.")
        term.expect("> ")

        term.settle()
        term.send("\x03")  # Ctrl-C at the prompt: a fresh line, not the end
        term.expect("> ")

        term.send("a slow question\r")
        term.expect("Thinking")
        term.send("\x03")  # Ctrl-C during the answer: cancels it, the chat goes on
        term.expect("[cancelled]")
        term.expect("> ")

        term.send("again\r")
        term.expect("Back again.")
        term.expect("> ")
        term.send("/session\r")
        term.expect("not stored")
        term.send("/model\r")
        term.expect("openai/gpt-4o-mini")
        term.send("/exit\r")
        assert term.wait() == 0
    finally:
        term.close()
    assert "Traceback" not in term.output.decode(errors="replace")
    # the cancelled exchange is not part of the conversation the model sees next
    last = server.chat_requests[-1]["messages"]
    assert [(m["role"], m.get("content")) for m in last] == [
        ("user", "hello"),
        ("assistant", "Hi there!"),
        ("user", "again"),
    ]
    assert (tmp_path / "home" / "chat_history").exists()


def test_chat_with_a_stored_session(tmp_path: Path) -> None:
    with FakeOpenAIServer(["Hello Ada!", "You are Ada."], api_key=KEY) as server:
        (tmp_path / "agentkit.toml").write_text(
            f'[providers.openai]\nbase_url = "{server.base_url}"\napi_key = "{KEY}"\nmax_retries = 0\n'
            '[agents.helper]\nmodel = "openai/gpt-4o-mini"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
        env.update(AGENTKIT_HOME=str(tmp_path / "home"), TERM="dumb")
        argv = [sys.executable, "-m", "agentkit", "chat", "-a", "helper", "--session", "ada"]
        term = Terminal(argv, env, tmp_path)
        try:
            term.expect("> ")
            term.send("I am Ada\r")
            term.expect("Hello Ada!")
            term.expect("> ")
            term.send("/session\r")
            term.expect("session ada")
            term.send("/new\r")
            term.expect("new session chat-")
            term.send("/exit\r")
            assert term.wait() == 0
        finally:
            term.close()
        # a second chat on the same session sees the stored exchange
        term = Terminal(argv, env, tmp_path)
        try:
            term.expect("> ")
            term.send("Who am I?\r")
            term.expect("You are Ada.")
            term.expect("> ")
            term.send("\x04")  # Ctrl-D leaves
            assert term.wait() == 0
        finally:
            term.close()
    roles = [(m["role"], m["content"]) for m in server.chat_requests[1]["messages"]]
    assert roles == [("user", "I am Ada"), ("assistant", "Hello Ada!"), ("user", "Who am I?")]
