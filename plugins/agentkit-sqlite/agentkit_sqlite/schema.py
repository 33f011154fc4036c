"""The session database's schema, as forward migrations keyed by version.

``PRAGMA user_version`` holds the version. Opening a database applies the missing steps in
one transaction each (see :func:`agentkit_sqlite._db.ensure_schema`); a database from a
newer agentkit-sqlite is refused with :class:`~agentkit.errors.SchemaVersionError`. Steps
are append-only: never edit a released one, add the next.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1: sessions and their messages. Timestamps are integer microseconds since the epoch
    # (exact); usage and metadata are JSON; each message row keeps its JSON (``data``), its
    # position (``seq``), the turn that wrote it, and its text for search. Row ids are never
    # reused (AUTOINCREMENT): the search index and the readers' caches rely on it. Every
    # write gives the session a new random ``version``, which tells a reader whether what it
    # read before is still current.
    1: (
        """CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            user_id       TEXT NOT NULL,
            title         TEXT,
            model         TEXT,
            created_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0,
            turn_count    INTEGER NOT NULL DEFAULT 0,
            usage         TEXT NOT NULL DEFAULT '{}',
            metadata      TEXT NOT NULL DEFAULT '{}',
            version       INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX sessions_by_updated ON sessions (updated_at DESC, id)",
        "CREATE INDEX sessions_by_user ON sessions (user_id, updated_at DESC, id)",
        """CREATE TABLE messages (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq        INTEGER NOT NULL,
            turn       INTEGER NOT NULL,
            role       TEXT NOT NULL,
            text       TEXT NOT NULL,
            data       TEXT NOT NULL,
            UNIQUE (session_id, seq)
        )""",
    ),
    # 2: full-text search over message text: FTS5 with external content. Appends do not
    # index (per-transaction FTS5 segments would cost more than the append itself): rows up
    # to ``search_state.indexed_upto`` are indexed, and a search first indexes the rest in
    # one batch. Deleting an indexed row removes it from the index (the trigger).
    2: (
        """CREATE VIRTUAL TABLE messages_fts USING fts5 (
            text, content = 'messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 0'
        )""",
        "CREATE TABLE search_state (indexed_upto INTEGER NOT NULL)",
        "INSERT INTO search_state (indexed_upto) VALUES (0)",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
            WHEN old.id <= (SELECT indexed_upto FROM search_state) BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END""",
    ),
}

#: The newest schema version this release writes.
SCHEMA_VERSION = max(MIGRATIONS)
