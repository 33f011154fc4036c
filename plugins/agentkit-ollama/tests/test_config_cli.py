"""``[providers.ollama]`` as docs/config.md writes it, used through ``agentkit run -a`` and ``load_agent``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_ollama_server import Chat, FakeOllama

from agentkit.config import load_agent

CONFIG = """
    [providers.ollama]
    base_url = "${OLLAMA_URL:-http://localhost:11434}"
    max_retries = 0

    [agents.local]
    model = "ollama/qwen3:8b"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "agentkit.toml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return tmp_path / "project"


def test_agentkit_run_reaches_the_server_named_by_the_variable(project: Path, ollama: FakeOllama) -> None:
    ollama.script(Chat(content="Hello from the variable's server."))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(project.parent / "home"), OLLAMA_URL=ollama.url)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-a", "local", "Hello?"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the variable's server.\n"
    assert "POST /api/chat" in ollama.paths()


def test_the_default_after_the_dash_is_used_when_the_variable_is_unset(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_URL", raising=False)
    monkeypatch.setenv("AGENTKIT_HOME", str(project.parent / "home"))
    agent = load_agent(project / "agentkit.toml", "local")
    assert agent.provider.base_url == "http://localhost:11434"
