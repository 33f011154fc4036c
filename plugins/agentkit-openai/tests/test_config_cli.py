"""``[providers.openai]`` in a real ``agentkit.toml``, used the way people use it: ``agentkit run -a``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentkit.config import load_agent
from agentkit.testing.fake_openai import FakeOpenAIServer

KEY = "sk-config-test-0123456789"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "project").mkdir()
    config = """
        [providers.openai]
        base_url = "http://127.0.0.1:${PORT}/v1"
        api_key = "${TEST_KEY}"
        max_retries = 0

        [agents.helper]
        model = "openai/gpt-4o-mini"
    """
    (tmp_path / "project" / "agentkit.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    return tmp_path / "project"


def test_agentkit_run_fills_variables_in_base_url(project: Path) -> None:
    with FakeOpenAIServer(["Filled in."], api_key=KEY) as server:
        port = server.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "agentkit", "run", "-a", "helper", "Hello?"],
            cwd=project,
            env=_env(project.parent / "home", PORT=port, TEST_KEY=KEY),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Filled in.\n"
        assert server.requests[0].path == "/v1/chat/completions"


def test_load_agent_fills_variables_in_base_url(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "4321")
    monkeypatch.setenv("TEST_KEY", KEY)
    monkeypatch.setenv("AGENTKIT_HOME", str(project.parent / "home"))
    agent = load_agent(project / "agentkit.toml", "helper")
    assert agent.provider.base_url == "http://127.0.0.1:4321/v1"
