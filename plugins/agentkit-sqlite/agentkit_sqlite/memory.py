"""Long-term memory in SQLite: FTS5 BM25 ranking, and hybrid keyword + vector ranking.

Registered as memory backend ``"sqlite"``. The database defaults to
``$AGENTKIT_HOME/memory.db`` (``~/.agentkit/memory.db``), files 0600, WAL, a busy timeout.

With ``embeddings="<provider>/<model>"`` (a provider with the embeddings capability, such as
``openai/text-embedding-3-small`` or ``ollama/nomic-embed-text``) each memory's vector is
stored beside it, and a search ranks the union of the best keyword matches and the nearest
vectors by ``keyword_weight * bm25_normalised + (1 - keyword_weight) * cosine``. Without
embeddings it ranks by keywords alone.

Every query carries the scope condition in SQL, so another user's records are never read.
Calls run in a worker thread (``asyncio.to_thread``) on one connection guarded by a lock:
memory operations are short, and SQLite serialises writers anyway.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentkit.errors import MemoryStoreError, SchemaVersionError
from agentkit.memory import (
    Memory,
    MemoryHit,
    MemoryRecord,
    Scope,
    check_changes,
    check_filters,
    keywords,
    new_record,
)
from agentkit.stores import agentkit_home

from ._db import connect

__all__ = ["SqliteMemory"]

SCHEMA_VERSION = 1
Embedder = Callable[[list[str]], Awaitable[list[list[float]]]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memories (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    scope TEXT NOT NULL,
    user_id TEXT,
    agent TEXT,
    session_id TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL,
    embedding BLOB,
    embedding_model TEXT
);
CREATE INDEX IF NOT EXISTS memories_user ON memories (user_id, created_at);
CREATE INDEX IF NOT EXISTS memories_agent ON memories (agent, scope);
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(text, content='memories', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE OF text ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO memories_fts(rowid, text) VALUES (new.rowid, new.text);
END;
"""

_COLUMNS = "m.id, m.text, m.scope, m.user_id, m.agent, m.session_id, m.metadata, m.created_at, m.updated_at, m.expires_at"
_VISIBLE = (
    "((m.scope = 'user' AND m.user_id = :user_id)"
    " OR (m.scope = 'session' AND m.user_id = :user_id AND m.session_id = :session_id)"
    " OR (m.scope = 'agent' AND m.agent = :agent))"
    " AND (m.expires_at IS NULL OR m.expires_at > :now)"
)


def default_path() -> Path:
    return agentkit_home() / "memory.db"


