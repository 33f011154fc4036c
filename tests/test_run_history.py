"""The restart pattern, as users of the async loop wrote it: feed a result back as ``history=``.

``result.messages`` are the run's own messages; ``result.history`` is the history the run was
given followed by them, so ``agent.run("Now do X", history=result.history)`` continues a
conversation without a store. On the wire the given history is ``prior_messages``, left out
when there was none, so results written before it existed still read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Agent, MaxTurnsError, RunAbortedError, RunResult, from_dict, to_dict
from agentkit.events import RunCompleted
from agentkit.plugins import PluginHost, set_host
from agentkit.stores import close_shared_stores
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit.tools import tool


@pytest.fixture
def host() -> Iterator[PluginHost]:
    host = PluginHost()
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)
        close_shared_stores()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def texts(messages: Any) -> list[str]:
    return [m.text for m in messages]


def test_messages_fed_back_as_history_and_the_whole_history(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Alice.", "Alice.", "Done: X."])
    agent = Agent("scripted/demo", provider=model)
    first = agent.run("My name is Alice")
    assert first.history == first.messages and first.prior_messages is None

    second = agent.run("What's my name?", history=first.messages)  # the old spelling works
    assert texts(model.requests[1].messages) == ["My name is Alice", "Hello Alice.", "What's my name?"]
    assert texts(second.messages) == ["What's my name?", "Alice."]
    assert second.history == (*first.messages, *second.messages)

    third = agent.run("Now do X", history=second.history)
    assert texts(model.requests[2].messages) == [
        "My name is Alice",
        "Hello Alice.",
        "What's my name?",
        "Alice.",
        "Now do X",
    ]
    assert third.history == (*first.messages, *second.messages, *third.messages)
    assert texts(third.messages) == ["Now do X", "Done: X."]  # messages stay the run's own


def test_async_restart_against_a_loopback_server(host: PluginHost, fake: FakeOpenAIServer) -> None:
    fake.reset(["Hello Alice.", "Your name is Alice."])

    async def main() -> RunResult:
        async with Agent("openai/gpt-4o-mini", base_url=fake.base_url, api_key="sk-test") as agent:
            result = await agent.arun("My name is Alice")
            return await agent.arun("What's my name?", history=result.history)

    result = asyncio.run(main())
    sent = fake.chat_requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "My name is Alice"),
        ("assistant", "Hello Alice."),
        ("user", "What's my name?"),
    ]
    assert texts(result.history) == [
        "My name is Alice",
        "Hello Alice.",
        "What's my name?",
        "Your name is Alice.",
    ]


def test_streamed_runs_and_tool_turns_carry_the_history(host: PluginHost) -> None:
    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return f"{city}: 700k people"

    model = ScriptedProvider(["Hi.", tool_calls(("lookup", {"city": "Oslo"})), "About 700k."])
    agent = Agent("scripted/demo", provider=model, tools=[lookup])
    first = agent.run("Hello")
    events = list(agent.stream("How big is Oslo?", history=first.history))
    result = events[-1].result
    assert isinstance(events[-1], RunCompleted)
    assert [m.role for m in result.history] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert result.history[:2] == first.messages


def test_a_failed_run_keeps_the_history_in_its_partial(host: PluginHost) -> None:
    model = ScriptedProvider(["Hi.", tool_calls(("missing", {}))], repeat_last=True)
    agent = Agent("scripted/demo", provider=model, max_turns=1)
    first = agent.run("Hello")
    with pytest.raises(MaxTurnsError) as info:
        agent.run("Go on", history=first.history)
    partial = info.value.partial
    assert partial.history[: len(first.messages)] == first.messages
    assert texts(partial.messages)[0] == "Go on"


def test_an_aborted_run_keeps_the_history_in_its_partial(host: PluginHost) -> None:
    started = asyncio.Event()

    @tool
    async def wait() -> str:
        """Wait."""
        started.set()
        await asyncio.sleep(60)
        return "never"

    model = ScriptedProvider(["Hi.", tool_calls(("wait", {}))])
    agent = Agent("scripted/demo", provider=model, tools=[wait])
    first = agent.run("Hello")

    async def main() -> None:
        task = asyncio.ensure_future(agent.arun("Wait", history=first.history))
        await started.wait()
        agent.abort()
        await task

    with pytest.raises(RunAbortedError) as info:
        asyncio.run(main())
    assert info.value.partial.history[:2] == first.messages


def test_a_session_result_has_the_stored_conversation_as_history(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Ada.", "Ada."])
    chat = Agent("scripted/demo", provider=model, storage="memory").session("chat-1")
    chat.run("I am Ada.")
    result = chat.run("Who am I?")
    assert result.history == tuple(chat.history)
    assert texts(result.messages) == ["Who am I?", "Ada."]  # what the session stored as the turn


# -- the wire: an optional field, left out when there was no history ---------------------------


def test_on_the_wire(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Alice.", "Alice."])
    agent = Agent("scripted/demo", provider=model)
    first = agent.run("My name is Alice")
    second = agent.run("What's my name?", history=first.history)

    data = to_dict(first)
    assert "prior_messages" not in data  # the shape of a run without history is unchanged
    assert from_dict(data, RunResult) == first

    data = to_dict(second)
    assert data["prior_messages"] == to_dict(list(first.messages))
    back = from_dict(data, RunResult)
    assert back == second and back.history == second.history

    older = {k: v for k, v in to_dict(second).items() if k != "prior_messages"}  # written before the field
    assert from_dict(older, RunResult).history == second.messages

    event = from_dict(to_dict(RunCompleted(second)), RunCompleted)
    assert event.result.history == second.history
