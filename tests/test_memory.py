"""The in-memory backend, the memory API around it, and what the loop uses."""

from __future__ import annotations

import pytest

from agentkit.default_plugins.memory import InMemoryMemory
from agentkit.errors import ConfigError, MemoryStoreError
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
    with pytest.raises(ConfigError, match=r"memory\.bogus: memory 'memory' has no option 'bogus'"):
        resolve_memory({"name": "memory", "bogus": 1}, host=host)
    with pytest.raises(MemoryStoreError):
        resolve_memory(42, host=host)


# -- the docs give the backend contract exactly ------------------------------------------------


def _signature(name: str, func: object, *, is_async: bool = False) -> str:
    """A signature as docs/memory.md writes it: no ``self``, annotations as written."""
    import inspect

    sig = inspect.signature(func)  # type: ignore[arg-type]
    parts: list[str] = []
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        text = p.name + (f": {p.annotation}" if p.annotation is not p.empty else "")
        parts.append(text + (f" = {p.default!r}" if p.default is not p.empty else ""))
    return f"{'async ' if is_async else ''}{name}({', '.join(parts)}) -> {sig.return_annotation}"


def test_the_docs_give_every_backend_method_and_validation_helper_as_it_is() -> None:
    from pathlib import Path

    import agentkit.memory as memory_module
    from agentkit.memory import Memory

    page = (Path(__file__).parents[1] / "docs" / "memory.md").read_text()
    methods = sorted(Memory.__abstractmethods__)
    assert methods == ["add", "delete", "get", "list", "search", "update"]
    for name in methods:
        assert _signature(name, getattr(Memory, name), is_async=True) in page, name
    helpers = [n for n in memory_module.__all__ if n.startswith("check_")] + ["new_record", "visible_to"]
    for name in helpers:
        assert _signature(name, getattr(memory_module, name)) in page, name
