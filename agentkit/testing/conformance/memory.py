"""The memory conformance suite: every memory backend passes it.

Subclass :class:`MemoryConformance` and provide a ``memory`` fixture returning a fresh,
empty backend (async fixtures are fine). Backends that persist override
:meth:`MemoryConformance.reopen` to return a second backend on the same data, which turns on
the persistence tests::

    from agentkit.testing.conformance.memory import MemoryConformance

    class TestMyMemory(MemoryConformance):
        @pytest.fixture
        def memory(self, tmp_path):
            return MyMemory(tmp_path / "m.db")

        def reopen(self, memory):
            return MyMemory(memory.path)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentkit.errors import MemoryStoreError
from agentkit.memory import MAX_MEMORY_CHARS, Memory, MemoryHit, MemoryRecord

from .stores import HOSTILE_IDS

__all__ = ["MemoryConformance"]


class MemoryConformance:
    """Tests of the Memory contract. Override the ``memory`` fixture."""

    @pytest.fixture
    def memory(self) -> Memory:  # pragma: no cover - always overridden
        raise NotImplementedError("override the `memory` fixture")

    def reopen(self, memory: Memory) -> Memory | None:
        """Override in persistent backends: a second backend reading the same data."""
        return None

    @pytest.fixture
    async def reopened(self, memory: Memory) -> AsyncIterator[Memory]:
        other = self.reopen(memory)
        if other is None:
            pytest.skip("this backend does not persist (reopen() returns None)")
        yield other
        if other is not memory:
            await other.aclose()

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

    # -- ids of any length and content ----------------------------------------------------------

    async def test_long_and_hostile_ids_are_kept_apart(self, memory: Memory) -> None:
        """User, session and agent ids are any text (a 300-character id, ``../x``, NUL...):
        stored as given, never a path, and each user sees only their own memories."""
        for n, uid in enumerate(HOSTILE_IDS):
            await memory.add(f"fact {n} about zebras", user_id=uid)
            await memory.add(f"session fact {n} about zebras", user_id=uid, scope="session", session_id=uid)
        await memory.add("agent fact about zebras", scope="agent", agent="x" * 300)
        for n, uid in enumerate(HOSTILE_IDS):
            hits = await memory.search("zebras", user_id=uid, k=50)
            assert [h.record.text for h in hits] == [f"fact {n} about zebras"]
            in_session = await memory.search("zebras", user_id=uid, session_id=uid, k=50)
            assert sorted(h.record.text for h in in_session) == [
                f"fact {n} about zebras",
                f"session fact {n} about zebras",
            ]
            listed = await memory.list(user_id=uid)
            assert len(listed) == 2 and {r.user_id for r in listed} == {uid}
        agent_hits = await memory.search("zebras", user_id="someone", agent="x" * 300, k=50)
        assert [h.record.text for h in agent_hits] == ["agent fact about zebras"]
        view = memory.for_user("x" * 300)
        record = (await view.arecall("zebras"))[0].record
        assert record.user_id == "x" * 300 and await view.aforget(record.id) is True
        assert await memory.get(record.id) is None

    # -- persistence ----------------------------------------------------------------------------

    async def test_everything_persists(self, memory: Memory, reopened: Memory) -> None:
        long_id = "y" * 300
        kept = await memory.add("Prefers aisle seats", user_id=long_id, metadata={"topic": "travel"})
        gone = await memory.add("Temporary note", user_id=long_id)
        await memory.update(kept.id, text="Prefers window seats")
        await memory.delete(gone.id)
        await memory.add("Office hours are nine to five", scope="agent", agent="desk")
        assert await reopened.get(kept.id) == await memory.get(kept.id)
        assert await reopened.get(gone.id) is None
        assert [h.record.id for h in await reopened.search("window seats", user_id=long_id)] == [kept.id]
        assert [r.id for r in await reopened.list(user_id=long_id)] == [kept.id]
        assert len(await reopened.search("office hours", user_id="anyone", agent="desk")) == 1
        written = await reopened.add("Speaks Portuguese", user_id=long_id)
        assert await memory.get(written.id) == written  # each sees what the other wrote
        assert {r.id for r in await memory.list(user_id=long_id)} == {kept.id, written.id}
