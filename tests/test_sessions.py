"""Sessions with the real Agent: history in, one whole turn out, only when the run completes."""

from __future__ import annotations

import asyncio
import contextlib
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    MaxTurnsError,
    MemoryStoreError,
    ModelRequest,
    ProviderError,
    RunAbortedError,
    RunCompleted,
    StorageError,
    SystemMessage,
    TextDelta,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.agent import Agent
from agentkit.sessions import TITLE_LENGTH, Session
from agentkit.stores import INTERRUPTED_RESULT, close_shared_stores
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    close_shared_stores()


@pytest.fixture
def host(plugin_host: Any) -> Any:
    """The built-ins plus the first-party store plugins, registered by hand."""
    import agentkit_jsonl.plugin
    import agentkit_sqlite.plugin

    plugin_host.register(agentkit_sqlite.plugin, name="agentkit_sqlite")
    plugin_host.register(agentkit_jsonl.plugin, name="agentkit_jsonl")
    return plugin_host


def make_agent(host: Any, *script: Any, storage: Any = "memory", **options: Any) -> Agent:
    return Agent(
        "scripted/test", provider=ScriptedProvider(list(script)), storage=storage, plugin_host=host, **options
    )


def texts(messages: Any) -> list[str]:
    return [m.text for m in messages]


def test_a_session_remembers_the_conversation(host: Any) -> None:
    agent = make_agent(host, "Hello Ada!", "Your name is Ada.", name="greeter")
    session = agent.session("chat-42", user_id="user123")
    assert isinstance(session, Session)
    assert session.run("My name is Ada.").text == "Hello Ada!"
    assert session.run("What is my name?").text == "Your name is Ada."
    second = agent.provider.requests[1]
    assert texts(second.messages) == ["My name is Ada.", "Hello Ada!", "What is my name?"]
    assert texts(session.history) == [
        "My name is Ada.",
        "Hello Ada!",
        "What is my name?",
        "Your name is Ada.",
    ]
    info = session.info
    assert (info.id, info.user_id, info.title, info.model) == (
        "chat-42",
        "user123",
        "My name is Ada.",
        "scripted/test",
    )
    assert info.message_count == 4 and info.metadata == {"agent": "greeter"}
    assert info.usage.requests == 2 and info.usage.total_tokens > 0
    assert session.title == "My name is Ada."


def test_the_system_prompt_is_sent_but_not_stored(host: Any) -> None:
    agent = make_agent(host, "ok", system="Be brief.")
    session = agent.session("s")
    session.run("hi")
    assert isinstance(agent.provider.requests[0].messages[0], SystemMessage)
    assert texts(session.history) == ["hi", "ok"]


def test_user_id_defaults_to_the_session_id_and_owners_are_kept(host: Any) -> None:
    agent = make_agent(host, "a", "b")
    assert agent.session("solo").info.user_id == "solo"
    agent.session("owned", user_id="alice").run("hi")
    owned = agent.session("owned")
    assert owned.info.user_id == "alice" and owned.user_id == "alice"
    with pytest.raises(StorageError, match="another user"):
        agent.session("owned", user_id="mallory").run("let me in")
    assert len(agent.provider.requests) == 1  # refused before any model call


async def test_async_api_and_concurrent_sessions(host: Any) -> None:
    agent = make_agent(host, *(f"answer {i}" for i in range(6)))
    sessions = [agent.session(f"s{i}") for i in range(3)]
    await asyncio.gather(*(s.arun(f"q{i}") for i, s in enumerate(sessions)))
    for s in sessions:
        history = await s.ahistory()
        assert len(history) == 2 and history[0].text == f"q{s.id[1]}"


async def test_stream_stores_the_turn_before_run_completed(host: Any) -> None:
    agent = make_agent(host, "streamed answer")
    session = agent.session("st")
    seen = []
    async for event in session.astream("go"):
        if isinstance(event, RunCompleted):
            assert texts(await agent.session("st").ahistory()) == ["go", "streamed answer"]
        seen.append(type(event).__name__)
    assert seen[-1] == "RunCompleted" and "TextDelta" in seen


def test_sync_stream(host: Any) -> None:
    agent = make_agent(host, "abcdefgh")
    session = agent.session("sync-stream")
    deltas = [e.text for e in session.stream("go") if isinstance(e, TextDelta)]
    assert "".join(deltas) == "abcdefgh"
    assert texts(session.history) == ["go", "abcdefgh"]


