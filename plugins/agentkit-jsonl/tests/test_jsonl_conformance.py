"""The JSONL store keeps the whole Store contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.stores import Store
from agentkit.testing.conformance import StoreConformance
from agentkit_jsonl import JsonlStore


class TestJsonlStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = JsonlStore(tmp_path / "sessions")
        yield store
        store.close()

    def reopen(self, store: Store) -> Store | None:
        assert isinstance(store, JsonlStore)
        return JsonlStore(store.path)
