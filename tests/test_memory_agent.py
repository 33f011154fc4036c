"""Long-term memory through the Agent: auto recall, sessions, memory tools, users kept apart."""

from __future__ import annotations

from typing import Any

from agentkit import SystemMessage
from agentkit.default_plugins.memory import InMemoryMemory
from agentkit.memory import Memory
from agentkit.testing import tool_calls


def memory_blocks(request: Any) -> list[str]:
    return [m.content for m in request.messages if isinstance(m, SystemMessage) and "<memory>" in m.content]


def test_agent_memory_by_name_is_one_object_shared_by_runs_and_sessions(scripted_agent: Any) -> None:
    agent = scripted_agent(["Tea, I believe."] * 3, memory="memory", storage="memory")
    assert isinstance(agent.memory, Memory)
    alice = agent.session("chat-1", user_id="alice")
    record = alice.remember("Alice prefers green tea", {"topic": "drinks"})
    alice.run("Which tea do I like?")
    (block,) = memory_blocks(agent.provider.requests[-1])
    assert "Alice prefers green tea" in block
    assert [h.record.id for h in agent.memory.for_user("alice").recall("tea")] == [record.id]

    agent.session("chat-2", user_id="bob").run("Which tea do I like?")
    assert memory_blocks(agent.provider.requests[-1]) == []  # never another user's memories

    assert alice.forget(record.id) is True
    assert alice.recall("tea") == []


def test_model_remembers_with_tools_and_recalls_in_a_later_run(scripted_agent: Any) -> None:
    script = [
        tool_calls(("remember", {"text": "Flies from Porto, prefers aisle seats"})),
        "Noted.",
        "You prefer aisle seats.",
    ]
    agent = scripted_agent(script, memory="memory", memory_settings={"tools": True}, storage="memory")
    session = agent.session("trip", user_id="carol")
    session.run("Remember that I fly from Porto and like aisle seats")
    tool_result = next(m for m in session.history if m.role == "tool")
    assert tool_result.content.startswith("remembered") and not tool_result.is_error
    agent.session("another-trip", user_id="carol").run("Which seats do I like?")
    (block,) = memory_blocks(agent.provider.requests[-1])
    assert "aisle seats" in block


def test_memory_object_given_directly_is_used_as_is(scripted_agent: Any) -> None:
    memory = InMemoryMemory()
    agent = scripted_agent(["ok"], memory=memory)
    assert agent.memory is memory
    memory.for_user("dave").remember("Dave is learning Rust")
    agent.run("What am I learning?", user_id="dave")
    assert "Rust" in memory_blocks(agent.provider.requests[-1])[0]
