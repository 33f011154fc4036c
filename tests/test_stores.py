"""Finding stores by name, the export format, and migrating sessions between backends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import ConfigError, CorruptSessionError, PluginError, SessionNotFoundError, StorageError, Usage
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.serialization import FORMAT_VERSION
from agentkit.stores import (
    EXPORT_FORMAT,
    INTERRUPTED_RESULT,
    InMemoryStore,
    SessionInfo,
    Store,
    answer_interrupted,
    check_session_id,
    close_shared_stores,
    export_session,
    import_session,
    migrate,
    open_store,
    search_terms,
    session_from_dict,
    shared_store,
)
from agentkit.testing.conformance.stores import HOSTILE_IDS, sample_turn


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    close_shared_stores()


@pytest.fixture
def host(plugin_host: Any) -> Any:
    import agentkit_jsonl.plugin
    import agentkit_sqlite.plugin

    plugin_host.register(agentkit_sqlite.plugin, name="agentkit_sqlite")
    plugin_host.register(agentkit_jsonl.plugin, name="agentkit_jsonl")
    return plugin_host


async def fill(store: Store) -> None:
    """A few sessions with everything a session can hold."""
    await store.create_session("chat", user_id="ada", title="Weather", model="m", metadata={"agent": "a"})
    for i in range(3):
        await store.append_turn(
            "chat", sample_turn(i), usage=Usage(i, i + 1, requests=1, cost=0.125), model="m2"
        )
    await store.append_turn("chat", [AssistantMessage("", tool_calls=(ToolCall("cut", "t", "{}"),))])
    for sid in HOSTILE_IDS[:4]:
        await store.create_session(sid, user_id="bob")
        await store.append_turn(sid, sample_turn(9, tool=False))


async def snapshot(store: Store) -> dict[str, Any]:
    return {i.id: (i, await store.read_messages(i.id)) for i in await store.list_sessions()}


# -- open_store -----------------------------------------------------------------------------


def test_open_store_forms(host: Any, tmp_path: Path, agentkit_home: Path) -> None:
    memory = open_store("memory", host=host)
    assert isinstance(memory, InMemoryStore)
    assert open_store(memory) is memory
    with pytest.raises(TypeError, match="ready Store"):
        open_store(memory, path="x")
    default = open_store(host=host)
    assert default.name == "sqlite" and default.path == agentkit_home / "agentkit.db"  # type: ignore[attr-defined]
    default.close()
    by_path = open_store(f"jsonl:{tmp_path / 'j'}", host=host)
    assert by_path.path == tmp_path / "j"  # type: ignore[attr-defined]
    by_path.close()
    by_table = open_store({"name": "sqlite", "path": str(tmp_path / "t.db"), "busy_timeout": 2}, host=host)
    assert by_table.busy_timeout == 2  # type: ignore[attr-defined]
    by_table.close()


def test_open_store_errors(plugin_host: Any) -> None:
    with pytest.raises(PluginError) as info:
        open_store("sqlite", host=plugin_host)  # agentkit-sqlite not registered on this host
    assert "unknown store 'sqlite'" in str(info.value) and "memory" in str(info.value)
    assert info.value.hint == "install it with `pip install agentkit-sqlite`"
    with pytest.raises(PluginError, match="did you mean 'memory'"):
        open_store("memroy", host=plugin_host)
    with pytest.raises(StorageError, match='needs a "name"'):
        open_store({"path": "x"}, host=plugin_host)
    with pytest.raises(ConfigError, match=r"storage\.path: store 'memory' has no option 'path'; its options: none"):
        open_store("memory:somewhere", host=plugin_host)
    with pytest.raises(TypeError):
        open_store(42, host=plugin_host)  # type: ignore[arg-type]

    class NotAStore:
        pass

    class Bad:
        @staticmethod
        def register_stores(registry: Any) -> None:
            registry.add("fake", lambda **_: NotAStore())

    from agentkit import hookimpl

    hookimpl(Bad.register_stores)
    plugin_host.register(Bad(), name="bad-plugin")
    with pytest.raises(PluginError, match="built a NotAStore"):
        open_store("fake", host=plugin_host)


def test_shared_store_is_one_per_spec_and_home(
    host: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "one"))
    a = shared_store(None, host=host)
    assert shared_store(None, host=host) is a
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "two"))
    b = shared_store(None, host=host)
    assert b is not a and b.path == tmp_path / "two" / "agentkit.db"  # type: ignore[attr-defined]


def test_a_dropped_host_and_its_shared_stores_are_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """shared_store keys stores by plugin host weakly: hosts made and dropped (tests, servers
    building agents) do not pile up, nor do their stores and worker threads."""
    import gc
    import weakref

    import agentkit_sqlite.plugin
    from agentkit.plugins import PluginHost

    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path))
    kept = PluginHost(entry_points=False)
    kept.register(agentkit_sqlite.plugin, name="agentkit-sqlite")
    kept_store = shared_store("memory", host=kept)

    def make() -> tuple[weakref.ref[Any], list[weakref.ref[Any]]]:
        host = PluginHost(entry_points=False)
        host.register(agentkit_sqlite.plugin, name="agentkit-sqlite")
        stores = [shared_store("memory", host=host), shared_store(None, host=host)]
        assert shared_store("memory", host=host) is stores[0]
        assert stores[0] is not kept_store  # one per host
        return weakref.ref(host), [weakref.ref(s) for s in stores]

    host_ref, store_refs = make()
    gc.collect()
    assert host_ref() is None
    assert [ref() for ref in store_refs] == [None, None]
    assert shared_store("memory", host=kept) is kept_store  # a live host keeps its stores


# -- the contract lives in the base class ---------------------------------------------------


def test_a_backend_implements_only_reads_and_writes() -> None:
    """The rules are the base class's (template methods); a backend reads and writes."""
    implemented = {
        "find_session",
        "list_sessions",
        "read_messages",
        "write_session",
        "extend_session",
        "rewrite_session",
        "delete_session",
    }
    assert Store.__abstractmethods__ == implemented
    table = (Path(__file__).parents[1] / "docs" / "plugin-authors" / "store-plugin.md").read_text()
    assert {name for name in implemented if f"| `{name}(" in table} == implemented
    for rule in ("append_turn", "create_session", "update_session", "replace_messages", "put_session"):
        for backend in (InMemoryStore, *_plugin_stores()):
            assert rule not in vars(backend), f"{backend.__name__} overrides the rule {rule}"


