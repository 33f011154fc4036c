"""The user's whole path: ``agentkit.toml`` with ``[mcp.servers.<name>]``, agents naming
``"mcp:<name>"``, and the ``agentkit`` command in real subprocesses (``mcp list``, ``tools``,
``run``, ``chat`` answering an elicitation at the terminal), against a loopback fake OpenAI
server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.config import load_config
from agentkit.errors import ConfigError
from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer([]) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, model: FakeOpenAIServer, h) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "home").mkdir()
    (tmp_path / "agentkit.toml").write_text(
        f"""
[providers.openai]
base_url = "{model.base_url}"
api_key = "sk-test"

[mcp.servers.demo]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(h.demo))}]
env = {{ DEMO_TOKEN = "${{DEMO_SECRET}}" }}

[mcp.servers.broken]
command = "agentkit-no-such-mcp-server"

[agents.helper]
model = "openai/gpt-4o-mini"
tools = ["mcp:demo"]

[agents.adder]
model = "openai/gpt-4o-mini"
tools = ["mcp:demo/add", "mcp:demo/getenv"]
"""
    )
    return tmp_path


def run(project: Path, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(project / "home"), DEMO_SECRET="s3cret", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        cwd=project,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def test_config_agents_name_servers_and_single_tools(project: Path) -> None:
    config = load_config(project / "agentkit.toml", environ={**os.environ, "DEMO_SECRET": "s3cret"})
    helper, adder = config.agent("helper"), config.agent("adder")
    try:
        (server,) = adder.settings.tools
        assert server.include == ("add", "getenv")  # "mcp:demo/add" and "mcp:demo/getenv": one server
        assert server.transport.env == {"DEMO_TOKEN": "s3cret"}  # ${VAR} filled from the environment
        assert "s3cret" not in repr(server)
    finally:
        helper.close()
        adder.close()


def test_an_unknown_server_is_a_config_error_when_the_file_loads(project: Path) -> None:
    path = project / "agentkit.toml"
    path.write_text(
        path.read_text()
        + '\n[agents.typo]\nmodel = "openai/gpt-4o-mini"\ntools = ["read", "mcp:dmeo"]\n'
        + '[profiles.p]\ntools = ["mcp:nothere/x"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={**os.environ, "DEMO_SECRET": "x"})
    text = str(info.value)
    assert "agents.typo.tools[1]: no MCP server named 'dmeo' (did you mean 'demo'?)" in text
    assert "configured: broken, demo" in text
    checked = run(project, "config", "check")  # every problem, nothing started
    assert checked.returncode == 3
    assert "agents.typo.tools[1]: no MCP server named 'dmeo'" in checked.stderr
    assert "profiles.p.tools[0]: no MCP server named 'nothere'" in checked.stderr
    assert "2 problem(s) in the config" in checked.stderr
    other = run(project, "run", "-a", "helper", "hi")  # the file is wrong, whichever agent runs
    assert other.returncode == 3 and "no MCP server named 'dmeo'" in other.stderr


def test_config_check_starts_the_servers_and_checks_tool_names(project: Path) -> None:
    path = project / "agentkit.toml"
    path.write_text(path.read_text() + '\n[agents.typo]\nmodel = "openai/gpt-4o-mini"\ntools = ["mcp:demo/add", "mcp:demo/ad"]\n')
    done = run(project, "config", "check")
    assert done.returncode == 3, done.stderr
    assert "agents.typo.tools: MCP server 'demo' has no tool 'ad'; its tools: add, ask_model" in done.stderr
    assert "1 problem(s) in the config" in done.stderr  # helper's and adder's servers are fine
    path.write_text(path.read_text().replace('"mcp:demo/ad"]', '"mcp:demo/echo"]'))
    fixed = run(project, "config", "check")
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.startswith("ok: ")


def test_run_with_mcp_tools_and_progress_lines(project: Path, model: FakeOpenAIServer) -> None:
    model.reset(
        [
            tool_call("add", {"a": 20, "b": 22}),
            tool_call("slow", {"seconds": 0.2}),
            tool_call("getenv", {"name": "DEMO_TOKEN"}),
            "The answer is 42.",
        ]
    )
    done = run(project, "run", "-a", "helper", "Add 20 and 22")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "The answer is 42."
    assert "⚙ add(a=20, b=22)" in done.stderr and "↳ 42" in done.stderr
    assert "… slow 1/10 tick 1" in done.stderr and "… slow 10/10 tick 10" in done.stderr
    tool_messages = [m for m in model.chat_requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["42", "slept", "s3cret"]


def test_an_unknown_tool_of_a_server_lists_its_tools(project: Path, model: FakeOpenAIServer) -> None:
    path = project / "agentkit.toml"
    path.write_text(path.read_text() + '\n[agents.typo]\nmodel = "openai/gpt-4o-mini"\ntools = ["mcp:demo/ad"]\n')
    done = run(project, "run", "-a", "typo", "hi")
    assert done.returncode == 3
    assert "MCP server 'demo' has no tool 'ad'; its tools: add, ask_model" in done.stderr


def test_mcp_list_shows_each_server_whether_it_starts_and_its_tools(project: Path) -> None:
    done = run(project, "mcp", "list")
    assert done.returncode == 8  # one server does not start
    assert f"demo  (stdio: {sys.executable}" in done.stdout and "ok, " in done.stdout
    assert "  add  Add two integers." in done.stdout
    assert "broken  (stdio: agentkit-no-such-mcp-server)  FAILED" in done.stdout
    assert "command 'agentkit-no-such-mcp-server' not found" in done.stdout
    only = run(project, "mcp", "list", "demo", "--json")
    assert only.returncode == 0
    (row,) = json.loads(only.stdout)
    assert row["ok"] and {"add", "slow"} <= {t["name"] for t in row["tools"]}


def test_agentkit_tools_lists_mcp_tools_with_their_server(project: Path) -> None:
    done = run(project, "tools")
    assert done.returncode == 0, done.stderr
    assert "\nmcp:demo (agentkit-mcp):\n" in done.stdout
    assert "  add " in done.stdout.split("mcp:demo (agentkit-mcp):")[1]
    assert "mcp:broken (agentkit-mcp):\n  error: MCP server 'broken' could not start" in done.stdout
    data = json.loads(run(project, "tools", "--json").stdout)
    demo = next(s for s in data["sources"] if s["name"] == "mcp:demo")
    assert demo["plugin"] == "agentkit-mcp" and "add" in {t["name"] for t in demo["tools"]}


def test_chat_answers_an_elicitation_at_the_terminal(project: Path, model: FakeOpenAIServer) -> None:
    model.reset([tool_call("ask_user", {}), "Nice to meet you, Ada."])
    done = run(project, "chat", "-a", "helper", input="Who am I?\ny\nAda\n36\n/exit\n")
    assert done.returncode == 0, done.stderr
    assert "demo asks: What is your name?" in done.stderr
    assert "Nice to meet you, Ada." in done.stdout
    tool_messages = [m for m in model.chat_requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == "hello Ada (36)"
