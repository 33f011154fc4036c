"""The in-memory store keeps the whole Store contract."""

from __future__ import annotations

import pytest

from agentkit.stores import InMemoryStore, Store
from agentkit.testing.conformance import StoreConformance


class TestInMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Store:
        return InMemoryStore()
