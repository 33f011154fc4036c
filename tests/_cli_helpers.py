"""The ``agentkit`` command as tests run it: in a subprocess (the real thing) or in-process through
``agentkit.cli.main`` with the same cwd, environment and stdio; and what its failures look like.

tests/conftest.py puts this folder on sys.path (the module's name is unique: plugins' tests share
the interpreter) and offers its fixtures (``home``, ``project``, ``server``, ``agentkit``) to
every test; test modules import the helpers: ``from _cli_helpers import write_config``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer

__all__ = [
    "DATA",
    "SECRET",
    "Cli",
    "agentkit",
    "env_for",
    "home",
    "one_line_error",
    "path_without_uv",
    "project",
    "server",
    "write_config",
]

DATA = Path(__file__).parent / "data" / "configs"
SECRET = "sk-test-not-a-real-key-4f9a"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=SECRET) as server:
        yield server


def path_without_uv(path: str | None = None) -> str:
    """``PATH`` without the folders holding a ``uv`` program (tox-uv puts one there): which
    installer ``agentkit install`` picks must not depend on how the test environment was made."""
    folders = (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not os.path.exists(os.path.join(f, "uv")))


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_", "UV"))}
    env.update(
        AGENTKIT_HOME=str(home), PYTHONPATH=str(DATA), PYTHONUNBUFFERED="1", PATH=path_without_uv(), **extra
    )
    return env


class Cli:
    """Runs ``agentkit`` in a subprocess (``sub=True``: the real thing, end to end) or, for speed,
    in this process through ``agentkit.cli.main`` with the same cwd, environment and stdio."""

    def __init__(self, project: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.project = project
        self.home = home
        self.monkeypatch = monkeypatch

    def __call__(
        self, *args: str, sub: bool = False, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = env or env_for(self.home)
        if sub:
            return subprocess.run(
                [sys.executable, "-m", "agentkit", *args],
                cwd=self.project,
                env=env,
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                capture_output=True,
                text=True,
                timeout=60,
            )
        from agentkit.cli import main

        with pytest.MonkeyPatch.context() as mp:
            for key in list(os.environ):
                if key not in env:
                    mp.delenv(key)
            for key, value in env.items():
                mp.setenv(key, value)
            mp.chdir(self.project)
            mp.syspath_prepend(str(DATA))
            out, err = io.StringIO(), io.StringIO()
            mp.setattr(sys, "stdin", io.StringIO(input or ""))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@pytest.fixture
def agentkit(project: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(project, home, monkeypatch)


def write_config(project: Path, server: FakeOpenAIServer | None, body: str = "") -> Path:
    provider = (
        f'[providers.openai]\nbase_url = "{server.base_url}"\napi_key = "{SECRET}"\nmax_retries = 0\n'
        if server is not None
        else ""
    )
    text = (
        provider
        + textwrap.dedent(
            """
            [agents.helper]
            model = "openai/gpt-4o-mini"
            tools = ["cli_tools:get_weather"]
            """
        )
        + textwrap.dedent(body)
    )
    path = project / "agentkit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(stderr: str) -> tuple[str, str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("agentkit: error: ")]
    assert len(errors) == 1, stderr
    hint = lines[lines.index(errors[0]) + 1]
    assert hint.startswith("hint: "), stderr
    assert "Traceback" not in stderr
    return errors[0], hint
