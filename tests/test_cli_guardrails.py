"""Output guardrails through ``agentkit run``: the real command in a subprocess, a real
``agentkit.toml``, a loopback OpenAI-compatible server that streams the answer in small
pieces, and a guardrail plugin installed the way pip installs one (a ``.dist-info`` with an
``agentkit`` entry point on the path). What the terminal shows is checked text, and it is what
the session stores; a guardrail whose check raises exits with the guardrail code, 6.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer

KEY = "sk-test-guardrails-cli"

PLUGIN = '''
"""A third-party guardrail plugin, as an installed distribution would ship it."""

import agentkit
from agentkit.guardrails import Guardrail, Verdict


class Shout(Guardrail):
    """Upper-cases answers, a line at a time while they stream."""

    name = "shout"

    def output_boundary(self, text):
        return text.rfind("\\n") + 1

    async def check_output(self, text, ctx):
        return Verdict.rewrite(text.upper())


class Broken(Guardrail):
    name = "broken_check"

    async def check_output(self, text, ctx):
        raise RuntimeError("the policy service is unreachable")


@agentkit.hookimpl
def register_guardrails(registry):
    registry.add("shout", Shout, description="upper-cases answers")
    registry.add("broken_check", Broken, description="always fails")
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the plugin module and its distribution metadata, as pip leaves them."""
    site = tmp_path_factory.mktemp("site")
    (site / "cli_guards.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "agentkit_cli_guards-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agentkit-cli-guards\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[agentkit]\ncli_guards = cli_guards\n", encoding="utf-8")
    return site


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY, chunk_size=3) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, server: FakeOpenAIServer) -> Path:
    server.reset([])
    (tmp_path / "agentkit.toml").write_text(
        textwrap.dedent(
            f"""
            [providers.openai]
            base_url = "{server.base_url}"
            api_key = "{KEY}"
            max_retries = 0

            [agents.masked]
            model = "openai/gpt-4o-mini"
            guardrails = [{{ name = "blocked_words", words = ["darn"], action = "mask" }}]

            [agents.private]
            model = "openai/gpt-4o-mini"
            guardrails = ["pii_redactor"]

            [agents.loud]
            model = "openai/gpt-4o-mini"
            guardrails = ["shout"]

            [agents.broken]
            model = "openai/gpt-4o-mini"
            guardrails = ["broken_check"]
            """
        ),
        encoding="utf-8",
    )
    return tmp_path


def agentkit(project: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(project / "home"), PYTHONPATH=str(site), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("agent", "answer", "shown"),
    [
        ("masked", "Well, darn it, that went badly.", "Well, **** it, that went badly."),
        ("private", "Mail ann@example.org or call +1 (415) 555-2671.", "Mail [EMAIL] or call [PHONE]."),
        ("loud", "first line\nsecond line", "FIRST LINE\nSECOND LINE"),
    ],
    ids=["blocked_words", "pii_redactor", "plugin-guardrail"],
)
def test_run_shows_only_checked_text_and_stores_the_same(
    project: Path, site: Path, server: FakeOpenAIServer, agent: str, answer: str, shown: str
) -> None:
    server.add(answer)
    done = agentkit(project, site, "run", "-a", agent, "--session", "s1", "go")
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown + "\n"
    assert server.chat_requests[0]["stream"] is True
    stored = agentkit(project, site, "sessions", "show", "s1")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.splitlines()[1:] == f"assistant: {shown}".splitlines()


def test_a_guardrail_whose_check_raises_exits_6_and_shows_nothing(
    project: Path, site: Path, server: FakeOpenAIServer
) -> None:
    server.add("Well, darn it, that went badly.")
    done = agentkit(project, site, "run", "-a", "broken", "go")
    assert done.returncode == 6, done.stderr
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0] == (
        "agentkit: error: guardrail 'broken_check' failed in check_output(): "
        "RuntimeError: the policy service is unreachable"
    )
    assert lines[1].startswith("hint: ") and "Traceback" not in done.stderr
