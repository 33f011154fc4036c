"""Sessions copied SQLite or JSONL -> PostgreSQL -> SQLite or JSONL come back exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentkit.messages import Usage, UserMessage
from agentkit.stores import SessionInfo, Store, export_session, migrate
from agentkit.testing.conformance.stores import HOSTILE_IDS, _every_kind, sample_turn
from agentkit_jsonl import JsonlStore
from agentkit_postgres import PostgresStore
from agentkit_sqlite import SqliteStore


def make(kind: str, where: Path) -> Store:
    return SqliteStore(where / "sessions.db") if kind == "sqlite" else JsonlStore(where / "sessions")


async def populate(store: Store) -> None:
    """Sessions of every shape: every kind of message, hostile ids, usage with cost, metadata,
    exact timestamps, a fork, a replaced history, an empty session."""
    stamp = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    await store.put_session(
        SessionInfo(
            "rich",
            "ann",
            stamp,
            stamp.replace(microsecond=1),
            title="Every kind \u2028 of thing",
            model="provider/model",
            usage=Usage(10, 20, 3, 4, 5, 0.125),
            metadata={"agent": "helper", "tags": ["a", "b"], "nested": {"n": 1.5, "none": None}},
        ),
        _every_kind(),
    )
    for n, sid in enumerate(HOSTILE_IDS):
        await store.create_session(sid, user_id=f"user-{n % 3}", metadata={"n": n})
        await store.append_turn(
            sid, sample_turn(n), usage=Usage(n, n, requests=1), model=f"m{n}", title=f"t{n}"
        )
    await store.create_session("long", user_id="bo")
    for i in range(30):
        await store.append_turn("long", sample_turn(i, tool=i % 2 == 0), usage=Usage(1, 2, requests=1))
    await store.fork_session("long", "long-fork", upto=10, title="branch")
    await store.create_session("replaced")
    await store.append_turn("replaced", sample_turn(1))
    await store.replace_messages("replaced", [UserMessage("only this")])
    await store.create_session("empty", title=None)


async def exports(store: Store) -> dict[str, Any]:
    return {info.id: await export_session(store, info.id) for info in await store.list_sessions()}


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
async def test_to_postgres_and_back_is_lossless(kind: str, tmp_path: Path, dsn: str, schema: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    source, back = make(kind, tmp_path / "a"), make(kind, tmp_path / "b")
    postgres = PostgresStore(dsn, schema=schema)
    try:
        await populate(source)
        before = await exports(source)
        assert len(before) == len(HOSTILE_IDS) + 5

        copied = await migrate(source, postgres)
        assert sorted(copied) == sorted(before)
        assert await exports(postgres) == before  # to the microsecond, every field
        assert [h.session_id for h in await postgres.search("every kind")] == []  # nothing invented
        assert {h.session_id for h in await postgres.search("weather paris")} >= {"long", "long-fork"}

        assert sorted(await migrate(postgres, back)) == sorted(before)
        assert await exports(back) == before
        with pytest.raises(Exception, match="already has"):
            await migrate(source, postgres)
        assert await migrate(source, postgres, ["rich"], on_conflict="replace") == ["rich"]
        assert await exports(postgres) == before
    finally:
        source.close()
        back.close()
        await postgres.aclose()
