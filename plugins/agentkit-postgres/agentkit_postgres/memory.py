"""Long-term memory in PostgreSQL (registered as memory backend ``"postgres"``).

Scoped like every backend (:mod:`agentkit.memory`): the scope condition is part of every
query's ``WHERE``, so another user's records are never read. Recall ranks by PostgreSQL's
full-text rank (``ts_rank``, normalised by length) over a GIN index of each memory's
keywords (agentkit's own tokenizer, :func:`agentkit.memory.keywords`, any word matching).

With ``embeddings="<provider>/<model>"`` each memory's vector is stored beside it (a
``real[]``), and a search ranks the union of the best keyword matches and the nearest
vectors by ``keyword_weight * rank_normalised + (1 - keyword_weight) * cosine``, as the
SQLite backend does. Where the server has the pgvector extension (installed, or installable
by this user), the nearest vectors are found in the server (``<=>``, exact, within the
user's scope); otherwise the scoped vectors are read and compared here
(``memory.vector_search`` says which: ``"pgvector"`` or ``"python"``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection

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

from ._db import Database, check_settings
from ._text import decode, decode_opt, encode, encode_opt, json_text, tsvector_literal
from .schema import lock_key

__all__ = ["PostgresMemory"]

Embedder = Callable[[list[str]], Awaitable[list[list[float]]]]
Conn = AsyncConnection[Any]

_COLUMNS = "m.id, m.text, m.scope, m.user_id, m.agent, m.session_id, m.metadata, m.created_at, m.updated_at, m.expires_at"
_VISIBLE = (
    "((m.scope = 'user' AND m.user_id = %(user_id)s)"
    " OR (m.scope = 'session' AND m.user_id = %(user_id)s AND m.session_id = %(session_id)s)"
    " OR (m.scope = 'agent' AND m.agent = %(agent)s))"
    " AND (m.expires_at IS NULL OR m.expires_at > %(now)s)"
)
VECTORS = ("auto", "pgvector", "python")


class PostgresMemory(Memory):
    """Memory backend ``"postgres"``.

    Connection settings as :class:`agentkit_postgres.PostgresStore` (``dsn``, default
    ``$DATABASE_URL``; ``schema``, ``pool_size``, ``connect_timeout``, ``statement_timeout``,
    ``pool_timeout``), and:

    :param embeddings: ``"<provider>/<model>"`` (a provider with embeddings), or an async
        function of a list of texts returning their vectors; none: keyword ranking alone.
    :param embedding_settings: settings of that provider (``base_url``, ...).
    :param keyword_weight: the keyword share of a hybrid score (0 to 1).
    :param candidates: how many keyword matches and nearest vectors a hybrid search ranks.
    :param vectors: where nearest vectors are found: ``"auto"`` (pgvector where the server
        has it, else here), ``"pgvector"`` (an error without it), ``"python"``.
    """

    name = "postgres"

    def __init__(
        self,
        dsn: str | None = None,
        *,
        schema: str = "agentkit",
        pool_size: int = 10,
        connect_timeout: float = 10.0,
        statement_timeout: float = 30.0,
        pool_timeout: float = 30.0,
        embeddings: str | Embedder | None = None,
        embedding_settings: Mapping[str, Any] | None = None,
        keyword_weight: float = 0.5,
        candidates: int = 50,
        vectors: str = "auto",
    ) -> None:
        try:
            self.settings = check_settings(
                dsn,
                schema=schema,
                pool_size=pool_size,
                connect_timeout=connect_timeout,
                statement_timeout=statement_timeout,
                pool_timeout=pool_timeout,
            )
        except ValueError as exc:
            raise MemoryStoreError(str(exc), backend=self.name) from None
        if (
            isinstance(keyword_weight, bool)
            or not isinstance(keyword_weight, int | float)
            or not 0 <= keyword_weight <= 1
        ):
            raise MemoryStoreError(
                f"keyword_weight must be between 0 and 1, got {keyword_weight!r}", backend=self.name
            )
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
            raise MemoryStoreError(
                f"candidates must be a whole number >= 1, got {candidates!r}", backend=self.name
            )
        if vectors not in VECTORS:
            raise MemoryStoreError(
                f"vectors must be one of {', '.join(VECTORS)}, not {vectors!r}", backend=self.name
            )
        self.keyword_weight = float(keyword_weight)
        self.candidates = candidates
        self.vectors = vectors
        self._embeddings_spec = embeddings
        self._embedding_settings = dict(embedding_settings or {})
        self._embedder: Embedder | None = embeddings if callable(embeddings) else None
        self.embedding_model = (
            embeddings if isinstance(embeddings, str) else ("custom" if embeddings else None)
        )
        self._provider: Any = None
        #: ``"pgvector"`` or ``"python"`` once connected with embeddings; ``None`` before.
        self.vector_search: str | None = None
        self._vector_type = ""  # "schema".vector, when pgvector is used
        self.db = Database(
            self.settings, component="memory", fail=self._error, newer=self._newer, prepare=self._prepare
        )
        self._sql = f'"{self.settings.schema}".memories'

    def __repr__(self) -> str:
        return (
            f"PostgresMemory({self.settings.dsn.display()!r}, schema={self.settings.schema!r}, "
            f"embeddings={self.embedding_model!r})"
        )

    async def aclose(self) -> None:
        if self._provider is not None:
            provider, self._provider = self._provider, None
            self._embedder = None
            await provider.aclose()
        await self.db.aclose()

    # -- errors and set-up -----------------------------------------------------------------------

    def _error(self, message: str, hint: str | None, session_id: str | None) -> MemoryStoreError:
        return MemoryStoreError(message, backend=self.name, hint=hint)

    def _newer(self, found: int, supported: int) -> SchemaVersionError:
        return SchemaVersionError(
            f"{self.db.where} holds agentkit-postgres memory schema version {found}, newer than this "
            f"agentkit-postgres understands ({supported})",
            found=found,
            supported=supported,
            store=self.name,
            hint="upgrade agentkit-postgres, or point memory at another schema",
        )

    async def _prepare(self, conn: Conn) -> None:
        """With embeddings: use pgvector if the server has it (creating the extension if this
        user may), else compare vectors here."""
        if self._embeddings_spec is None or self.vectors == "python":
            self.vector_search = "python" if self._embeddings_spec is not None else None
            return
        found = await _vector_schema(conn)
        if found is None:
            available = await (
                await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            ).fetchone()
            if available is not None:
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("pgvector"),))
                        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except Exception as exc:  # no right to: compare here instead
                    if self.vectors == "pgvector":
                        raise MemoryStoreError(
                            f"cannot create the pgvector extension in {self.db.where}: {exc}",
                            backend=self.name,
                            hint="ask an administrator to run CREATE EXTENSION vector, or set vectors='auto'",
                        ) from None
                found = await _vector_schema(conn)
        if found is None and self.vectors == "pgvector":
            raise MemoryStoreError(
                f"the server of {self.db.where} has no pgvector extension",
                backend=self.name,
                hint="install pgvector on the server, or set vectors='auto' to compare vectors in Python",
            )
        self.vector_search = "pgvector" if found is not None else "python"
        self._vector_type = f'"{found}".vector' if found is not None else ""

    # -- embeddings ------------------------------------------------------------------------------

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

        self._provider, self._embedder = provider, embed
        return embed

    async def _embed(self, texts: list[str]) -> list[list[float]] | None:
        embedder = self._get_embedder()
        if embedder is None:
            return None
        vectors = [[float(x) for x in v] for v in await embedder(texts)]
        if len(vectors) != len(texts):
            raise MemoryStoreError("the embedder returned a different number of vectors", backend=self.name)
        for vector in vectors:
            if not vector or not all(math.isfinite(x) for x in vector):
                raise MemoryStoreError(
                    "the embedder returned an empty or non-finite vector", backend=self.name
                )
        return vectors

    # -- the Memory API --------------------------------------------------------------------------

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
        params = (
            record.id,
            encode(record.text),
            record.scope,
            encode_opt(record.user_id),
            encode_opt(record.agent),
            encode_opt(record.session_id),
            json_text(dict(record.metadata)),
            json_text(_jsonb_safe(dict(record.metadata))),
            _terms(record.text),
            record.created_at,
            record.updated_at,
            record.expires_at,
            vectors[0] if vectors else None,
            self.embedding_model if vectors else None,
        )

        async def work(conn: Conn) -> None:
            await conn.execute(
                f"INSERT INTO {self._sql} (id, text, scope, user_id, agent, session_id, metadata, meta, terms,"
                " created_at, updated_at, expires_at, embedding, embedding_model)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::tsvector, %s, %s, %s, %s::real[], %s)",
                params,
            )

        await self.db.call(work, what="storing a memory", write=True)
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
            "user_id": encode(user_id),
            "agent": encode_opt(agent),
            "session_id": encode_opt(session_id),
            "now": time.time(),
        }
        where = _VISIBLE + _filter_sql(wanted, params)
        limit = max(k, self.candidates) if vectors else k
        params["limit"] = limit

        async def work(conn: Conn) -> tuple[list[Any], list[Any]]:
            keyword_rows: list[Any] = []
            if terms:
                params["q"] = " | ".join(_lexeme(t) for t in terms)
                keyword_rows = await (
                    await conn.execute(
                        f"SELECT {_COLUMNS}, ts_rank(m.terms, %(q)s::tsquery, 1) AS score FROM {self._sql} AS m"
                        f" WHERE m.terms @@ %(q)s::tsquery AND {where}"
                        " ORDER BY score DESC, m.updated_at DESC, m.id LIMIT %(limit)s",
                        params,
                    )
                ).fetchall()
            vector_rows: list[Any] = []
            if vectors:
                vector_rows = await self._nearest(conn, vectors[0], where, params)
            return keyword_rows, vector_rows

        keyword_rows, vector_rows = await self.db.call(work, what="searching memories")
        if not vectors:
            return [MemoryHit(_record(row), float(row[10])) for row in keyword_rows[:k]]
        return self._hybrid(keyword_rows, vector_rows, vectors[0], k)

    async def _nearest(
        self, conn: Conn, vector: list[float], where: str, params: dict[str, Any]
    ) -> list[Any]:
        """Rows with their cosine similarity to ``vector``: the nearest ``candidates`` (pgvector),
        or every visible one (compared here)."""
        params["vec"], params["dims"] = vector, len(vector)
        if self._vector_type:
            vt = self._vector_type
            schema = vt.rsplit(".", 1)[0]
            distance = f"m.embedding::{vt} OPERATOR({schema}.<=>) %(vec)s::real[]::{vt}"
            return await (
                await conn.execute(
                    f"SELECT {_COLUMNS}, 1 - ({distance}) AS cosine FROM {self._sql} AS m"
                    f" WHERE m.embedding IS NOT NULL AND cardinality(m.embedding) = %(dims)s AND {where}"
                    f" ORDER BY {distance}, m.id LIMIT %(limit)s",
                    params,
                )
            ).fetchall()
        rows = await (
            await conn.execute(
                f"SELECT {_COLUMNS}, m.embedding FROM {self._sql} AS m"
                f" WHERE m.embedding IS NOT NULL AND cardinality(m.embedding) = %(dims)s AND {where}",
                params,
            )
        ).fetchall()
        return [(*row[:10], _cosine(vector, row[10])) for row in rows]

    def _hybrid(
        self, keyword_rows: Sequence[Any], vector_rows: Sequence[Any], query: list[float], k: int
    ) -> list[MemoryHit]:
        top = max((float(r[10]) for r in keyword_rows), default=0.0) or 1.0
        keyword_score = {r[0]: float(r[10]) / top for r in keyword_rows}
        records = {r[0]: _record(r) for r in keyword_rows}
        cosine: dict[str, float] = {}
        for row in vector_rows:
            cosine[row[0]] = float(row[10])
            records.setdefault(row[0], _record(row))
        nearest = sorted(cosine, key=lambda i: -cosine[i])[: self.candidates]
        w = self.keyword_weight
        scored = [
            MemoryHit(records[i], w * keyword_score.get(i, 0.0) + (1 - w) * max(0.0, cosine.get(i, 0.0)))
            for i in set(keyword_score) | set(nearest)
        ]
        scored = [h for h in scored if h.score > 0]
        scored.sort(key=lambda h: (-h.score, -h.record.updated_at, h.record.id))
        return scored[:k]

    async def get(self, memory_id: str) -> MemoryRecord | None:
        async def work(conn: Conn) -> Any:
            return await (
                await conn.execute(
                    f"SELECT {_COLUMNS} FROM {self._sql} AS m WHERE m.id = %s"
                    " AND (m.expires_at IS NULL OR m.expires_at > %s)",
                    (encode(memory_id), time.time()),
                )
            ).fetchone()

        row = await self.db.call(work, what="reading a memory")
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
        clauses = ["(m.expires_at IS NULL OR m.expires_at > %(now)s)"]
        params: dict[str, Any] = {"now": time.time(), "limit": int(limit), "offset": int(offset)}
        for column, value in (("user_id", user_id), ("agent", agent), ("scope", scope)):
            if value is not None:
                clauses.append(f"m.{column} = %({column})s")
                params[column] = encode(value)

        async def work(conn: Conn) -> list[Any]:
            return await (
                await conn.execute(
                    f"SELECT {_COLUMNS} FROM {self._sql} AS m WHERE {' AND '.join(clauses)}"
                    " ORDER BY m.created_at DESC, m.id LIMIT %(limit)s OFFSET %(offset)s",
                    params,
                )
            ).fetchall()

        return [_record(row) for row in await self.db.call(work, what="listing memories")]

    async def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        changes = check_changes(text, metadata, ttl, self.name)
        sets: dict[str, tuple[str, Any]] = {}
        if "text" in changes:
            vectors = await self._embed([changes["text"]])
            sets["text"] = ("%s", encode(changes["text"]))
            sets["terms"] = ("%s::tsvector", _terms(changes["text"]))
            sets["embedding"] = ("%s::real[]", vectors[0] if vectors else None)  # never a stale vector
            sets["embedding_model"] = ("%s", self.embedding_model if vectors else None)
        if "metadata" in changes:
            sets["metadata"] = ("%s", json_text(changes["metadata"]))
            sets["meta"] = ("%s::jsonb", json_text(_jsonb_safe(changes["metadata"])))
        if "expires_at" in changes:
            sets["expires_at"] = ("%s", changes["expires_at"])
        sets["updated_at"] = ("%s", time.time())
        assignments = ", ".join(f"{column} = {placeholder}" for column, (placeholder, _) in sets.items())
        values = [value for _, value in sets.values()]

        async def work(conn: Conn) -> Any:
            return await (
                await conn.execute(
                    f"UPDATE {self._sql} AS m SET {assignments} WHERE m.id = %s"
                    f" AND (m.expires_at IS NULL OR m.expires_at > %s) RETURNING {_COLUMNS}",
                    (*values, encode(memory_id), time.time()),
                )
            ).fetchone()

        row = await self.db.call(work, what="updating a memory", write=True)
        if row is None:
            raise MemoryStoreError(f"no memory with id {memory_id!r}", backend=self.name)
        return _record(row)

    async def delete(self, memory_id: str) -> bool:
        async def work(conn: Conn) -> bool:
            cursor = await conn.execute(
                f"DELETE FROM {self._sql} WHERE id = %s RETURNING 1", (encode(memory_id),)
            )
            return await cursor.fetchone() is not None

        return await self.db.call(work, what="deleting a memory", write=True)


async def _vector_schema(conn: Conn) -> str | None:
    row = await (
        await conn.execute(
            "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'vector'"
        )
    ).fetchone()
    return None if row is None else str(row[0])


def _terms(text: str) -> str:
    return tsvector_literal(keywords(text), positions=True)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _jsonb_safe(value: Any) -> Any:
    """``value`` with every string escaped like ids, so jsonb (no NUL, no lone surrogate) takes it."""
    if isinstance(value, str):
        return encode(value)
    if isinstance(value, Mapping):
        return {encode(k): _jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonb_safe(v) for v in value]
    return value


def _filter_sql(filters: Mapping[str, list[Any]], params: dict[str, Any]) -> str:
    parts = []
    for i, (key, values) in enumerate(filters.items()):
        params[f"fk{i}"] = encode(key)
        options = []
        for j, value in enumerate(values):
            params[f"fv{i}_{j}"] = json.dumps(_jsonb_safe(value))
            options.append(f"(m.meta -> %(fk{i})s::text) = %(fv{i}_{j})s::jsonb")
        parts.append("(" + " OR ".join(options) + ")")
    return "".join(" AND " + p for p in parts)


def _record(row: Sequence[Any]) -> MemoryRecord:
    return MemoryRecord(
        id=decode(row[0]),
        text=decode(row[1]),
        scope=row[2],
        user_id=decode_opt(row[3]),
        agent=decode_opt(row[4]),
        session_id=decode_opt(row[5]),
        metadata=json.loads(row[6]),
        created_at=row[7],
        updated_at=row[8],
        expires_at=row[9],
    )


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