def _plugin_stores() -> list[type[Store]]:
    from agentkit_jsonl import JsonlStore
    from agentkit_sqlite import SqliteStore

    return [JsonlStore, SqliteStore]


def test_the_contract_table_lists_every_rule_the_conformance_suite_checks() -> None:
    from agentkit.testing.conformance import StoreConformance

    page = (Path(__file__).parents[1] / "docs" / "stores.md").read_text()
    table = page[page.index("### Every rule, and the test that checks it") :]
    listed = set(re.findall(r"\| `(test_\w+)` \|", table))
    assert listed == {name for name in dir(StoreConformance) if name.startswith("test_")}


async def test_a_change_is_applied_to_the_stored_info_inside_the_write() -> None:
    store = InMemoryStore()
    await store.create_session("s", title="kept")
    first = await store.append_turn(
        "s", sample_turn(0), usage=Usage(1, 2, requests=1), model="m1", title="new"
    )
    second = await store.append_turn("s", sample_turn(1), usage=Usage(3, 4, requests=1))
    assert (first.title, second.title, second.model) == ("kept", "kept", "m1")
    assert (second.message_count, second.usage) == (8, Usage(4, 6, requests=2))
    assert second.updated_at >= first.updated_at >= first.created_at


def test_unset_is_public_and_falsy() -> None:
    from agentkit.stores import UNSET, Unset

    assert isinstance(UNSET, Unset) and Unset() is UNSET and not UNSET and repr(UNSET) == "UNSET"


