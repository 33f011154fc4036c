"""End to end through the public API: ``Agent("anthropic/<model>")`` against the fake Messages API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import pytest
from fake_anthropic_server import FAST, KEY, FakeAnthropic, Turn, text, thinking, tool_use

import agentkit
from agentkit.events import ReasoningDelta, RunCompleted, TextDelta, ToolCallResult
from agentkit.messages import AssistantMessage, ReasoningBlock, ToolMessage
from agentkit.plugins import PluginHost

THINK = {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 4000}
SIGNATURE = "EqQBCkgIARABGAIiQL+signature/with+base64=="


class Person(TypedDict):
    name: str
    age: int


def add(a: int, b: int) -> int:
    """Add two integers.

    :param a: The first number.
    :param b: The second number.
    """
    return a + b


@pytest.fixture
def host(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> PluginHost:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path))
    return PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-anthropic"})


@pytest.fixture
async def make_agent(fake: FakeAnthropic, host: PluginHost) -> AsyncIterator[Any]:
    agents: list[Any] = []

    def make(**kw: Any) -> Any:
        agent = agentkit.Agent(
            "anthropic/claude-sonnet-4-5", base_url=fake.url, api_key=KEY, provider_settings=FAST, plugin_host=host, **kw
        )
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.aclose()


def _assistant_turns(body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [t["content"] for t in body["messages"] if t["role"] == "assistant"]


async def test_thinking_and_tool_use_over_several_turns_keep_the_signature(fake, make_agent) -> None:
    fake.script(
        Turn([thinking("The user wants 2 + 3: use add.", SIGNATURE), tool_use("toolu_01", "add", {"a": 2, "b": 3})]),
        Turn([thinking("The tool said 5.", "sig-two"), text("2 + 3 = 5.")]),
        Turn([thinking("Now times two.", "sig-three"), tool_use("toolu_02", "add", {"a": 5, "b": 5})]),
        Turn([text("10.")]),
    )
    agent = make_agent(tools=[add], params=THINK)
    first = await agent.arun("What is 2 + 3?")
    assert first.text == "2 + 3 = 5."
    calling = next(m for m in first.messages if isinstance(m, AssistantMessage) and m.tool_calls)
    assert calling.reasoning_blocks == (ReasoningBlock("anthropic", text="The user wants 2 + 3: use add.", signature=SIGNATURE),)
    # the thinking block went back unchanged with the tool result (the API requires it)
    sent = _assistant_turns(fake.requests[1])[0]
    assert sent[0] == {"type": "thinking", "thinking": "The user wants 2 + 3: use add.", "signature": SIGNATURE}
    assert sent[1]["type"] == "tool_use" and sent[1]["id"] == "toolu_01"
    assert fake.requests[1]["messages"][-1]["content"][0]["tool_use_id"] == "toolu_01"

    second = await agent.arun("And doubled?", history=first.history)
    assert second.text == "10."
    turns = _assistant_turns(fake.requests[3])
    assert turns[0][0]["signature"] == SIGNATURE and turns[1][0]["signature"] == "sig-two"
    assert turns[2][0] == {"type": "thinking", "thinking": "Now times two.", "signature": "sig-three"}
    assert all(r["thinking"] == THINK["thinking"] and r["max_tokens"] == 4000 for r in fake.requests)


async def test_thinking_survives_a_stored_session(fake, make_agent, tmp_path) -> None:
    # through the session format (JSON) and back: the signature is still byte for byte the same
    fake.script(Turn([thinking("Use add.", SIGNATURE), tool_use("toolu_01", "add", {"a": 1, "b": 1})]), Turn([text("2")]))
    agent = make_agent(tools=[add], params=THINK)
    result = await agent.arun("1 + 1?")
    restored = agentkit.serialization.messages_from_dicts(agentkit.serialization.messages_to_dicts(result.history))
    fake.script(Turn([text("yes")]))
    await agent.arun("Sure?", history=restored)
    assert _assistant_turns(fake.requests[-1])[0][0]["signature"] == SIGNATURE


async def test_stream_shows_thinking_as_reasoning_deltas(fake, make_agent) -> None:
    fake.script(
        Turn([thinking("Adding two numbers.", SIGNATURE), tool_use("toolu_01", "add", {"a": 2, "b": 3})]),
        Turn([text("It is 5.")]),
    )
    events = [e async for e in make_agent(tools=[add], params=THINK).astream("2 + 3?")]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Adding two numbers."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is 5."
    assert [r.result.content for r in events if isinstance(r, ToolCallResult)] == ["5"]
    assert isinstance(events[-1], RunCompleted) and events[-1].result.text == "It is 5."
    assert _assistant_turns(fake.requests[1])[0][0]["signature"] == SIGNATURE


async def test_structured_output_through_a_forced_tool_is_validated_and_reasked(fake, make_agent) -> None:
    fake.script(
        Turn([tool_use("toolu_01", "final_answer", {"name": "Claude", "age": "old"})]),
        Turn([tool_use("toolu_02", "final_answer", {"name": "Claude", "age": 3})]),
    )
    result = await make_agent(output_type=Person).arun("Claude is 3. Who is it?")
    assert result.output == {"name": "Claude", "age": 3}
    first, second = fake.requests
    assert first["tool_choice"] == {"type": "tool", "name": "final_answer"}
    assert first["tools"][0]["name"] == "final_answer" and first["tools"][0]["input_schema"]["type"] == "object"
    feedback = second["messages"][-1]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] is True and "age" in json.dumps(feedback)


async def test_usage_and_cost_use_the_cache_prices(fake, make_agent) -> None:
    usage = {"input_tokens": 100, "output_tokens": 50, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0}
    again = dict(usage, cache_creation_input_tokens=0, cache_read_input_tokens=2000)
    fake.script(Turn([text("first")], usage=usage), Turn([text("second")], usage=again))
    prices = {"anthropic/claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write_input": 3.75}}
    agent = make_agent(system="A long, stable system prompt.", prices=prices)
    first = await agent.arun("hi")
    second = await agent.arun("hi again")
    assert first.usage.input_tokens == 2100 and first.usage.cache_creation_tokens == 2000
    assert first.usage.cost == pytest.approx((100 * 3.0 + 2000 * 3.75 + 50 * 15.0) / 1e6)
    assert second.usage.cached_tokens == 2000
    assert second.usage.cost == pytest.approx((100 * 3.0 + 2000 * 0.3 + 50 * 15.0) / 1e6)
    assert fake.requests[0]["system"][-1]["cache_control"] == {"type": "ephemeral"}


def test_agent_run_in_a_loop(fake, host) -> None:
    # the synchronous API, one agent for many runs, as a script would use it
    def answer(body: dict[str, Any]) -> Turn:
        last = body["messages"][-1]["content"]
        if last[0]["type"] == "tool_result":
            return Turn([text(f"result {last[0]['content']}")])
        question = last[0]["text"]
        a, b = (int(x) for x in question.split("+"))
        return Turn([tool_use(f"toolu_{a}_{b}", "add", {"a": a, "b": b})])

    fake.default_turn = answer
    agent = agentkit.Agent(
        "anthropic/claude-haiku-4-5", base_url=fake.url, api_key=KEY, provider_settings=FAST, plugin_host=host, tools=[add]
    )
    try:
        for i in range(5):
            result = agent.run(f"{i}+{i * 10}")
            assert result.text == f"result {i * 11}"
            assert any(isinstance(m, ToolMessage) and not m.is_error for m in result.messages)
    finally:
        agent.close()
    assert len(fake.requests) == 10


async def test_a_malformed_tool_call_is_answered_with_an_error_and_the_run_goes_on(fake, make_agent) -> None:
    fake.script(
        Turn([tool_use("toolu_01", "add", raw=['{"a": 2, ', '"b"'])]),
        Turn([tool_use("toolu_02", "add", {"a": 2, "b": 3})]),
        Turn([text("5")]),
    )
    result = await make_agent(tools=[add]).arun("2 + 3?")
    assert result.text == "5"
    errors = [m for m in result.messages if isinstance(m, ToolMessage) and m.is_error]
    assert len(errors) == 1 and errors[0].tool_call_id == "toolu_01"
    resent = _assistant_turns(fake.requests[1])[0][0]
    assert resent["type"] == "tool_use" and resent["input"] == {}  # what it sent was not an object
    assert fake.requests[1]["messages"][-1]["content"][0]["is_error"] is True
