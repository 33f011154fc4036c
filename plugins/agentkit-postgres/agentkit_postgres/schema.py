"""The tables, as forward migrations keyed by version, and creating them once however many start at once.

Everything lives in one PostgreSQL schema (the ``schema`` setting, default ``agentkit``), so
one database can host several apps. Two components have their own migrations and versions:
``sessions`` (the session store) and ``memory`` (the memory backend). The table
``schema_migrations`` records each step applied, once: ``(component, version, applied_at)``.

:func:`ensure_schema` runs on first use. When the component is already at this release's
version it costs one query. Otherwise it takes a transaction-scoped advisory lock (one key
per schema), so processes starting together against an empty database queue there: the first
creates the schema and applies the missing steps, each step recorded; the others find them
done. A database migrated by a newer release is refused with
:class:`~agentkit.errors.SchemaVersionError`. Steps are append-only: never edit a released
one, add the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from psycopg import AsyncConnection, sql

__all__ = ["MEMORY", "MIGRATIONS", "SCHEMA_VERSION", "SESSIONS", "ensure_schema", "lock_key"]

#: The session store's steps. ``{schema}`` is the quoted schema name.
SESSIONS: dict[int, tuple[str, ...]] = {
    # 1: sessions and their messages. Ids and other free text go through agentkit_postgres._text
    # (NUL and lone surrogates escaped); usage and metadata are JSON text (exact, as given);
    # each message row keeps its JSON (``data``), its position (``seq``), the random id of
    # the write that stored it (``write_id``: after a connection lost while committing, it
    # tells whether the write got in), its text for search hits, and its search terms
    # (agentkit's tokenizer, not the database's, so search is the same in every store).
    # Every write gives the session a new random ``version``.
    1: (
        """CREATE TABLE {schema}.sessions (
            id            text COLLATE "C" PRIMARY KEY,
            user_id       text COLLATE "C" NOT NULL,
            title         text,
            model         text,
            created_at    timestamptz NOT NULL,
            updated_at    timestamptz NOT NULL,
            message_count integer NOT NULL DEFAULT 0,
            usage         text NOT NULL,
            metadata      text NOT NULL,
            version       bigint NOT NULL
        )""",
        "CREATE INDEX sessions_by_updated ON {schema}.sessions (updated_at DESC, id)",
        "CREATE INDEX sessions_by_user ON {schema}.sessions (user_id, updated_at DESC, id)",
        """CREATE TABLE {schema}.messages (
            session_id text COLLATE "C" NOT NULL REFERENCES {schema}.sessions (id) ON DELETE CASCADE,
            seq        integer NOT NULL,
            write_id   bigint NOT NULL,
            role       text NOT NULL,
            text       text NOT NULL,
            terms      tsvector NOT NULL,
            data       text NOT NULL,
            PRIMARY KEY (session_id, seq)
        )""",
    ),
    # 2: full-text search: a GIN index over the messages' terms.
    2: ("CREATE INDEX messages_terms ON {schema}.messages USING gin (terms)",),
}

#: The memory backend's steps.
MEMORY: dict[int, tuple[str, ...]] = {
    # 1: memories. ``metadata`` is the exact JSON; ``meta`` the same as jsonb with its text
    # escaped like ids (what metadata filters compare); ``terms`` the keywords with their
    # positions (what ts_rank ranks); ``embedding`` a vector as real[] (pgvector, where the
    # server has it, reads it with a cast). Times are UNIX seconds, as MemoryRecord has them.
    1: (
        """CREATE TABLE {schema}.memories (
            id              text COLLATE "C" PRIMARY KEY,
            text            text NOT NULL,
            scope           text NOT NULL,
            user_id         text COLLATE "C",
            agent           text COLLATE "C",
            session_id      text COLLATE "C",
            metadata        text NOT NULL,
            meta            jsonb NOT NULL,
            terms           tsvector NOT NULL,
            created_at      double precision NOT NULL,
            updated_at      double precision NOT NULL,
            expires_at      double precision,
            embedding       real[],
            embedding_model text
        )""",
        "CREATE INDEX memories_by_user ON {schema}.memories (user_id, created_at DESC, id)",
        "CREATE INDEX memories_by_agent ON {schema}.memories (agent, scope)",
        "CREATE INDEX memories_terms ON {schema}.memories USING gin (terms)",
    ),
    # 2: recall reads the terms index as it is. With GIN's fastupdate (the default), new
    # entries wait in a pending list that every search reads whole until a vacuum merges it:
    # recall over 100,000 memories just written took ~15 ms instead of ~1 ms. Memories are
    # written far less often than recalled, so each write updates the index at once.
    2: (
        "ALTER INDEX {schema}.memories_terms SET (fastupdate = off)",
        "SELECT gin_clean_pending_list('{schema}.memories_terms'::regclass)",
    ),
}

#: Every component's steps, by name.
MIGRATIONS: Mapping[str, Mapping[int, tuple[str, ...]]] = {"sessions": SESSIONS, "memory": MEMORY}

#: The newest version of each component this release writes.
SCHEMA_VERSION: Mapping[str, int] = {name: max(steps) for name, steps in MIGRATIONS.items()}

_HISTORY = """CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    component  text NOT NULL,
    version    integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"""


def lock_key(schema: str) -> int:
    """The advisory lock key of ``schema``: a signed 64-bit number, the same in every process."""
    digest = hashlib.sha256(f"agentkit-postgres:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def current_version(conn: AsyncConnection[Any], schema: str, component: str) -> int | None:
    """The component's version, or ``None`` when the schema has no history table yet."""
    cursor = await conn.execute(
        "SELECT to_regclass(format('%%I.schema_migrations', %s::text)) IS NOT NULL", (schema,)
    )
    row = await cursor.fetchone()
    if not row or not row[0]:
        return None
    cursor = await conn.execute(
        sql.SQL("SELECT max(version) FROM {}.schema_migrations WHERE component = %s").format(
            sql.Identifier(schema)
        ),
        (component,),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def ensure_schema(
    conn: AsyncConnection[Any],
    schema: str,
    component: str,
    *,
    upto: int | None = None,
    newer: Callable[[int, int], Exception],
) -> int:
    """Bring ``component`` in ``schema`` to this release's version (or ``upto``); return it.

    ``conn`` is an autocommit connection. ``newer(found, supported)`` builds the error for a
    schema from a newer release.
    """
    steps = MIGRATIONS[component]
    target = max(steps) if upto is None else upto
    found = await current_version(conn, schema, component)
    if found is not None and found > max(steps):
        raise newer(found, max(steps))
    if found is not None and found >= target:
        return found
    quoted = sql.Identifier(schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
        cursor = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if await cursor.fetchone() is None:
            await conn.execute(sql.SQL("CREATE SCHEMA {}").format(quoted))
        await conn.execute(sql.SQL(_HISTORY).format(schema=quoted))
        found = await current_version(conn, schema, component) or 0
        if found > max(steps):
            raise newer(found, max(steps))
        for version in range(found + 1, target + 1):
            for statement in steps[version]:
                await conn.execute(sql.SQL(statement).format(schema=quoted))
            await conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations (component, version) VALUES (%s, %s)").format(
                    quoted
                ),
                (component, version),
            )
        return max(found, target)