# -- ids, search words, interrupted calls ---------------------------------------------------


def test_check_session_id() -> None:
    for sid in HOSTILE_IDS:
        assert check_session_id(sid) == sid
    for bad, message in ((None, "must be a string"), ("", "must not be empty"), ("x" * 513, "limit is 512")):
        with pytest.raises(StorageError, match=message):
            check_session_id(bad)


def test_search_terms() -> None:
    assert search_terms("Hello, WORLD! snake_case x2 café") == [
        "hello",
        "world",
        "snake",
        "case",
        "x2",
        "café",
    ]


def test_answer_interrupted_leaves_complete_histories_alone() -> None:
    complete = sample_turn(0) + sample_turn(1)
    assert answer_interrupted(complete) == complete
    results_out_of_order = [
        AssistantMessage("", tool_calls=(ToolCall("a", "x"), ToolCall("b", "y"))),
        ToolMessage("b", "y", "B"),
        ToolMessage("a", "x", "A"),
    ]
    assert answer_interrupted(results_out_of_order) == results_out_of_order
    dangling = [UserMessage("go"), AssistantMessage("", tool_calls=(ToolCall("a", "x"),))]
    assert answer_interrupted(dangling)[-1] == ToolMessage("a", "x", INTERRUPTED_RESULT, is_error=True)


# -- export and import ----------------------------------------------------------------------


async def test_export_document_shape() -> None:
    store = InMemoryStore()
    await fill(store)
    document = await export_session(store, "chat")
    assert document["format"] == EXPORT_FORMAT and document["format_version"] == FORMAT_VERSION
    assert document["session"]["title"] == "Weather" and document["session"]["user_id"] == "ada"
    assert document["session"]["usage"]["cost"] == 0.375
    assert document["session"]["created_at"].endswith("+00:00")
    assert document["messages"][0] == {
        "role": "user",
        "content": [{"type": "text", "text": sample_turn(0)[0].text}],
    }
    assert json.loads(json.dumps(document)) == document  # plain JSON
    info, messages = session_from_dict(json.loads(json.dumps(document)))
    assert info == await store.get_session("chat") and messages == await store.read_messages("chat")
    with pytest.raises(SessionNotFoundError):
        await export_session(store, "nope")


def test_reading_a_bad_export_says_what_is_wrong() -> None:
    with pytest.raises(CorruptSessionError, match="not an agentkit session export"):
        session_from_dict({"messages": []}, source="x.json")
    newer = {"format": EXPORT_FORMAT, "format_version": FORMAT_VERSION + 1, "session": {}, "messages": []}
    with pytest.raises(CorruptSessionError, match="format version") as info:
        session_from_dict(newer)
    assert info.value.hint == "upgrade agentkit to import it"
    good_session = {"id": "s", "created_at": "2024-01-01T00:00:00+00:00"}
    bad_message = {
        "format": EXPORT_FORMAT,
        "format_version": 1,
        "session": good_session,
        "messages": [{"role": "x"}],
    }
    with pytest.raises(CorruptSessionError, match="message 0"):
        session_from_dict(bad_message, source="in.json")
    no_time = {"format": EXPORT_FORMAT, "format_version": 1, "session": {"id": "s"}, "messages": []}
    with pytest.raises(CorruptSessionError, match="created_at"):
        session_from_dict(no_time)
    info_, messages = session_from_dict({**bad_message, "messages": []})
    assert info_.user_id == "s" and info_.usage == Usage() and messages == []


async def test_import_under_another_id_and_overwrite() -> None:
    store = InMemoryStore()
    await fill(store)
    document = await export_session(store, "chat")
    with pytest.raises(StorageError, match="already exists"):
        await import_session(store, document)
    copy = await import_session(store, document, session_id="copy")
    assert copy.id == "copy" and copy.title == "Weather"
    await store.replace_messages("chat", [])
    await import_session(store, document, overwrite=True)
    assert len(await store.read_messages("chat")) == 13


