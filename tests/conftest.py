"""Shared setup for agentkit's own tests.

The fixtures of ``agentkit.testing.fixtures`` (``plugin_host``, ``scripted``,
``scripted_agent``, ``agentkit_home``) come from agentkit's pytest plugin. Here: no test
writes to the real ``~/.agentkit``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_agentkit_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("agentkit-home")
    monkeypatch.setenv("AGENTKIT_HOME", str(home))
    return home
