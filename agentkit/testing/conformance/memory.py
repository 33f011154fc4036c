"""The memory conformance suite: every memory backend passes it.

Subclass :class:`MemoryConformance` and provide a ``memory`` fixture returning a fresh,
empty backend (async fixtures are fine)::

    from agentkit.testing.conformance.memory import MemoryConformance

    class TestMyMemory(MemoryConformance):
        @pytest.fixture
        def memory(self, tmp_path):
            return MyMemory(tmp_path / "m.db")
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from agentkit.errors import MemoryStoreError
from agentkit.memory import MAX_MEMORY_CHARS, Memory, MemoryHit, MemoryRecord

__all__ = ["MemoryConformance"]


class MemoryConformance:
    """Tests of the Memory contract. Override the ``memory`` fixture."""

    @pytest.fixture
    def memory(self) -> Memory:  # pragma: no cover - always overridden
        raise NotImplementedError("override the `memory` fixture")

    async def test_add_then_recall_best_first(self, memory: Memory) -> None:
        await memory.add("Prefers window seats on flights", user_id="u1")
        await memory.add("Is allergic to peanuts", user_id="u1")
        await memory.add("Lives in Lisbon, Portugal", user_id="u1")
        hits = await memory.search("which seats on flights", user_id="u1", k=2)
        assert hits and isinstance(hits[0], MemoryHit)
        assert "window" in hits[0].record.text
        assert len(hits) <= 2
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))

    async def test_users_never_see_each_others_memories(self, memory: Memory) -> None:
        await memory.add("The secret code is 1234", user_id="alice")
        await memory.add("The secret code is 9999", user_id="bob", scope="session", session_id="s1")
        assert [h.record.user_id for h in await memory.search("secret code", user_id="alice")] == ["alice"]
        assert await memory.search("secret code", user_id="mallory") == []
        assert await memory.search("secret code", user_id="mallory", session_id="s1") == []
        bob = await memory.search("secret code", user_id="bob", session_id="s1")
        assert [h.record.text for h in bob] == ["The secret code is 9999"]
        assert await memory.list(user_id="mallory") == []

    async def test_session_scope_stays_in_its_session(self, memory: Memory) -> None:
        await memory.add("Booked table 7", user_id="u1", scope="session", session_id="s1")
        assert await memory.search("table", user_id="u1", session_id="s2") == []
        assert len(await memory.search("table", user_id="u1", session_id="s1")) == 1

    async def test_agent_scope_is_shared_by_the_agents_users(self, memory: Memory) -> None:
        await memory.add("The office closes at 6pm", scope="agent", agent="helpdesk")
        assert len(await memory.search("office closes", user_id="anyone", agent="helpdesk")) == 1
        assert await memory.search("office closes", user_id="anyone", agent="other") == []

    async def test_metadata_filters(self, memory: Memory) -> None:
        await memory.add("Likes ramen", user_id="u1", metadata={"topic": "food"})
        await memory.add("Likes ramen festivals in Tokyo", user_id="u1", metadata={"topic": "travel"})
        food = await memory.search("ramen", user_id="u1", filters={"topic": "food"})
        assert [h.record.metadata["topic"] for h in food] == ["food"]
        both = await memory.search("ramen", user_id="u1", filters={"topic": ["food", "travel"]})
        assert len(both) == 2

    @pytest.mark.parametrize("filters", [["topic"], {"": 1}, {"topic": {"$gt": 1}}, {"topic": []}])
    async def test_malformed_filters_are_clear_errors(self, memory: Memory, filters: Any) -> None:
        with pytest.raises(MemoryStoreError):
            await memory.search("x", user_id="u1", filters=filters)

    @pytest.mark.parametrize("text", ["", "   ", "x" * (MAX_MEMORY_CHARS + 1)])
    async def test_bad_text_stores_nothing(self, memory: Memory, text: str) -> None:
        with pytest.raises(MemoryStoreError):
            await memory.add(text, user_id="u1")
        assert await memory.list(user_id="u1") == []

    async def test_bad_metadata_and_scope_store_nothing(self, memory: Memory) -> None:
        with pytest.raises(MemoryStoreError):
            await memory.add("fact", user_id="u1", metadata={"x": object()})
        with pytest.raises(MemoryStoreError):
            await memory.add("fact", user_id="u1", scope="galaxy")  # type: ignore[arg-type]
        with pytest.raises(MemoryStoreError):
            await memory.add("fact")  # a user memory needs a user
        assert await memory.list() == []

    async def test_get_update_delete(self, memory: Memory) -> None:
        record = await memory.add("Drinks tea", user_id="u1", metadata={"v": 1})
        assert isinstance(record, MemoryRecord) and record.id
        assert (await memory.get(record.id)) == record
        updated = await memory.update(record.id, text="Drinks coffee", metadata={"v": 2})
        assert updated.text == "Drinks coffee" and updated.metadata == {"v": 2}
        assert updated.created_at == record.created_at and updated.updated_at >= record.updated_at
        assert [h.record.id for h in await memory.search("coffee", user_id="u1")] == [record.id]
        assert await memory.search("tea", user_id="u1") == []
        assert await memory.delete(record.id) is True
        assert await memory.delete(record.id) is False
        assert await memory.get(record.id) is None
        with pytest.raises(MemoryStoreError):
            await memory.update(record.id, text="gone")

    async def test_update_with_bad_text_changes_nothing(self, memory: Memory) -> None:
        record = await memory.add("Drinks tea", user_id="u1")
        with pytest.raises(MemoryStoreError):
            await memory.update(record.id, text="")
        assert (await memory.get(record.id)) == record

    async def test_list_newest_first_with_paging(self, memory: Memory) -> None:
        ids = []
        for i in range(5):
            ids.append((await memory.add(f"fact number {i}", user_id="u1")).id)
            await asyncio.sleep(0.002)
        listed = await memory.list(user_id="u1", limit=2, offset=1)
        assert [r.id for r in listed] == [ids[3], ids[2]]

    async def test_expired_memories_are_not_recalled(self, memory: Memory) -> None:
        await memory.add("Temporary fact about parking", user_id="u1", ttl=0.05)
        await memory.add("Permanent fact about parking", user_id="u1")
        await asyncio.sleep(0.1)
        hits = await memory.search("parking", user_id="u1")
        assert [h.record.text for h in hits] == ["Permanent fact about parking"]

    async def test_query_with_punctuation_and_no_match(self, memory: Memory) -> None:
        await memory.add("Enjoys hiking", user_id="u1")
        assert await memory.search('"OR AND NEAR( * ^-', user_id="u1") == []
        assert await memory.search("", user_id="u1") == []
        assert len(await memory.search("hiking?!", user_id="u1")) == 1

    async def test_view_remember_recall_forget(self, memory: Memory) -> None:
        view = memory.for_user("u1")
        other = memory.for_user("u2")
        record = await view.aremember("Speaks Portuguese", {"source": "chat"})
        assert [h.record.id for h in await view.arecall("Portuguese")] == [record.id]
        assert await other.aforget(record.id) is False  # not theirs
        assert await other.arecall("Portuguese") == []
        assert await view.aforget(record.id) is True
        assert await view.arecall("Portuguese") == []