# -- migrate --------------------------------------------------------------------------------


async def test_migrate_jsonl_to_sqlite_and_back_is_lossless(host: Any, tmp_path: Path) -> None:
    from agentkit_jsonl import JsonlStore
    from agentkit_sqlite import SqliteStore

    jsonl = JsonlStore(tmp_path / "j")
    sqlite = SqliteStore(tmp_path / "s.db")
    memory = InMemoryStore()
    try:
        await fill(jsonl)
        before = await snapshot(jsonl)
        copied = await migrate(jsonl, sqlite)
        assert sorted(copied) == sorted(before)
        assert await snapshot(sqlite) == before
        assert await migrate(sqlite, memory) and await snapshot(memory) == before
        await jsonl.delete_session("chat")
        await migrate(memory, jsonl, ["chat"])
        assert await snapshot(jsonl) == before
        assert (await sqlite.load_messages("chat"))[-1].text == INTERRUPTED_RESULT
        assert [h.session_id for h in await sqlite.search("weather Paris", user_id="ada")][:1] == ["chat"]
    finally:
        jsonl.close()
        sqlite.close()


async def test_migrate_conflicts_and_names(host: Any, tmp_path: Path) -> None:
    source = InMemoryStore()
    await fill(source)
    target = f"sqlite:{tmp_path / 'target.db'}"
    import agentkit.plugins

    old = agentkit.plugins.set_host(host)
    try:
        assert len(await migrate(source, target, ["chat"])) == 1
        with pytest.raises(StorageError, match="already has 1 of these sessions: 'chat'") as info:
            await migrate(source, target)
        assert "on_conflict" in (info.value.hint or "")
        from agentkit_sqlite import SqliteStore

        check = SqliteStore(tmp_path / "target.db")
        assert [i.id for i in await check.list_sessions()] == ["chat"]  # nothing copied on conflict
        skipped = await migrate(source, target, on_conflict="skip")
        assert "chat" not in skipped and len(skipped) == 4
        await source.update_session("chat", title="changed")
        assert await migrate(source, target, ["chat"], on_conflict="replace") == ["chat"]
        assert (await check.get_session("chat")).title == "changed"
        check.close()
        with pytest.raises(SessionNotFoundError):
            await migrate(source, target, ["missing"])
        with pytest.raises(ValueError, match="on_conflict"):
            await migrate(source, target, on_conflict="merge")
    finally:
        agentkit.plugins.set_host(old)


async def test_put_session_keeps_timestamps_exactly(host: Any, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agentkit_jsonl import JsonlStore
    from agentkit_sqlite import SqliteStore

    when = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
    info = SessionInfo("t", "u", when, when, usage=Usage(cost=0.1 + 0.2))
    for store in (InMemoryStore(), JsonlStore(tmp_path / "j"), SqliteStore(tmp_path / "s.db")):
        await store.put_session(info, [])
        assert await store.get_session("t") == info
        await store.aclose()


def test_decode_stored_decodes_in_bulk_and_names_a_bad_text() -> None:
    from agentkit import to_dict
    from agentkit.stores import decode_stored

    texts = [json.dumps(to_dict(m)) for m in (UserMessage("hi"), AssistantMessage("hello"))]

    def corrupt(number: int, error: ValueError) -> CorruptSessionError:
        return CorruptSessionError(f"message {number} cannot be read: {error}", session_id="s")

    assert decode_stored(texts, corrupt=corrupt) == [UserMessage("hi"), AssistantMessage("hello")]
    assert decode_stored([], corrupt=corrupt) == []
    for bad in ('{"role": "wizard"}', "{not json", '{"role": "user", "content": "a"}, {}'):
        with pytest.raises(CorruptSessionError, match=r"^message 8 cannot be read: ") as info:
            decode_stored([*texts, bad, texts[0]], first=6, corrupt=corrupt)
        assert info.value.session_id == "s" and info.value.__cause__ is None
