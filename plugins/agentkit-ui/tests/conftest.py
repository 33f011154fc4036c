"""Fixtures of agentkit-ui's tests: a store filled by real runs (_ui_store.py) and the viewer
serving it on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _ui_store import big, fill
from agentkit_ui.server import UIServer


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding the sessions above (filled once per test run)."""
    db = tmp_path_factory.mktemp("ui-store") / "sessions.db"
    fill(db)
    big(db)
    return db


@pytest.fixture(scope="session")
def viewer(store_path: Path) -> Iterator[UIServer]:
    """``agentkit ui``'s server on that store, on 127.0.0.1 (no token)."""
    with UIServer(f"sqlite:{store_path}") as server:
        yield server
