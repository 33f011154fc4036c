"""The PostgreSQL session store (registered as ``"postgres"``): sessions shared by many processes and machines.

Every write is one transaction (see :class:`agentkit_postgres._db.Database`): a turn's
message rows and the session row's new count, usage and timestamp are committed together or
not at all. Appends to one session queue on its row (``SELECT ... FOR UPDATE``), so each
writer's turns stay whole and in order; appends to different sessions run in parallel. A
write is two round trips: the session row (with ``BEGIN``), then the rows, the update and
``COMMIT`` in one pipeline. An append to a session as this store last saw it is one
statement, conditional on the row's version: one round trip. A session another writer
appended to meanwhile is *contended*: its next appends go straight to the lock (a conditional
statement that fails still queues on the row lock, behind the other writer's commit), until
this store finds it was the last writer again. A read is one statement, so one snapshot.

Search is PostgreSQL full-text search over a GIN index, on terms computed by agentkit's own
tokenizer (:func:`agentkit.stores.search_terms`), so it means the same as in every store.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from agentkit.errors import CorruptSessionError, SchemaVersionError, StorageError
from agentkit.messages import Message, Usage
from agentkit.serialization import (
    from_dict,
    messages_to_dicts,
    to_dict,
)
from agentkit.stores import (
    InfoChange,
    SearchHit,
    SessionInfo,
    Store,
    check_session_id,
    decode_stored,
    forked_info,
    search_terms,
)

from ._db import Database, check_settings
from ._text import decode, decode_opt, encode, encode_opt, json_text, tsvector_literal

__all__ = ["PostgresStore"]

_COLUMNS = "id, user_id, title, model, created_at, updated_at, message_count, usage, metadata"
_READ = _COLUMNS + ", version"
Conn = AsyncConnection[Any]
#: Session infos a store remembers (with their row's version) for one-round-trip appends.
CACHED_INFOS = 1024
#: Sessions whose decoded messages a store keeps, so that a reload decodes only new rows.
CACHED_MESSAGES = 8


def _new_id() -> int:
    return random.getrandbits(63)


class PostgresStore(Store):
    """Sessions in PostgreSQL.

    :param dsn: the connection string (``postgresql://user:password@host:5432/db``, or libpq's
        ``key=value`` form); default ``$DATABASE_URL``. Its password is never shown.
    :param schema: the PostgreSQL schema holding the tables (created on first use), so one
        database can host several apps.
    :param pool_size: the most connections this store opens.
    :param connect_timeout: seconds to wait for the server when connecting (libpq counts
        whole seconds, 2 at least).
    :param statement_timeout: seconds one statement may run before the server cancels it
        (0: no limit).
    :param pool_timeout: seconds a call waits for a free connection when all are busy.
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
            raise StorageError(str(exc), store=self.name, hint=_DSN_HINT) from None
        self.db = Database(self.settings, component="sessions", fail=self._error, newer=self._newer)
        s = f'"{self.settings.schema}"'  # a checked name: letters, digits and '_'
        self._sql = _Statements(s)
        # What this store last read or wrote of recent sessions, with the row's version. Only
        # appends use it, and only as a guess: their write is conditional on the version.
        self._infos: OrderedDict[str, tuple[int, SessionInfo]] = OrderedDict()
        # Sessions where that guess lost to another writer: their appends take the lock at once.
        self._contended: OrderedDict[str, None] = OrderedDict()
        # The messages this store last decoded of a few sessions, with the write id of the last
        # row: rows are never changed, only added or deleted, so while the row at that position
        # has that id the prefix is the same, and a read decodes only the rows after it.
        self._messages: OrderedDict[str, tuple[int, list[Message]]] = OrderedDict()

    def __repr__(self) -> str:
        return f"PostgresStore({self.settings.dsn.display()!r}, schema={self.settings.schema!r})"

    async def aclose(self) -> None:
        await self.db.aclose()

    def close(self) -> None:
        self.db.close()

    # -- errors ----------------------------------------------------------------------------

    def _error(self, message: str, hint: str | None, session_id: str | None) -> StorageError:
        return StorageError(message, store=self.name, session_id=session_id, hint=hint)

    def _newer(self, found: int, supported: int) -> SchemaVersionError:
        return SchemaVersionError(
            f"{self.db.where} holds agentkit-postgres sessions schema version {found}, newer than this "
            f"agentkit-postgres understands ({supported})",
            found=found,
            supported=supported,
            store=self.name,
            hint="upgrade agentkit-postgres, or point the store at another schema",
        )

    # -- reading ---------------------------------------------------------------------------

    async def find_session(self, session_id: str) -> SessionInfo | None:
        async def work(conn: Conn) -> SessionInfo | None:
            row = await (await conn.execute(self._sql.find, (encode(session_id),))).fetchone()
            if row is None:
                self._forget(session_id)
                return None
            return self._remember(session_id, row[9], self._info(row, session_id))

        return await self.db.call(work, what="reading a session", session_id=session_id)

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        async def work(conn: Conn) -> list[SessionInfo]:
            if user_id is None:
                cursor = await conn.execute(self._sql.list_all, (limit, offset))
            else:
                cursor = await conn.execute(self._sql.list_user, (encode(user_id), limit, offset))
            return [self._info(row) for row in await cursor.fetchall()]

        return await self.db.call(work, what="listing sessions")

    async def read_messages(self, session_id: str) -> list[Message]:
        key = encode(session_id)
        cached = self._messages.get(session_id)

        async def work(conn: Conn) -> tuple[list[Message], list[Any]] | None:
            if cached is not None:  # the rows after those this store decoded, if those are unchanged
                last_id, known = cached
                rows = await (await conn.execute(self._sql.read_after, (key, len(known) - 1))).fetchall()
                if rows and rows[0][0] == len(known) - 1 and rows[0][1] == last_id:
                    return known, rows[1:]
            rows = await (await conn.execute(self._sql.read, (key,))).fetchall()
            if not rows:
                return None
            return [], [] if rows[0][2] is None else rows

        found = await self.db.call(work, what="reading a session's messages", session_id=session_id)
        if found is None:
            self._messages.pop(session_id, None)
            raise self.not_found(session_id)
        known, rows = found
        messages = known + self._decode([r[2] for r in rows], session_id, len(known)) if rows else known
        if messages:
            self._messages[session_id] = (rows[-1][1] if rows else cached[0], messages)  # type: ignore[index]
            self._messages.move_to_end(session_id)
            if len(self._messages) > CACHED_MESSAGES:
                self._messages.popitem(last=False)
        else:
            self._messages.pop(session_id, None)
        return list(messages)

    # -- writing ---------------------------------------------------------------------------

    async def write_session(self, info: SessionInfo, messages: list[Message], *, replace: bool) -> None:
        version = _new_id()

        async def work(conn: Conn) -> None:
            params = self._info_params(info, version)
            if replace:
                await conn.execute(self._sql.upsert, params)
                await conn.execute(self._sql.delete_messages, (params[0],))
            else:
                cursor = await conn.execute(self._sql.insert, params)
                if await cursor.fetchone() is None:
                    raise self.exists(info.id)
            await self._insert(conn, params[0], 0, version, messages)
            self._remember(info.id, version, info)

        async def verify(conn: Conn) -> bool:
            return await self._has_version(conn, info.id, version)

        self._forget(info.id)

        await self.db.call(work, what="writing a session", write=True, verify=verify, session_id=info.id)

    async def extend_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        write_id = _new_id()
        start: list[int] = []  # where this write's rows begin (known once the row is locked)
        what = "storing a turn" if messages else "updating a session"
        seen = self._infos.get(session_id)
        if seen is not None and session_id not in self._contended:
            # one round trip, if the session is still as this store saw it
            done = await self._extend_seen(session_id, messages, change, write_id, seen, what)
            if done is not None:
                return done
            self._mark_contended(session_id)  # another writer was first

        async def work(conn: Conn) -> SessionInfo:
            version, old = await self._locked_version(conn, session_id)
            if seen is not None and version == seen[0]:  # nobody wrote since this store did
                self._contended.pop(session_id, None)
            info = change(old)
            start[:] = [old.message_count]
            await self._insert(conn, encode(session_id), old.message_count, write_id, messages)
            await conn.execute(self._sql.update, self._update_params(info, write_id))
            return self._remember(session_id, write_id, info)

        async def verify(conn: Conn) -> bool:
            if messages and start:  # its first row is there, or another writer's is
                row = await (
                    await conn.execute(self._sql.write_at, (encode(session_id), start[0]))
                ).fetchone()
                return row is not None and row[0] == write_id
            return await self._has_version(conn, session_id, write_id)

        return await self.db.call(work, what=what, write=True, verify=verify, session_id=session_id)

    async def _extend_seen(
        self,
        session_id: str,
        messages: list[Message],
        change: InfoChange,
        write_id: int,
        seen: tuple[int, SessionInfo],
        what: str,
    ) -> SessionInfo | None:
        """Append to the session as this store last saw it, in one statement that writes only
        if the row still has that version; ``None`` when it has not (another writer was first)."""
        version, old = seen
        info = change(old)  # a change that raises does so before anything is written
        key = encode(session_id)
        update = (*self._update_params(info, write_id), version)

        async def work(conn: Conn) -> bool:
            if not messages:
                cursor = await conn.execute(self._sql.update_seen, update)
            else:
                rows = self._rows(messages)
                cursor = await conn.execute(
                    self._sql.append_seen, (*update, old.message_count, write_id, *rows)
                )
            return cursor.rowcount > 0

        async def verify(conn: Conn) -> bool:
            if messages:
                row = await (await conn.execute(self._sql.write_at, (key, old.message_count))).fetchone()
                return row is not None and row[0] == write_id
            return await self._has_version(conn, session_id, write_id)

        written = await self.db.call(
            work, what=what, write=True, single=True, verify=verify, session_id=session_id
        )
        if not written:
            self._forget(session_id)
            return None
        return self._remember(session_id, write_id, info)

    async def rewrite_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        version = _new_id()

        async def work(conn: Conn) -> SessionInfo:
            info = change(await self._locked(conn, session_id))
            key = encode(session_id)
            await conn.execute(self._sql.delete_messages, (key,))
            await self._insert(conn, key, 0, version, messages)
            await conn.execute(self._sql.update, self._update_params(info, version))
            return self._remember(session_id, version, info)

        return await self.db.call(
            work, what="replacing a session's messages", write=True, session_id=session_id
        )

    async def delete_session(self, session_id: str) -> bool:
        async def work(conn: Conn) -> bool:
            cursor = await conn.execute(self._sql.delete, (encode(session_id),))
            self._forget(session_id)
            return (await cursor.fetchone()) is not None

        return await self.db.call(work, what="deleting a session", write=True, session_id=session_id)

    async def fork_session(
        self,
        source_id: str,
        new_id: str,
        *,
        upto: int | None = None,
        user_id: str | None = None,
        title: str | None = None,
    ) -> SessionInfo:
        check_session_id(new_id)
        version = _new_id()

        async def work(conn: Conn) -> SessionInfo:
            row = await (await conn.execute(self._sql.find_shared, (encode(source_id),))).fetchone()
            if row is None:
                raise self.not_found(source_id)
            source = self._info(row, source_id)
            count = len(range(source.message_count)[:upto])
            info = forked_info(source, new_id, count, user_id=user_id, title=title)
            params = self._info_params(info, version)
            if await (await conn.execute(self._sql.insert, params)).fetchone() is None:
                raise self.exists(new_id)
            await conn.execute(self._sql.copy_messages, (params[0], version, encode(source_id), count))
            return self._remember(new_id, version, info)

        async def verify(conn: Conn) -> bool:
            return await self._has_version(conn, new_id, version)

        return await self.db.call(
            work, what="forking a session", write=True, verify=verify, session_id=source_id
        )

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        terms = list(dict.fromkeys(search_terms(query)))
        if not terms or limit <= 0:
            return []
        tsquery = " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)
        sql, params = self._sql.search_head, [tsquery]
        if user_id is not None:
            sql += " AND s.user_id = %s"
            params.append(encode(user_id))
        if session_id is not None:
            sql += " AND m.session_id = %s"
            params.append(encode(session_id))
        sql += " ORDER BY s.updated_at DESC, s.id, m.seq DESC LIMIT %s"

        async def work(conn: Conn) -> list[SearchHit]:
            rows = await (await conn.execute(sql, (*params, limit))).fetchall()  # type: ignore[call-overload]
            return [SearchHit(decode(r[0]), r[1], r[2], decode(r[3])) for r in rows]

        return await self.db.call(work, what="searching messages")

    # -- helpers ---------------------------------------------------------------------------

    async def _locked(self, conn: Conn, session_id: str) -> SessionInfo:
        return (await self._locked_version(conn, session_id))[1]

    async def _locked_version(self, conn: Conn, session_id: str) -> tuple[int, SessionInfo]:
        """The session row, locked until the commit: its version and info."""
        row = await (await conn.execute(self._sql.find_locked, (encode(session_id),))).fetchone()
        if row is None:
            raise self.not_found(session_id)
        return row[9], self._info(row, session_id)

    def _mark_contended(self, session_id: str) -> None:
        self._contended[session_id] = None
        self._contended.move_to_end(session_id)
        if len(self._contended) > CACHED_INFOS:
            self._contended.popitem(last=False)

    async def _has_version(self, conn: Conn, session_id: str, version: int) -> bool:
        row = await (await conn.execute(self._sql.version, (encode(session_id),))).fetchone()
        return row is not None and row[0] == version

    async def _insert(
        self, conn: Conn, key: str, start: int, write_id: int, messages: Sequence[Message]
    ) -> None:
        if messages:
            await conn.execute(self._sql.insert_messages, (key, start, write_id, *self._rows(messages)))

    @staticmethod
    def _rows(messages: Sequence[Message]) -> tuple[list[str], list[str], list[str], list[str]]:
        """The messages' columns (role, text, terms, data) as arrays, for one ``unnest``."""
        texts = [m.text for m in messages]
        return (
            [m.role for m in messages],
            [encode(t) for t in texts],
            [tsvector_literal(search_terms(t)) for t in texts],
            [json_text(d) for d in messages_to_dicts(messages)],
        )

    def _remember(self, session_id: str, version: int, info: SessionInfo) -> SessionInfo:
        self._infos[session_id] = (version, info)
        self._infos.move_to_end(session_id)
        if len(self._infos) > CACHED_INFOS:
            self._infos.popitem(last=False)
        return info

    def _forget(self, session_id: str) -> None:
        self._infos.pop(session_id, None)

    @staticmethod
    def _info_params(info: SessionInfo, version: int) -> tuple[Any, ...]:
        return (
            encode(info.id),
            encode(info.user_id),
            encode_opt(info.title),
            encode_opt(info.model),
            _utc(info.created_at),
            _utc(info.updated_at),
            info.message_count,
            json_text(to_dict(info.usage)),
            json_text(dict(info.metadata)),
            version,
        )

    @staticmethod
    def _update_params(info: SessionInfo, version: int) -> tuple[Any, ...]:
        return (
            encode_opt(info.title),
            encode_opt(info.model),
            _utc(info.updated_at),
            info.message_count,
            json_text(to_dict(info.usage)),
            json_text(dict(info.metadata)),
            version,
            encode(info.id),
        )

    def _info(self, row: Sequence[Any], session_id: str | None = None) -> SessionInfo:
        try:
            return SessionInfo(
                id=session_id if session_id is not None else decode(row[0]),
                user_id=decode(row[1]),
                title=decode_opt(row[2]),
                model=decode_opt(row[3]),
                created_at=row[4],
                updated_at=row[5],
                message_count=row[6],
                usage=from_dict(json.loads(row[7]), Usage),
                metadata=json.loads(row[8]),
            )
        except (ValueError, TypeError, KeyError) as exc:
            sid = session_id if session_id is not None else decode(str(row[0]))
            raise CorruptSessionError(
                f"session {sid!r} in {self.db.where} cannot be read: {exc}",
                store=self.name,
                session_id=sid,
            ) from None

    def _decode(self, texts: list[str], session_id: str, first: int = 0) -> list[Message]:
        def corrupt(seq: int, exc: ValueError) -> CorruptSessionError:
            return CorruptSessionError(
                f"message {seq} of session {session_id!r} in {self.db.where} cannot be read: {exc}",
                store=self.name,
                session_id=session_id,
            )

        return decode_stored(texts, first=first, corrupt=corrupt)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_DSN_HINT = "e.g. dsn='postgresql://USER:PASSWORD@HOST:5432/DATABASE', or set DATABASE_URL"


