"""The store conformance suite: the whole :class:`agentkit.stores.Store` contract as tests.

Subclass :class:`StoreConformance` in a test module and give it a ``store`` fixture that
returns a fresh, empty store (yield it and close it afterwards). Stores that persist
override :meth:`StoreConformance.reopen` to return a second store on the same data, which
turns on the persistence tests. Every test is async (pytest-asyncio).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from agentkit.errors import SessionNotFoundError, StorageError
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.stores import (
    INTERRUPTED_RESULT,
    SessionInfo,
    Store,
    export_session,
    import_session,
    session_from_dict,
)

__all__ = ["HOSTILE_IDS", "StoreConformance", "sample_turn"]

#: Session ids that must be stored as given and never turn into paths.
HOSTILE_IDS: tuple[str, ...] = (
    "../x",
    "/etc/passwd",
    "a/b",
    "..",
    ".",
    "nul\x00byte",
    "x" * 300,
    "ünïcødé-会话-🙂",
    "CON",
    "with space and\nnewline",
    "%2e%2e",
    "-leading-dash",
)


def sample_turn(i: int = 0, *, tool: bool = True) -> list[Message]:
    """A realistic turn: question, tool call, tool result, answer (or question and answer)."""
    question = UserMessage(f"question {i}: what is the weather in Paris?")
    answer = AssistantMessage(
        f"answer {i}: sunny", model="m", usage=Usage(3, 4, requests=1), finish_reason="stop"
    )
    if not tool:
        return [question, answer]
    call = ToolCall(f"call-{i}", "weather", '{"city": "Paris"}')
    return [
        question,
        AssistantMessage("", tool_calls=(call,), model="m", usage=Usage(5, 6, requests=1)),
        ToolMessage(call.id, "weather", f"result {i}: 21 C and sunny"),
        answer,
    ]


def _every_kind() -> list[Message]:
    """One message of every kind and field, for lossless round trips."""
    return [
        SystemMessage("You are terse."),
        UserMessage(
            (
                TextPart("look at these: "),
                ImagePart(url="https://example.com/cat.png", detail="low"),
                ImagePart(data=b"\x89PNG\r\n\x1a\n\x00\xff", media_type="image/png"),
                ImagePart(path="/tmp/photo.jpg"),
            )
        ),
        AssistantMessage(
            "thinking done",
            tool_calls=(ToolCall("c1", "a", '{"x": 1}'), ToolCall("c2", "b", "{}")),
            reasoning="step by step",
            model="provider/model",
            usage=Usage(10, 20, cached_tokens=5, reasoning_tokens=7, requests=1, cost=0.25),
            finish_reason="tool_calls",
        ),
        ToolMessage("c1", "a", "ok"),
        ToolMessage("c2", "b", "it failed: ValueError: no", is_error=True),
        AssistantMessage('unicode \u2028 line sep, NUL \x00, emoji 🙂, quotes " and \\ backslash'),
        UserMessage("a lone surrogate \ud800 pasted from a broken clipboard"),
        UserMessage("plain text"),
    ]


def _t(day: int) -> datetime:
    return datetime(2020, 1, day, 12, 0, 0, 123456, tzinfo=UTC)


class StoreConformance:
    """Base class of store conformance tests. Not collected itself (no ``Test`` prefix)."""

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def store(self) -> Store:
        """Override: return (or yield) a fresh, empty store."""
        raise NotImplementedError("define a `store` fixture in your StoreConformance subclass")

    def reopen(self, store: Store) -> Store | None:
        """Override in persistent stores: a second store reading the same data."""
        return None

    @pytest.fixture
    async def reopened(self, store: Store) -> AsyncIterator[Store]:
        other = self.reopen(store)
        if other is None:
            pytest.skip("this store does not persist (reopen() returns None)")
        yield other
        if other is not store:
            await other.aclose()

    # -- sessions --------------------------------------------------------------------------

    async def test_create_and_get(self, store: Store) -> None:
        info = await store.create_session(
            "s1", title="First", model="m", metadata={"agent": "a", "n": [1, 2]}
        )
        assert (info.id, info.user_id, info.title, info.model) == ("s1", "s1", "First", "m")
        assert info.message_count == 0 and info.usage == Usage()
        assert info.metadata == {"agent": "a", "n": [1, 2]}
        assert info.created_at.tzinfo is not None and info.created_at <= info.updated_at
        assert await store.get_session("s1") == info
        assert await store.find_session("s1") == info
        assert (await store.create_session("s2", user_id="u")).user_id == "u"

    async def test_create_twice_is_an_error(self, store: Store) -> None:
        await store.create_session("dup")
        with pytest.raises(StorageError, match="dup"):
            await store.create_session("dup")

    async def test_missing_session(self, store: Store) -> None:
        assert await store.find_session("nope") is None
        for call in (
            store.get_session("nope"),
            store.read_messages("nope"),
            store.load_messages("nope"),
            store.append_turn("nope", sample_turn()),
            store.replace_messages("nope", []),
            store.update_session("nope", title="t"),
            store.fork_session("nope", "copy"),
        ):
            with pytest.raises(SessionNotFoundError) as info:
                await call
            assert info.value.session_id == "nope"
            assert "nope" in str(info.value)
        assert await store.delete_session("nope") is False

    async def test_bad_ids_and_metadata_are_refused(self, store: Store) -> None:
        for bad in ("", "x" * 10_000, "lone \ud800 surrogate"):
            with pytest.raises(StorageError):
                await store.create_session(bad)
        with pytest.raises(TypeError, match="JSON"):
            await store.create_session("meta", metadata={"x": object()})

    async def test_hostile_ids_are_kept_exactly(self, store: Store) -> None:
        for n, sid in enumerate(HOSTILE_IDS):
            await store.create_session(sid)
            await store.append_turn(sid, sample_turn(n, tool=False))
        listed = {info.id for info in await store.list_sessions()}
        assert listed == set(HOSTILE_IDS)
        for n, sid in enumerate(HOSTILE_IDS):
            assert (await store.get_session(sid)).message_count == 2
            assert await store.read_messages(sid) == sample_turn(n, tool=False)
        assert await store.delete_session("../x") is True
        assert await store.find_session("../x") is None
        assert await store.find_session("..") is not None

    async def test_open_session(self, store: Store) -> None:
        created = await store.open_session("chat", user_id="alice", title="T")
        assert created.user_id == "alice"
        again = await store.open_session("chat")
        assert again == created
        assert await store.open_session("chat", user_id="alice") == created
        with pytest.raises(StorageError, match="another user"):
            await store.open_session("chat", user_id="mallory")

    async def test_update_session(self, store: Store) -> None:
        await store.create_session("u", title="old", model="m1", metadata={"a": 1})
        info = await store.update_session("u", title="new")
        assert (info.title, info.model, info.metadata) == ("new", "m1", {"a": 1})
        info = await store.update_session("u", model=None, metadata={"b": 2})
        assert (info.title, info.model, info.metadata) == ("new", None, {"b": 2})
        assert await store.get_session("u") == info

    async def test_list_sessions_order_filter_and_paging(self, store: Store) -> None:
        for day, (sid, user) in enumerate([("a", "u1"), ("b", "u2"), ("c", "u1"), ("d", "u1")], start=1):
            await store.put_session(SessionInfo(sid, user, _t(day), _t(day)), [])
        assert [i.id for i in await store.list_sessions()] == ["d", "c", "b", "a"]
        assert [i.id for i in await store.list_sessions(user_id="u1")] == ["d", "c", "a"]
        assert [i.id for i in await store.list_sessions(limit=2)] == ["d", "c"]
        assert [i.id for i in await store.list_sessions(limit=2, offset=2)] == ["b", "a"]
        await store.append_turn("a", sample_turn())
        assert (await store.list_sessions())[0].id == "a"

    async def test_delete_session(self, store: Store) -> None:
        await store.create_session("gone")
        await store.append_turn("gone", sample_turn())
        assert await store.delete_session("gone") is True
        assert await store.find_session("gone") is None
        assert await store.search("Paris") == []
        await store.create_session("gone")
        assert await store.read_messages("gone") == []

    # -- turns -----------------------------------------------------------------------------

    async def test_append_turn_round_trips_every_kind_of_message(self, store: Store) -> None:
        await store.create_session("rt")
        messages = _every_kind()
        info = await store.append_turn("rt", messages, usage=Usage(1, 2, requests=1, cost=0.5), model="p/m")
        assert info.message_count == len(messages)
        assert await store.read_messages("rt") == messages

    async def test_append_turns_accumulate(self, store: Store) -> None:
        await store.create_session("acc")
        expected: list[Message] = []
        total = Usage()
        for i in range(5):
            turn = sample_turn(i, tool=i % 2 == 0)
            usage = Usage(i, 2 * i, requests=1)
            info = await store.append_turn("acc", turn, usage=usage, model=f"m{i}", title=f"title {i}")
            expected += turn
            total += usage
            assert info.message_count == len(expected)
        info = await store.get_session("acc")
        assert (info.message_count, info.usage, info.model, info.title) == (
            len(expected),
            total,
            "m4",
            "title 0",
        )
        assert info.updated_at >= info.created_at
        assert await store.read_messages("acc") == expected
        assert await store.append_turn("acc", []) == info

    async def test_turn_is_all_or_nothing(self, store: Store) -> None:
        await store.create_session("atomic")
        await store.append_turn("atomic", sample_turn(0))
        before = await store.get_session("atomic")
        bad: list[Any] = [*sample_turn(1)[:2], "not a message", *sample_turn(1)[2:]]
        with pytest.raises(TypeError):
            await store.append_turn("atomic", bad)
        assert await store.read_messages("atomic") == sample_turn(0)
        assert (await store.get_session("atomic")).message_count == before.message_count

    async def test_concurrent_turns_stay_whole(self, store: Store) -> None:
        await store.create_session("busy")
        await asyncio.gather(*(store.append_turn("busy", sample_turn(i)) for i in range(20)))
        messages = await store.read_messages("busy")
        assert len(messages) == 80
        turns = [messages[i : i + 4] for i in range(0, 80, 4)]
        assert sorted(turns, key=lambda t: t[0].text) == sorted(
            (sample_turn(i) for i in range(20)), key=lambda t: t[0].text
        )

    async def test_large_message(self, store: Store) -> None:
        await store.create_session("big")
        text = "0123456789abcdef" * 65536  # 1 MiB
        await store.append_turn("big", [UserMessage(text), AssistantMessage("ok")])
        assert (await store.read_messages("big"))[0].text == text

    async def test_replace_and_clear(self, store: Store) -> None:
        await store.create_session("r", title="kept")
        await store.append_turn("r", sample_turn(0), usage=Usage(1, 1, requests=1))
        info = await store.replace_messages("r", sample_turn(9, tool=False))
        assert info.message_count == 2 and info.title == "kept" and info.usage == Usage(1, 1, requests=1)
        assert await store.read_messages("r") == sample_turn(9, tool=False)
        await store.append_turn("r", sample_turn(10, tool=False))
        assert await store.read_messages("r") == sample_turn(9, tool=False) + sample_turn(10, tool=False)
        info = await store.replace_messages("r", [])
        assert info.message_count == 0 and await store.read_messages("r") == []

    # -- interrupted tool calls ------------------------------------------------------------

    async def test_tool_call_without_result_is_answered_as_interrupted(self, store: Store) -> None:
        await store.create_session("crash")
        calls = (ToolCall("k1", "slow", "{}"), ToolCall("k2", "other", "{}"))
        stored: list[Message] = [
            UserMessage("go"),
            AssistantMessage("", tool_calls=calls),
            ToolMessage("k1", "slow", "done"),
            UserMessage("still there?"),
            AssistantMessage("", tool_calls=(ToolCall("k3", "last", "{}"),)),
        ]
        await store.append_turn("crash", stored)
        assert await store.read_messages("crash") == stored  # stored as written
        loaded = await store.load_messages("crash")
        assert loaded == [
            *stored[:3],
            ToolMessage("k2", "other", INTERRUPTED_RESULT, is_error=True),
            stored[3],
            stored[4],
            ToolMessage("k3", "last", INTERRUPTED_RESULT, is_error=True),
        ]
        complete = sample_turn(1)
        await store.create_session("fine")
        await store.append_turn("fine", complete)
        assert await store.load_messages("fine") == complete

    # -- fork ------------------------------------------------------------------------------

    async def test_fork(self, store: Store) -> None:
        await store.create_session("src", user_id="alice", title="Origin", model="m", metadata={"k": "v"})
        await store.append_turn("src", sample_turn(0), usage=Usage(1, 1, requests=1))
        await store.append_turn("src", sample_turn(1))
        whole = await store.read_messages("src")
        info = await store.fork_session("src", "all")
        assert await store.read_messages("all") == whole
        assert (info.user_id, info.title, info.model, info.message_count) == ("alice", "Origin", "m", 8)
        assert info.metadata == {"k": "v", "forked_from": "src"}
        info = await store.fork_session("src", "half", upto=4, user_id="bob", title="Branch")
        assert (info.user_id, info.title, info.message_count) == ("bob", "Branch", 4)
        assert await store.read_messages("half") == whole[:4]
        await store.fork_session("src", "neg", upto=-1)
        assert await store.read_messages("neg") == whole[:-1]
        await store.append_turn("half", sample_turn(7, tool=False))
        assert await store.read_messages("src") == whole
        with pytest.raises(StorageError, match="already exists"):
            await store.fork_session("src", "half")

    # -- search ----------------------------------------------------------------------------

    async def test_search(self, store: Store) -> None:
        await store.put_session(SessionInfo("old", "u1", _t(1), _t(1)), [UserMessage("The quick brown fox")])
        await store.put_session(
            SessionInfo("new", "u2", _t(2), _t(2)),
            [
                UserMessage("a QUICK question"),
                AssistantMessage("quick brown answer"),
                UserMessage("unrelated"),
            ],
        )
        hits = await store.search("quick brown")
        assert [(h.session_id, h.index, h.role) for h in hits] == [
            ("new", 1, "assistant"),
            ("old", 0, "user"),
        ]
        assert hits[0].text == "quick brown answer"
        assert [h.index for h in await store.search("quick")] == [1, 0, 0]
        assert [h.session_id for h in await store.search("quick", user_id="u1")] == ["old"]
        assert [h.session_id for h in await store.search("quick", session_id="new")] == ["new", "new"]
        assert len(await store.search("quick", limit=1)) == 1
        assert await store.search("quic") == []  # whole words
        assert await store.search("zebra") == []
        assert await store.search("   ") == []
        for hostile in (
            'quick" OR "x',
            "NEAR(quick brown)",
            "-quick",
            "quick*",
            "^quick",
            "'",
            '"',
            "AND",
            "a:b",
        ):
            await store.search(hostile)  # never a syntax error
        await store.delete_session("old")  # after a search: the index forgets it
        await store.append_turn("new", [UserMessage("quick again")])
        assert [(h.session_id, h.index) for h in await store.search("quick")] == [
            ("new", 3),
            ("new", 1),
            ("new", 0),
        ]

    # -- export, import, put_session -------------------------------------------------------

    async def test_put_session_is_exact(self, store: Store) -> None:
        info = SessionInfo(
            "exact",
            "user",
            _t(3),
            _t(4),
            title="T",
            model="m",
            usage=Usage(1, 2, 3, 4, 5, 0.125),
            metadata={"a": [1]},
        )
        messages = _every_kind()
        written = await store.put_session(info, messages)
        assert written == attrs.evolve(info, message_count=len(messages))
        assert await store.get_session("exact") == written
        assert await store.read_messages("exact") == messages
        replaced = await store.put_session(attrs.evolve(info, title="again"), messages[:1])
        assert replaced.message_count == 1 and (await store.get_session("exact")).title == "again"
        assert await store.read_messages("exact") == messages[:1]

    async def test_export_import_round_trip(self, store: Store) -> None:
        await store.create_session("orig", user_id="u", title="Exported", metadata={"tag": "x"})
        await store.append_turn("orig", _every_kind(), usage=Usage(2, 3, requests=1), model="m")
        await store.append_turn("orig", [AssistantMessage("", tool_calls=(ToolCall("z", "t", "{}"),))])
        document = await export_session(store, "orig")
        info, messages = session_from_dict(document)
        assert info == await store.get_session("orig")
        assert messages == await store.read_messages("orig")
        copy = await import_session(store, document, session_id="copy")
        assert attrs.evolve(copy, id="orig") == await store.get_session("orig")
        assert await store.read_messages("copy") == messages
        with pytest.raises(StorageError, match="already exists"):
            await import_session(store, document)
        await import_session(store, document, overwrite=True)
        timestamps_shifted = dict(
            document, session={**document["session"], "updated_at": (_t(9) + timedelta(1)).isoformat()}
        )
        assert (await import_session(store, timestamps_shifted, overwrite=True)).updated_at == _t(10)

    # -- persistence -----------------------------------------------------------------------

    async def test_everything_persists(self, store: Store, reopened: Store) -> None:
        await store.create_session("p", user_id="u", title="Persisted", metadata={"m": 1})
        await store.append_turn("p", _every_kind(), usage=Usage(1, 2, requests=1), model="m")
        await store.fork_session("p", "p2", upto=2)
        info = await store.get_session("p")
        assert await reopened.get_session("p") == info
        assert await reopened.read_messages("p") == _every_kind()
        assert await reopened.read_messages("p2") == _every_kind()[:2]
        assert {i.id for i in await reopened.list_sessions()} == {"p", "p2"}
        assert [h.session_id for h in await reopened.search("plain text")] == ["p"]
        await reopened.append_turn("p", sample_turn(1))
        assert (await store.read_messages("p"))[-4:] == sample_turn(1)

    async def test_writes_through_another_handle_are_seen(self, store: Store, reopened: Store) -> None:
        """Whatever a store caches, it notices what other handles (and processes) wrote."""
        await store.create_session("w", title="t0")
        await store.append_turn("w", sample_turn(0))
        assert await store.read_messages("w") == sample_turn(0)  # now cached, if it caches
        await reopened.append_turn("w", sample_turn(1), usage=Usage(1, 1, requests=1))
        assert await store.read_messages("w") == sample_turn(0) + sample_turn(1)
        assert (await store.get_session("w")).usage == Usage(1, 1, requests=1)
        await reopened.replace_messages("w", sample_turn(2) + sample_turn(3))  # same length
        assert await store.read_messages("w") == sample_turn(2) + sample_turn(3)
        await reopened.update_session("w", title="t1")
        assert (await store.get_session("w")).title == "t1"
        await store.append_turn("w", sample_turn(4))
        assert (await reopened.get_session("w")).message_count == 12
        await reopened.delete_session("w")
        assert await store.find_session("w") is None
        await reopened.create_session("w", title="again")
        await reopened.append_turn("w", sample_turn(5))
        assert await store.read_messages("w") == sample_turn(5)
        assert (await store.get_session("w")).title == "again"
        assert [h.session_id for h in await store.search("question")] == ["w"]
        await reopened.append_turn("w", [UserMessage("zebra crossing")])
        assert [h.index for h in await store.search("zebra")] == [4]
        await reopened.replace_messages("w", [])
        assert await store.search("zebra") == [] and await store.search("question") == []