async def test_leaving_a_stream_early_stores_nothing(host: Any) -> None:
    agent = make_agent(host, "a long streamed answer")
    session = agent.session("left")
    async with contextlib.aclosing(session.astream("go")) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert await session.ahistory() == []


def test_a_failed_run_stores_nothing(host: Any) -> None:
    agent = make_agent(host, "first", ProviderError("model exploded", provider="scripted"))
    session = agent.session("f")
    session.run("one")
    with pytest.raises(ProviderError):
        session.run("two")
    assert texts(session.history) == ["one", "first"]


async def test_an_aborted_run_stores_nothing(host: Any) -> None:
    started = threading.Event()

    @tool
    async def slow() -> str:
        """Takes a while."""
        started.set()
        await asyncio.sleep(30)
        return "never"

    agent = make_agent(host, tool_calls(("slow", {})), "done", tools=[slow])
    session = agent.session("ab")
    task = asyncio.create_task(session.arun("go"))
    while not started.is_set():
        await asyncio.sleep(0.01)
    agent.abort()
    with pytest.raises(RunAbortedError):
        await task
    assert await session.ahistory() == []
    started.clear()
    agent = make_agent(host, tool_calls(("slow", {})), tools=[slow])
    task = asyncio.create_task(agent.session("cancelled").arun("go"))
    while not started.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await agent.session("cancelled").ahistory() == []


async def test_a_run_that_fails_or_is_cancelled_leaves_no_empty_session(host: Any, tmp_path: Path) -> None:
    """A new session is created with its first turn: nothing to list after a failed start."""
    started = threading.Event()

    @tool
    async def slow() -> str:
        """Takes a while."""
        started.set()
        await asyncio.sleep(30)
        return "never"

    storage = f"sqlite:{tmp_path / 'sessions.db'}"
    agent = make_agent(host, ProviderError("model down", provider="scripted"), storage=storage)
    with pytest.raises(ProviderError):
        await agent.session("failed").arun("hi")
    agent = make_agent(host, tool_calls(("slow", {})), tools=[slow], storage=storage)
    task = asyncio.create_task(agent.session("cancelled").arun("go"))
    while not started.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    agent = make_agent(host, "a long streamed answer", storage=storage)
    async with contextlib.aclosing(agent.session("left").astream("go")) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert await agent.session("read").ahistory() == []  # reading creates nothing either
    store = agent.session("x").store
    assert await store.list_sessions() == []
    agent = make_agent(host, "finally", storage=storage)
    await agent.session("failed").arun("again")  # the first turn creates it
    assert [i.id for i in await store.list_sessions()] == ["failed"]
    assert (await store.get_session("failed")).title == "again"


def test_max_turns_keeps_what_was_completed(host: Any) -> None:
    @tool
    def again() -> str:
        """Always asks for more."""
        return "more"

    agent = make_agent(host, tool_calls(("again", {})), tool_calls(("again", {})), max_turns=2, tools=[again])
    session = agent.session("loop")
    with pytest.raises(MaxTurnsError):
        session.run("go")
    history = session.history
    assert history[0] == UserMessage("go")
    assert [type(m).__name__ for m in history] == ["UserMessage", *["AssistantMessage", "ToolMessage"] * 2]
    assert session.info.message_count == 5


def test_a_tool_call_cut_by_a_crash_is_answered_and_never_rerun(host: Any) -> None:
    calls = []

    @tool
    def launch() -> str:
        """Has side effects: must not run twice."""
        calls.append(1)
        return "launched"

    agent = make_agent(host, "I see the launch was interrupted.", tools=[launch])
    session = agent.session("crashed")
    session.add_messages([UserMessage("launch it"), tool_calls(("launch", {}))])  # as a crash left it
    result = session.run("what happened?")
    assert calls == []
    sent = agent.provider.requests[0].messages  # the scripted provider rejects unanswered calls
    assert sent[2] == ToolMessage("call_1", "launch", INTERRUPTED_RESULT, is_error=True)
    assert result.text == "I see the launch was interrupted."
    assert session.history[2].is_error  # type: ignore[union-attr]


def test_history_editing_and_metadata(host: Any) -> None:
    agent = make_agent(host, "x")
    session = agent.session("edit")
    session.add_messages([UserMessage("a"), AssistantMessage("b")])
    assert texts(session.history) == ["a", "b"]
    session.set_history([UserMessage("only")])
    assert texts(session.history) == ["only"] and session.info.message_count == 1
    session.set_title("Renamed")
    assert session.info.title == "Renamed"
    session.clear()
    assert session.history == [] and session.info.title == "Renamed"
    assert session.delete() is True
    assert agent.session("edit").history == []