class _Statements:
    """The store's SQL, with the schema's quoted name filled in once."""

    def __init__(self, s: str) -> None:
        self.find = f"SELECT {_READ} FROM {s}.sessions WHERE id = %s"
        self.find_locked = self.find + " FOR UPDATE"
        self.find_shared = self.find + " FOR SHARE"
        self.version = f"SELECT version FROM {s}.sessions WHERE id = %s"
        self.list_all = f"SELECT {_COLUMNS} FROM {s}.sessions ORDER BY updated_at DESC, id LIMIT %s OFFSET %s"
        self.list_user = f"SELECT {_COLUMNS} FROM {s}.sessions WHERE user_id = %s ORDER BY updated_at DESC, id LIMIT %s OFFSET %s"
        self.read = (
            f"SELECT m.seq, m.write_id, m.data FROM {s}.sessions AS s"
            f" LEFT JOIN {s}.messages AS m ON m.session_id = s.id WHERE s.id = %s ORDER BY m.seq"
        )
        self.read_after = (
            f"SELECT seq, write_id, data FROM {s}.messages WHERE session_id = %s AND seq >= %s ORDER BY seq"
        )
        values = "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s"
        self.insert = (
            f"INSERT INTO {s}.sessions ({_COLUMNS}, version) VALUES ({values})"
            " ON CONFLICT (id) DO NOTHING RETURNING 1"
        )
        self.upsert = (
            f"INSERT INTO {s}.sessions ({_COLUMNS}, version) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET"
            " user_id = excluded.user_id, title = excluded.title, model = excluded.model,"
            " created_at = excluded.created_at, updated_at = excluded.updated_at,"
            " message_count = excluded.message_count, usage = excluded.usage, metadata = excluded.metadata,"
            " version = excluded.version"
        )
        self.update = (
            f"UPDATE {s}.sessions SET title = %s, model = %s, updated_at = %s, message_count = %s, usage = %s,"
            " metadata = %s, version = %s WHERE id = %s"
        )
        self.delete = f"DELETE FROM {s}.sessions WHERE id = %s RETURNING 1"
        self.delete_messages = f"DELETE FROM {s}.messages WHERE session_id = %s"
        self.insert_messages = (
            f"INSERT INTO {s}.messages (session_id, seq, write_id, role, text, terms, data)"
            " SELECT %s, %s + u.n - 1, %s, u.role, u.text, u.terms::tsvector, u.data"
            " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY AS u(role, text, terms, data, n)"
        )
        self.update_seen = self.update + " AND version = %s"
        self.append_seen = (
            f"WITH seen AS ({self.update_seen} RETURNING id)"
            f" INSERT INTO {s}.messages (session_id, seq, write_id, role, text, terms, data)"
            " SELECT seen.id, %s + u.n - 1, %s, u.role, u.text, u.terms::tsvector, u.data FROM seen,"
            " unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY AS u(role, text, terms, data, n)"
        )
        self.write_at = f"SELECT write_id FROM {s}.messages WHERE session_id = %s AND seq = %s"
        self.copy_messages = (
            f"INSERT INTO {s}.messages (session_id, seq, write_id, role, text, terms, data)"
            f" SELECT %s, seq, %s, role, text, terms, data FROM {s}.messages"
            " WHERE session_id = %s AND seq < %s ORDER BY seq"
        )
        self.search_head = (
            f"SELECT m.session_id, m.seq, m.role, m.text FROM {s}.messages AS m"
            f" JOIN {s}.sessions AS s ON s.id = m.session_id WHERE m.terms @@ %s::tsquery"
        )
