"""The schema: created on first use, versioned, migrated forward, a newer one refused, namespaced."""

from __future__ import annotations

import json

import psycopg
import pytest

from agentkit.errors import SchemaVersionError, StorageError
from agentkit.messages import UserMessage
from agentkit.serialization import messages_to_dicts
from agentkit_postgres import SCHEMA_VERSION, PostgresStore
from agentkit_postgres.schema import ensure_schema
from agentkit_postgres.testing import PostgresServer


def versions(server: PostgresServer, schema: str) -> list[tuple[str, int]]:
    return [
        (r[0], r[1])
        for r in server.execute(f"SELECT component, version FROM {schema}.schema_migrations ORDER BY 1, 2")
    ]


async def test_the_schema_is_created_on_first_use_with_every_step_recorded(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema)
    assert pg_server.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)) == []  # nothing yet
    try:
        await store.list_sessions()
        assert versions(pg_server, schema) == [
            ("sessions", v) for v in range(1, SCHEMA_VERSION["sessions"] + 1)
        ]
        indexes = {
            r[0]
            for r in pg_server.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))
        }
        assert {"messages_terms", "sessions_by_updated", "sessions_by_user"} <= indexes
    finally:
        await store.aclose()


async def test_an_older_schema_is_migrated_forward_and_keeps_its_data(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    def newer(found: int, supported: int) -> Exception:
        return AssertionError("not newer")

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        assert await ensure_schema(conn, schema, "sessions", upto=1, newer=newer) == 1
        # a session written by a release at version 1
        await conn.execute(
            f"INSERT INTO {schema}.sessions VALUES ('old', 'u', NULL, NULL, now(), now(), 1, '{{}}', '{{}}', 7)"
        )
        await conn.execute(
            f"INSERT INTO {schema}.messages VALUES ('old', 0, 7, 'user', 'kept from version one',"
            " $$'kept' 'from' 'version' 'one'$$::tsvector, %s)",
            (json.dumps(messages_to_dicts([UserMessage("kept from version one")])[0]),),
        )
    assert versions(pg_server, schema) == [("sessions", 1)]
    store = PostgresStore(dsn, schema=schema)
    try:
        assert await store.read_messages("old") == [UserMessage("kept from version one")]
        assert versions(pg_server, schema) == [("sessions", 1), ("sessions", 2)]
        assert [h.session_id for h in await store.search("version one")] == ["old"]
    finally:
        await store.aclose()


async def test_a_schema_from_a_newer_release_is_refused_and_left_alone(
    pg_server: PostgresServer, dsn: str, schema: str
) -> None:
    store = PostgresStore(dsn, schema=schema)
    await store.create_session("s")
    await store.aclose()
    pg_server.execute(f"INSERT INTO {schema}.schema_migrations (component, version) VALUES ('sessions', 3)")
    newer = PostgresStore(dsn, schema=schema)
    try:
        with pytest.raises(SchemaVersionError) as caught:
            await newer.find_session("s")
        message = str(caught.value)
        assert "version 3, newer than this agentkit-postgres understands (2)" in message
        assert f'schema "{schema}"' in message and 'database "postgres"' in message
        assert "upgrade agentkit-postgres" in (caught.value.hint or "")
        assert (caught.value.found, caught.value.supported) == (3, 2)
        assert isinstance(caught.value, StorageError)
    finally:
        await newer.aclose()
    assert versions(pg_server, schema)[-1] == ("sessions", 3)


async def test_schemas_keep_apps_apart_in_one_database(pg_server: PostgresServer, dsn: str) -> None:
    first, second = PostgresStore(dsn, schema="app_one"), PostgresStore(dsn, schema="app_two")
    try:
        await first.create_session("chat", title="one")
        await second.create_session("chat", title="two")
        await first.append_turn("chat", [UserMessage("only in app one")])
        assert (await first.get_session("chat")).title == "one"
        assert (await second.get_session("chat")).title == "two"
        assert await second.read_messages("chat") == []
        assert await second.search("app") == []
        tables = pg_server.execute(
            "SELECT schemaname FROM pg_tables WHERE tablename = 'sessions' AND schemaname LIKE 'app_%' ORDER BY 1"
        )
        assert tables == [("app_one",), ("app_two",)]
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_user_without_the_right_to_create_the_schema_is_told_what_to_grant(
    pg_server: PostgresServer, schema: str
) -> None:
    pg_server.execute("DROP ROLE IF EXISTS limited")
    pg_server.execute("CREATE ROLE limited LOGIN")
    pg_server.execute("REVOKE CREATE ON DATABASE postgres FROM PUBLIC")
    try:
        store = PostgresStore(pg_server.dsn(user="limited"), schema=schema)
        try:
            with pytest.raises(StorageError, match="permission denied") as caught:
                await store.list_sessions()
            assert "grant" in (caught.value.hint or "")
        finally:
            await store.aclose()
    finally:
        pg_server.execute("GRANT CREATE ON DATABASE postgres TO PUBLIC")
        pg_server.execute("DROP ROLE limited")
