"""The PostgreSQL store keeps the whole Store contract, against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentkit.stores import Store
from agentkit.testing.conformance import StoreConformance
from agentkit_postgres import PostgresStore


class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, dsn: str, schema: str) -> Iterator[Store]:
        store = PostgresStore(dsn, schema=schema)
        yield store
        store.close()

    def reopen(self, store: Store) -> Store | None:
        assert isinstance(store, PostgresStore)
        return PostgresStore(store.settings.dsn.conninfo, schema=store.settings.schema)
