"""Shared setup for agentkit's own tests.

The fixtures of ``agentkit.testing.fixtures`` (``plugin_host``, ``scripted``,
``scripted_agent``, ``agentkit_home``) come from agentkit's pytest plugin. Here: no test
writes to the real ``~/.agentkit``, and the fixtures of the CLI tests (``tests/_cli_helpers.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Helpers shared by test modules (_cli_helpers: the agentkit command), under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

from _cli_helpers import agentkit, home, project, server  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _private_agentkit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("agentkit-home")
    monkeypatch.setenv("AGENTKIT_HOME", str(path))
    return path
