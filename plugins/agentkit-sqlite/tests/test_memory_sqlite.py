"""SQLite memory: the conformance suite, FTS5 ranking, hybrid ranking with embeddings, safety."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from agentkit.errors import MemoryStoreError, SchemaVersionError
from agentkit.testing.conformance.memory import MemoryConformance
from agentkit_sqlite.memory import SqliteMemory


class TestSqliteMemory(MemoryConformance):
    @pytest.fixture
    async def memory(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        memory = SqliteMemory(tmp_path / "memory.db")
        yield memory
        await memory.aclose()

    def reopen(self, memory: SqliteMemory) -> SqliteMemory:  # type: ignore[override]
        return SqliteMemory(memory.path)


# A tiny "embedding": each word maps to a concept axis, so related words share a direction
# although they share no keyword.
CONCEPTS = {
    "flight": 0, "plane": 0, "airline": 0, "seat": 0, "window": 0, "aisle": 0, "fly": 0,
    "vegetarian": 1, "meat": 1, "food": 1, "dinner": 1, "eat": 1, "restaurant": 1,
    "dog": 2, "pet": 2, "cat": 2,
}


async def fake_embed(texts: list[str]) -> list[list[float]]:
    vectors = []
    for text in texts:
        v = [0.0, 0.0, 0.0, 0.01]
        for word in text.lower().replace("?", " ").replace(".", " ").split():
            axis = CONCEPTS.get(word.rstrip("s"))
            if axis is not None:
                v[axis] += 1.0
        vectors.append(v)
    return vectors


async def test_hybrid_ranking_finds_related_memories_without_shared_words(tmp_path: Path) -> None:
    memory = SqliteMemory(tmp_path / "m.db", embeddings=fake_embed)
    await memory.add("Prefers aisle seats", user_id="u1")
    await memory.add("Is vegetarian", user_id="u1")
    await memory.add("Has a dog named Rex", user_id="u1")
    hits = await memory.search("what should we eat for dinner", user_id="u1", k=1)
    assert [h.record.text for h in hits] == ["Is vegetarian"]
    keyword_only = SqliteMemory(tmp_path / "m.db")
    assert await keyword_only.search("what should we eat for dinner", user_id="u1") == []
    await memory.aclose()
    await keyword_only.aclose()


async def test_hybrid_keeps_scope(tmp_path: Path) -> None:
    memory = SqliteMemory(tmp_path / "m.db", embeddings=fake_embed)
    await memory.add("Is vegetarian", user_id="alice")
    assert await memory.search("dinner food", user_id="bob") == []
    await memory.aclose()


async def test_failing_embedder_stores_nothing(tmp_path: Path) -> None:
    async def broken(texts: list[str]) -> list[list[float]]:
        raise MemoryStoreError("embedding service down")

    memory = SqliteMemory(tmp_path / "m.db", embeddings=broken)
    with pytest.raises(MemoryStoreError):
        await memory.add("fact", user_id="u1")
    assert await SqliteMemory(tmp_path / "m.db").list() == []


async def test_memories_persist_and_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "memory.db"
    first = SqliteMemory(path)
    record = await first.add("Lives in Porto", user_id="u1")
    await first.aclose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    second = SqliteMemory(path)
    assert (await second.search("Porto", user_id="u1"))[0].record == record
    await second.aclose()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    memory = SqliteMemory(path)
    await memory.add("x", user_id="u1")
    await memory.aclose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE memory_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="newer"):
        await SqliteMemory(path).list()


async def test_default_path_follows_agentkit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "akhome"))
    memory = SqliteMemory()
    await memory.add("fact", user_id="u1")
    await memory.aclose()
    assert (tmp_path / "akhome" / "memory.db").exists()


def test_bad_keyword_weight() -> None:
    with pytest.raises(MemoryStoreError, match="keyword_weight"):
        SqliteMemory(":memory:", keyword_weight=2)


async def test_embeddings_spec_must_name_provider_and_model(tmp_path: Path) -> None:
    memory = SqliteMemory(tmp_path / "m.db", embeddings="justamodel")
    with pytest.raises(MemoryStoreError, match="<provider>/<model>"):
        await memory.add("fact", user_id="u1")


async def test_embeddings_from_a_registered_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``embeddings="openai/<model>"`` goes through the OpenAI plugin to a real (loopback) server."""
    pytest.importorskip("agentkit_openai")
    from agentkit.plugins import PluginHost, set_host
    from agentkit.testing.fake_openai import FakeOpenAIServer

    old = set_host(PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-openai"}))
    try:
        with FakeOpenAIServer([]) as server:
            memory = SqliteMemory(
                tmp_path / "m.db",
                embeddings="openai/text-embedding-3-small",
                embedding_settings={"base_url": server.base_url, "api_key": "sk-test"},
                keyword_weight=0.0,  # rank by vectors alone
            )
            await memory.add("Prefers aisle seats", user_id="u1")
            target = await memory.add("Is vegetarian", user_id="u1")
            hits = await memory.search("Is vegetarian", user_id="u1", k=1)
            assert [h.record.id for h in hits] == [target.id]
            assert hits[0].score == pytest.approx(1.0, abs=1e-4)  # the same text: the same unit vector
            assert [r["model"] for r in server.embedding_requests] == ["text-embedding-3-small"] * 3
            await memory.aclose()
        with sqlite3.connect(tmp_path / "m.db") as conn:
            stored = conn.execute("SELECT COUNT(*) FROM memories WHERE embedding IS NOT NULL").fetchone()[0]
        assert stored == 2
    finally:
        set_host(old)


async def test_provider_without_embeddings_is_refused(tmp_path: Path) -> None:
    from agentkit.plugins import PluginHost, set_host

    old = set_host(PluginHost(entry_points=False))
    try:
        memory = SqliteMemory(tmp_path / "m.db", embeddings="scripted/any")
        with pytest.raises(MemoryStoreError, match="has no embeddings"):
            await memory.add("fact", user_id="u1")
        assert await SqliteMemory(tmp_path / "m.db").list() == []
    finally:
        set_host(old)