def test_fork(host: Any) -> None:
    agent = make_agent(host, "one", "two", "branch")
    main = agent.session("main", user_id="u")
    main.run("first")
    main.run("second")
    branch = main.fork("branch", upto=2)
    assert branch.user_id == "u" and texts(branch.history) == ["first", "one"]
    branch.run("other way")
    assert texts(branch.history) == ["first", "one", "other way", "branch"]
    assert texts(main.history) == ["first", "one", "second", "two"]
    assert branch.info.metadata["forked_from"] == "main"


def test_title_is_the_first_line_of_the_first_question(host: Any) -> None:
    agent = make_agent(host, "ok", "ok")
    long = agent.session("long")
    long.run("\n   " + "word " * 40 + "\nsecond line")
    title = long.info.title
    assert (
        title is not None
        and len(title) == TITLE_LENGTH
        and title.endswith("…")
        and title.startswith("word word")
    )
    titled = agent.session("titled")
    titled.set_title("Mine")
    titled.run("something else")
    assert titled.info.title == "Mine"


def test_options_a_session_supplies_are_refused(host: Any) -> None:
    session = make_agent(host, "x").session("o")
    for option in ("history", "session_id", "user_id"):
        with pytest.raises(TypeError, match=option):
            session.run("x", **{option: None})


def test_run_options_pass_through(host: Any) -> None:
    seen: list[ModelRequest] = []

    def answer(request: ModelRequest) -> str:
        seen.append(request)
        return "ok"

    agent = make_agent(host, answer)
    session = agent.session("opts")
    session.run("hi", params={"temperature": 0.5})
    assert seen[0].params["temperature"] == 0.5


async def test_sync_methods_work_inside_a_running_loop(host: Any) -> None:
    agent = make_agent(host, "from a loop")
    session = agent.session("jupyter")
    assert session.run("hi").text == "from a loop"
    assert texts(session.history) == ["hi", "from a loop"]


def test_default_store_is_sqlite_in_agentkit_home(host: Any, agentkit_home: Path) -> None:
    agent = make_agent(host, "persisted", storage=None)
    agent.session("p").run("remember me")
    db = agentkit_home / "agentkit.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    close_shared_stores()
    again = make_agent(host, storage=None)
    assert texts(again.session("p").history) == ["remember me", "persisted"]
    assert type(again.session("p").store).__name__ == "SqliteStore"


def test_storage_by_name_path_and_mapping(host: Any, tmp_path: Path) -> None:
    jsonl = make_agent(host, "j", storage=f"jsonl:{tmp_path / 'j'}")
    jsonl.session("a").run("hi")
    assert (tmp_path / "j" / "a.jsonl").is_file()
    sqlite = make_agent(host, "s", storage={"name": "sqlite", "path": str(tmp_path / "s.db")})
    sqlite.session("a").run("hi")
    assert (tmp_path / "s.db").is_file()
    first, second = make_agent(host, storage="memory"), make_agent(host, storage="memory")
    assert first.session("x").store is second.session("y").store  # one store per spec per process


def test_remember_and_recall(host: Any) -> None:
    agent = make_agent(host, storage="memory", memory="memory")
    session = agent.session("m", user_id="ada")
    record = session.remember("Ada prefers green tea")
    hits = session.recall("tea")
    assert hits and "green tea" in hits[0].record.text
    assert agent.session("other", user_id="bob").recall("tea") == []
    assert agent.session("other", user_id="bob").forget(record.id) is False  # not bob's to delete
    assert session.forget(record.id) is True and session.recall("tea") == []
    with pytest.raises(MemoryStoreError, match="no long-term memory"):
        make_agent(host).session("n").remember("x")


def test_usage_adds_up(host: Any) -> None:
    agent = make_agent(
        host,
        AssistantMessage("a", usage=Usage(10, 1, requests=1, cost=0.5)),
        AssistantMessage("b", usage=Usage(20, 2, requests=1, cost=0.25)),
    )
    session = agent.session("u")
    session.run("1")
    session.run("2")
    assert session.info.usage == Usage(30, 3, requests=2, cost=0.75)


def test_repr() -> None:
    session = Session(object(), "r", user_id="u")
    assert repr(session) == "Session('r', user_id='u')"
    with pytest.raises(StorageError):
        Session(object(), "")