class SqliteMemory(Memory):
    """Memory backend ``"sqlite"``. Settings: ``path``, ``embeddings``, ``embedding_settings``, ``keyword_weight``."""

    name = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        embeddings: str | Embedder | None = None,
        embedding_settings: Mapping[str, Any] | None = None,
        keyword_weight: float = 0.5,
        candidates: int = 50,
    ) -> None:
        if not 0.0 <= keyword_weight <= 1.0:
            raise MemoryStoreError(
                f"keyword_weight must be between 0 and 1, got {keyword_weight}", backend=self.name
            )
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.keyword_weight = keyword_weight
        self.candidates = candidates
        self._embeddings_spec = embeddings
        self._embedding_settings = dict(embedding_settings or {})
        self._embedder: Embedder | None = embeddings if callable(embeddings) else None
        self.embedding_model = (
            embeddings if isinstance(embeddings, str) else ("custom" if embeddings else None)
        )
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._provider: Any = None  # built for embeddings; closed with the memory

    def __repr__(self) -> str:
        return f"SqliteMemory(path={str(self.path)!r}, embeddings={self.embedding_model!r})"

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        conn = connect(self.path, busy_timeout=30.0, synchronous="normal")
        try:
            found = conn.execute("SELECT value FROM memory_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            found = None
        if found is not None and int(found[0]) > SCHEMA_VERSION:
            conn.close()
            raise SchemaVersionError(
                f"{self.path} holds memory schema version {found[0]}, newer than this agentkit-sqlite "
                f"understands ({SCHEMA_VERSION})",
                found=int(found[0]),
                supported=SCHEMA_VERSION,
                store=self.name,
                hint="upgrade agentkit-sqlite, or point memory at another file",
            )
        try:
            conn.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS), safe to race with another process
        except sqlite3.Error:
            conn.close()
            raise
        conn.execute(
            "INSERT OR IGNORE INTO memory_meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._conn = conn
        return conn

    async def _call(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        def run() -> Any:
            with self._lock:
                conn = None
                try:
                    conn = self._connect()
                    return fn(conn)
                except (sqlite3.Error, *_DAMAGE) as exc:
                    if conn is not None and conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise MemoryStoreError(
                        f"memory database {self.path}: {type(exc).__name__}: {exc}", backend=self.name
                    ) from exc

        return await asyncio.to_thread(run)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """A value read back that is not what was written (a damaged file) is a MemoryStoreError."""
        try:
            yield
        except _DAMAGE as exc:
            raise MemoryStoreError(
                f"memory database {self.path}: a stored value cannot be read ({type(exc).__name__}: {exc})",
                backend=self.name,
                hint="restore the file from a backup, or move it away to start afresh",
            ) from exc

    async def aclose(self) -> None:
        if self._provider is not None:
            provider, self._provider = self._provider, None
            self._embedder = None
            await provider.aclose()

        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(close)

    # -- embeddings -------------------------------------------------------------------------

    def _get_embedder(self) -> Embedder | None:
        if self._embedder is not None or not isinstance(self._embeddings_spec, str):
            return self._embedder
        provider_name, sep, model = self._embeddings_spec.partition("/")
        if not sep or not model:
            raise MemoryStoreError(
                f"embeddings must be '<provider>/<model>', got {self._embeddings_spec!r}", backend=self.name
            )
        from agentkit.plugins import get_host

        provider = get_host().registry("provider").get(provider_name).value(**self._embedding_settings)
        if not provider.capabilities.embeddings:
            raise MemoryStoreError(
                f"provider {provider_name!r} has no embeddings; use one that does or drop `embeddings`",
                backend=self.name,
            )

        async def embed(texts: list[str]) -> list[list[float]]:
            return list(await provider.embed(model, texts))

        self._provider = provider
        self._embedder = embed
        return embed

    async def _embed(self, texts: list[str]) -> list[bytes] | None:
        embedder = self._get_embedder()
        if embedder is None:
            return None
        vectors = await embedder(texts)
        if len(vectors) != len(texts):
            raise MemoryStoreError("the embedder returned a different number of vectors", backend=self.name)
        return [_pack(v) for v in vectors]

    # -- the Memory API ---------------------------------------------------------------------

    async def add(
        self,
        text: str,
        *,
        scope: Scope = "user",
        user_id: str | None = None,
        agent: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        record = new_record(
            text,
            scope=scope,
            user_id=user_id,
            agent=agent,
            session_id=session_id,
            metadata=metadata,
            ttl=ttl,
            backend=self.name,
        )
        vectors = await self._embed([record.text])  # before writing: a failing embedder stores nothing
        blob = vectors[0] if vectors else None

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO memories (id, text, scope, user_id, agent, session_id, metadata, created_at,"
                " updated_at, expires_at, embedding, embedding_model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.text,
                    record.scope,
                    record.user_id,
                    record.agent,
                    record.session_id,
                    json.dumps(dict(record.metadata)),
                    record.created_at,
                    record.updated_at,
                    record.expires_at,
                    blob,
                    self.embedding_model if blob else None,
                ),
            )
            conn.execute("COMMIT")

        await self._call(insert)
        return record

    async def search(
        self,
        query: str,
        *,
        user_id: str,
        agent: str | None = None,
        session_id: str | None = None,
        k: int = 5,
        filters: Mapping[str, Any] | None = None,
    ) -> list[MemoryHit]:
        wanted = check_filters(filters, self.name)
        if not user_id:
            raise MemoryStoreError("search needs a user_id", backend=self.name)
        if k <= 0:
            return []
        terms = sorted(set(keywords(query)))
        vectors = await self._embed([query]) if query.strip() else None
        if not terms and not vectors:
            return []
        params: dict[str, Any] = {
            "user_id": user_id,
            "agent": agent,
            "session_id": session_id,
            "now": time.time(),
        }
        where = _VISIBLE + _filter_sql(wanted, params)
        limit = max(k, self.candidates) if vectors else k

        def run(conn: sqlite3.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
            keyword_rows: list[tuple[Any, ...]] = []
            if terms:
                params["match"] = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
                keyword_rows = conn.execute(
                    f"SELECT {_COLUMNS}, -bm25(memories_fts) AS score FROM memories_fts"
                    " JOIN memories m ON m.rowid = memories_fts.rowid"
                    f" WHERE memories_fts MATCH :match AND {where} ORDER BY bm25(memories_fts) LIMIT {int(limit)}",
                    params,
                ).fetchall()
            vector_rows: list[tuple[Any, ...]] = []
            if vectors:
                vector_rows = conn.execute(
                    f"SELECT {_COLUMNS}, m.embedding FROM memories m WHERE m.embedding IS NOT NULL AND {where}",
                    params,
                ).fetchall()
            return keyword_rows, vector_rows

        keyword_rows, vector_rows = await self._call(run)
        with self._reading():
            if not vectors:
                return [MemoryHit(_record(row[:10]), float(row[10])) for row in keyword_rows[:k]]
            return self._hybrid(keyword_rows, vector_rows, _unpack(vectors[0]), k)

    def _hybrid(
        self,
        keyword_rows: Sequence[tuple[Any, ...]],
        vector_rows: Sequence[tuple[Any, ...]],
        query_vector: list[float],
        k: int,
    ) -> list[MemoryHit]:
        top = max((float(r[10]) for r in keyword_rows), default=0.0) or 1.0
        keyword_score = {r[0]: float(r[10]) / top for r in keyword_rows}
        records = {r[0]: _record(r[:10]) for r in keyword_rows}
        cosine: dict[str, float] = {}
        for row in vector_rows:
            cosine[row[0]] = _cosine(query_vector, _unpack(row[10]))
            records.setdefault(row[0], _record(row[:10]))
        nearest = sorted(cosine, key=lambda i: -cosine[i])[: self.candidates]
        w = self.keyword_weight
        scored = [
            MemoryHit(records[i], w * keyword_score.get(i, 0.0) + (1 - w) * max(0.0, cosine.get(i, 0.0)))
            for i in set(keyword_score) | set(nearest)
        ]
        scored = [h for h in scored if h.score > 0]
        scored.sort(key=lambda h: (-h.score, -h.record.updated_at))
        return scored[:k]

    async def get(self, memory_id: str) -> MemoryRecord | None:
        def run(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM memories m WHERE m.id = ? AND (m.expires_at IS NULL OR m.expires_at > ?)",
                (memory_id, time.time()),
            ).fetchone()

        row = await self._call(run)
        with self._reading():
            return _record(row) if row else None

    async def list(
        self,
        *,
        user_id: str | None = None,
        agent: str | None = None,
        scope: Scope | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        clauses = ["(m.expires_at IS NULL OR m.expires_at > :now)"]
        params: dict[str, Any] = {"now": time.time(), "limit": int(limit), "offset": int(offset)}
        for column, value in (("user_id", user_id), ("agent", agent), ("scope", scope)):
            if value is not None:
                clauses.append(f"m.{column} = :{column}")
                params[column] = value

        def run(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM memories m WHERE {' AND '.join(clauses)}"
                " ORDER BY m.created_at DESC, m.id LIMIT :limit OFFSET :offset",
                params,
            ).fetchall()

        rows = await self._call(run)
        with self._reading():
            return [_record(row) for row in rows]

    async def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        changes = check_changes(text, metadata, ttl, self.name)
        if "metadata" in changes:
            changes["metadata"] = json.dumps(changes["metadata"])
        if "text" in changes:
            vectors = await self._embed([changes["text"]])
            if vectors:
                changes["embedding"] = vectors[0]
        changes["updated_at"] = time.time()

        def run(conn: sqlite3.Connection) -> Any:
            conn.execute("BEGIN IMMEDIATE")
            sets = ", ".join(f"{column} = :{column}" for column in changes)
            cursor = conn.execute(
                f"UPDATE memories SET {sets} WHERE id = :id AND (expires_at IS NULL OR expires_at > :now)",
                {**changes, "id": memory_id, "now": time.time()},
            )
            conn.execute("COMMIT")
            if cursor.rowcount == 0:
                return None
            return conn.execute(f"SELECT {_COLUMNS} FROM memories m WHERE m.id = ?", (memory_id,)).fetchone()

        row = await self._call(run)
        if row is None:
            raise MemoryStoreError(f"no memory with id {memory_id!r}", backend=self.name)
        with self._reading():
            return _record(row)

    async def delete(self, memory_id: str) -> bool:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
            conn.execute("COMMIT")
            return cursor.rowcount

        return bool(await self._call(run))


def _filter_sql(filters: Mapping[str, list[Any]], params: dict[str, Any]) -> str:
    parts = []
    for i, (key, values) in enumerate(filters.items()):
        path = "$." + json.dumps(key)  # a quoted JSON path: any key is safe
        params[f"fpath{i}"] = path
        options = []
        for j, value in enumerate(values):
            if value is None:
                options.append(f"json_type(m.metadata, :fpath{i}) = 'null'")
            else:
                params[f"f{i}_{j}"] = value
                options.append(f"json_extract(m.metadata, :fpath{i}) = :f{i}_{j}")
        parts.append("(" + " OR ".join(options) + ")")
    return "".join(" AND " + p for p in parts)


#: What Python raises on values that are not what was written (text that is not UTF-8 is
#: SQLite's error): the file was damaged.
_DAMAGE = (ValueError, TypeError, OverflowError, KeyError, IndexError)


def _record(row: Sequence[Any]) -> MemoryRecord:
    return MemoryRecord(
        id=row[0],
        text=row[1],
        scope=row[2],
        user_id=row[3],
        agent=row[4],
        session_id=row[5],
        metadata=json.loads(row[6] or "{}"),
        created_at=row[7],
        updated_at=row[8],
        expires_at=row[9],
    )


def _pack(vector: Sequence[float]) -> bytes:
    return array.array("f", vector).tobytes()


def _unpack(blob: bytes) -> list[float]:
    values = array.array("f")
    values.frombytes(blob)
    return values.tolist()


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
