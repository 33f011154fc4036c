"""The in-memory backend, the memory API around it, and what the loop uses."""

from __future__ import annotations

import pytest

from agentkit.default_plugins.memory import InMemoryMemory
from agentkit.errors import MemoryStoreError
from agentkit.memory import MemoryView, recall_block, resolve_memory
from agentkit.plugins import PluginHost
from agentkit.testing.conformance.memory import MemoryConformance


class TestInMemoryMemory(MemoryConformance):
    @pytest.fixture
    def memory(self) -> InMemoryMemory:
        return InMemoryMemory()


def test_sync_view_works_outside_and_inside_a_loop() -> None:
    memory = InMemoryMemory()
    view = memory.for_user("u1")
    record = view.remember("Likes jazz")
    assert [h.record.id for h in view.recall("jazz")] == [record.id]
    assert view.list() == [record]
    assert view.update(record.id, "Likes jazz and blues").text == "Likes jazz and blues"
    assert view.forget(record.id) is True


async def test_sync_view_inside_running_loop() -> None:
    view = InMemoryMemory().for_user("u1")
    record = view.remember("Likes opera")
    assert view.recall("opera")[0].record == record


def test_view_needs_a_user() -> None:
    with pytest.raises(MemoryStoreError):
        MemoryView(InMemoryMemory(), "")


async def test_recall_block_is_delimited_and_within_budget() -> None:
    memory = InMemoryMemory()
    for i in range(20):
        await memory.add(f"Fact {i} about the user's travel plans to city number {i}", user_id="u1")
    block = await recall_block(
        memory, user_id="u1", agent_name=None, session_id=None, query="travel plans", token_budget=80, k=10
    )
    assert block is not None
    assert block.startswith("<memory>\n") and block.endswith("\n</memory>")
    assert 1 <= block.count("\n- ") < 10  # the budget cut it short
    assert await recall_block(memory, user_id="u2", agent_name=None, session_id=None, query="travel") is None
    assert await recall_block(memory, user_id=None, agent_name=None, session_id=None, query="travel") is None


def test_resolve_memory_by_name_and_mapping() -> None:
    host = PluginHost(entry_points=False)
    assert isinstance(resolve_memory("memory", host=host), InMemoryMemory)
    assert isinstance(resolve_memory({"name": "memory"}, host=host), InMemoryMemory)
    with pytest.raises(Exception, match="unknown memory 'nope'"):
        resolve_memory("nope", host=host)
    with pytest.raises(MemoryStoreError, match=r"unexpected keyword"):
        resolve_memory({"name": "memory", "bogus": 1}, host=host)
    with pytest.raises(MemoryStoreError):
        resolve_memory(42, host=host)
