"""PostgreSQL memory: the conformance suite, full-text ranking, hybrid ranking with embeddings, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest

from agentkit.errors import MemoryStoreError, SchemaVersionError
from agentkit.testing.conformance.memory import MemoryConformance
from agentkit_postgres import PostgresMemory
from agentkit_postgres.testing import PostgresServer

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


class TestPostgresMemory(MemoryConformance):
    @pytest.fixture
    async def memory(self, dsn: str, schema: str) -> AsyncIterator[PostgresMemory]:
        memory = PostgresMemory(dsn, schema=schema)
        yield memory
        await memory.aclose()

    def reopen(self, memory: PostgresMemory) -> PostgresMemory:  # type: ignore[override]
        return PostgresMemory(memory.settings.dsn.conninfo, schema=memory.settings.schema)


async def test_recall_ranks_by_full_text_rank(dsn: str, schema: str) -> None:
    memory = PostgresMemory(dsn, schema=schema)
    try:
        await memory.add("Prefers window seats on long flights", user_id="u1")
        await memory.add("Booked flights to Lisbon", user_id="u1")
        await memory.add("Has a dog named Rex", user_id="u1")
        hits = await memory.search("window seats on flights", user_id="u1", k=5)
        assert [h.record.text for h in hits] == [
            "Prefers window seats on long flights",
            "Booked flights to Lisbon",
        ]
        assert hits[0].score > hits[1].score > 0
        assert await memory.search("cats", user_id="u1") == []  # whole words
    finally:
        await memory.aclose()


async def test_hybrid_ranking_finds_related_memories_without_shared_words(
    dsn: str, schema: str, fake_embed: Embed
) -> None:
    memory = PostgresMemory(dsn, schema=schema, embeddings=fake_embed)
    keyword_only = PostgresMemory(dsn, schema=schema)
    try:
        await memory.add("Prefers aisle seats", user_id="u1")
        await memory.add("Is vegetarian", user_id="u1")
        await memory.add("Has a dog named Rex", user_id="u1")
        hits = await memory.search("what should we eat for dinner", user_id="u1", k=1)
        assert [h.record.text for h in hits] == ["Is vegetarian"]
        assert memory.vector_search == "python"  # this server has no pgvector
        assert await keyword_only.search("what should we eat for dinner", user_id="u1") == []
        assert await memory.search("dinner food", user_id="bob") == []  # scope holds for vectors too
    finally:
        await memory.aclose()
        await keyword_only.aclose()


async def test_failing_embedder_stores_nothing(dsn: str, schema: str) -> None:
    async def broken(texts: list[str]) -> list[list[float]]:
        raise MemoryStoreError("embedding service down")

    memory = PostgresMemory(dsn, schema=schema, embeddings=broken)
    plain = PostgresMemory(dsn, schema=schema)
    try:
        with pytest.raises(MemoryStoreError, match="down"):
            await memory.add("fact", user_id="u1")
        assert await plain.list() == []
    finally:
        await memory.aclose()
        await plain.aclose()


async def test_newer_schema_is_refused(pg_server: PostgresServer, dsn: str, schema: str) -> None:
    memory = PostgresMemory(dsn, schema=schema)
    await memory.add("x", user_id="u1")
    await memory.aclose()
    pg_server.execute(f"INSERT INTO {schema}.schema_migrations (component, version) VALUES ('memory', 99)")
    newer = PostgresMemory(dsn, schema=schema)
    try:
        with pytest.raises(SchemaVersionError, match="newer") as caught:
            await newer.list()
        assert (caught.value.found, caught.value.supported) == (99, 2)
        assert schema in str(caught.value) and "postgres" in str(caught.value)
    finally:
        await newer.aclose()


def test_bad_settings_are_clear_errors(dsn: str) -> None:
    with pytest.raises(MemoryStoreError, match="keyword_weight"):
        PostgresMemory(dsn, keyword_weight=2)
    with pytest.raises(MemoryStoreError, match="vectors"):
        PostgresMemory(dsn, vectors="faiss")
    with pytest.raises(MemoryStoreError, match="schema"):
        PostgresMemory(dsn, schema="no-dashes")


async def test_recall_reads_the_terms_index_without_a_pending_list(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    # A schema of the first release (a GIN index with fastupdate, entries already pending) is
    # migrated forward: the index is written at once from then on, and what was pending is merged.
    from agentkit_postgres.schema import ensure_schema

    async def first_release() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        try:
            await ensure_schema(conn, schema, "memory", upto=1, newer=lambda found, supported: AssertionError())
        finally:
            await conn.close()

    def options() -> list[Any]:
        return pg_server.execute(
            "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'memories_terms'",
            (schema,),
        )

    def pending_pages() -> int:
        pg_server.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        return int(pg_server.execute(
            f"SELECT n_pending_pages FROM gin_metapage_info(get_raw_page('{schema}.memories_terms', 0))"
        )[0][0])  # fmt: skip

    await first_release()
    assert options() == [(None,)]
    pg_server.execute(
        f"INSERT INTO {schema}.memories (id, text, scope, user_id, metadata, meta, terms, created_at, updated_at)"
        " SELECT 'm' || n, 'seat by the window ' || n, 'user', 'u1', '{}', '{}',"
        " to_tsvector('simple', 'seat by the window ' || n), 0, 0 FROM generate_series(1, 200) AS n"
    )
    assert pending_pages() > 0
    memory = PostgresMemory(dsn, schema=schema)
    try:
        assert len(await memory.search("window seat", user_id="u1", k=5)) == 5  # migrates first
        assert options() == [(["fastupdate=off"],)]
        assert pending_pages() == 0
        await memory.add("an aisle seat, always", user_id="u1")
        assert pending_pages() == 0
        assert (await memory.search("aisle", user_id="u1", k=1))[0].record.text == "an aisle seat, always"
    finally:
        await memory.aclose()
