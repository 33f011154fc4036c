"""Ephemeral sessions, as users of the typed loop wrote them: ``with agent.session() as ask:``.

A session without an id gets a generated one; it is callable (``ask(prompt)`` is
``ask.run(prompt)``); it lives in memory unless the agent has a store configured, and then in
that store, where its turns stay after the block. ``agent.session("id")`` is a context manager
too, and leaving it loses nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, StorageError
from agentkit.plugins import PluginHost, set_host
from agentkit.stores import close_shared_stores, open_store
from agentkit.testing import ScriptedProvider
from agentkit.testing.fake_openai import FakeOpenAIServer


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    close_shared_stores()


@pytest.fixture
def host() -> Iterator[PluginHost]:
    """The plugin host users get: built-ins and every installed plugin (sqlite, openai)."""
    host = PluginHost()
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def texts(messages: Any) -> list[str]:
    return [m.text for m in messages]


def home_files(home: Path) -> list[str]:
    return sorted(p.name for p in home.rglob("*"))


# -- with agent.session() as ask -----------------------------------------------------------------


def test_ask_remembers_within_the_block_and_writes_nothing_to_disk(
    host: PluginHost, agentkit_home: Path
) -> None:
    model = ScriptedProvider(["Nice to meet you, Alice.", "Your name is Alice."])
    agent = Agent("scripted/demo", provider=model)  # no storage= : the default would be SQLite
    with agent.session() as ask:
        ask("My name is Alice")
        result = ask("What's my name?")
        assert re.fullmatch(r"[0-9a-f]{32}", ask.id)
        assert ask.store.name == "memory"
        assert texts(ask.history) == [
            "My name is Alice",
            "Nice to meet you, Alice.",
            "What's my name?",
            "Your name is Alice.",
        ]
    assert result.text == "Your name is Alice."
    assert texts(model.requests[1].messages) == [
        "My name is Alice",
        "Nice to meet you, Alice.",
        "What's my name?",
    ]
    assert texts(result.history) == [*texts(model.requests[1].messages), "Your name is Alice."]
    assert home_files(agentkit_home) == []  # the default SQLite store was never opened

    named = Agent("scripted/demo", provider=ScriptedProvider(["Hi."]))
    named.session("kept").run("hello")
    assert "agentkit.db" in home_files(agentkit_home)  # a named session does use the default store


def test_each_block_is_a_new_conversation_and_an_ended_one_says_so(host: PluginHost) -> None:
    model = ScriptedProvider(["one", "two", "three"])
    agent = Agent("scripted/demo", provider=model)
    with agent.session() as first:
        first("My name is Alice")
    with agent.session() as second:
        second("What's my name?")
    assert first.id != second.id
    assert texts(model.requests[1].messages) == ["What's my name?"]  # nothing from the first block

    with pytest.raises(StorageError, match="has ended") as info:
        first("Still there?")
    assert info.value.session_id == first.id
    assert "storage=" in (info.value.hint or "")
    assert len(model.requests) == 2  # refused before any model call


def test_async_with_and_arun_against_a_loopback_server(host: PluginHost, fake: FakeOpenAIServer) -> None:
    fake.reset(["Nice to meet you, Alice.", "Your name is Alice."])

    async def main() -> Any:
        agent = Agent("openai/gpt-4o-mini", base_url=fake.base_url, api_key="sk-test")
        async with agent, agent.session(user_id="alice") as ask:
            await ask.arun("My name is Alice")
            result = await ask.arun("What's my name?")
            assert ask.user_id == "alice" and ask.store.name == "memory"
            return result

    result = asyncio.run(main())
    assert result.text == "Your name is Alice."
    sent = fake.chat_requests[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == "Nice to meet you, Alice."
    assert texts(result.history) == [
        "My name is Alice",
        "Nice to meet you, Alice.",
        "What's my name?",
        "Your name is Alice.",
    ]


def test_the_sync_call_works_inside_a_running_loop(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Alice.", "Alice."])
    agent = Agent("scripted/demo", provider=model)

    async def main() -> str:
        async with agent.session() as ask:
            ask("My name is Alice")  # a notebook cell: sync call, loop running
            return (await ask.arun("What's my name?")).text

    assert asyncio.run(main()) == "Alice."
    assert texts(model.requests[1].messages)[:2] == ["My name is Alice", "Hello Alice."]


def test_streaming_in_an_ephemeral_session(host: PluginHost) -> None:
    from agentkit import RunCompleted

    model = ScriptedProvider(["Hi Alice.", "Alice."])
    agent = Agent("scripted/demo", provider=model)
    with agent.session() as ask:
        ask("My name is Alice")
        events = list(ask.stream("What's my name?"))
    assert isinstance(events[-1], RunCompleted) and events[-1].result.text == "Alice."
    assert texts(model.requests[1].messages)[:2] == ["My name is Alice", "Hi Alice."]


# -- a store configured explicitly: the session is stored there ----------------------------------


def test_with_a_configured_store_the_turns_outlive_the_block(host: PluginHost, tmp_path: Path) -> None:
    db = tmp_path / "chats.db"
    model = ScriptedProvider(["Hello Alice.", "Alice."])
    agent = Agent("scripted/demo", provider=model, storage=f"sqlite:{db}")
    with agent.session() as ask:
        ask("My name is Alice")
        ask("What's my name?")
        assert ask.store.name == "sqlite"
    session_id = ask.id

    # the same store, read again: both turns are there, and the session goes on
    assert texts(agent.session(session_id).history) == [
        "My name is Alice",
        "Hello Alice.",
        "What's my name?",
        "Alice.",
    ]
    assert texts(ask.history) == texts(agent.session(session_id).history)  # the block closed nothing shared
    close_shared_stores()
    store = open_store(f"sqlite:{db}", host=host)
    try:
        stored = asyncio.run(store.load_messages(session_id))
    finally:
        store.close()
    assert texts(stored)[0] == "My name is Alice" and len(stored) == 4


def test_with_the_memory_store_configured_the_session_stays_in_it(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Alice."])
    agent = Agent("scripted/demo", provider=model, storage="memory")
    with agent.session() as ask:
        ask("My name is Alice")
    assert texts(agent.session(ask.id).history) == ["My name is Alice", "Hello Alice."]


# -- agent.session("id") as before, and as a context manager -------------------------------------


def test_a_named_session_is_a_context_manager_and_keeps_its_turns(host: PluginHost) -> None:
    model = ScriptedProvider(["Hello Ada.", "Ada.", "Yes."])
    agent = Agent("scripted/demo", provider=model, storage="memory")
    with agent.session("chat-42", user_id="ada") as chat:
        assert chat.id == "chat-42"
        chat("I am Ada.")
    chat.run("Who am I?")  # still usable: nothing was closed
    assert texts(model.requests[1].messages) == ["I am Ada.", "Hello Ada.", "Who am I?"]

    async def again() -> None:
        async with agent.session("chat-42", user_id="ada") as same:
            await same.arun("Right?")

    asyncio.run(again())
    assert texts(agent.session("chat-42").history)[-2:] == ["Right?", "Yes."]
    assert agent.session("chat-42").info.user_id == "ada"


def test_a_failed_run_in_the_block_stores_nothing_and_the_error_propagates(host: PluginHost) -> None:
    from agentkit import ProviderError

    model = ScriptedProvider(["Hi.", ProviderError("the model is down")])
    agent = Agent("scripted/demo", provider=model, storage="memory")
    with pytest.raises(ProviderError), agent.session() as ask:
        ask("Hello")
        ask("Are you there?")
    assert texts(agent.session(ask.id).history) == ["Hello", "Hi."]
