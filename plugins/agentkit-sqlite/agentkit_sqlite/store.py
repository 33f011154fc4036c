"""The SQLite session store (registered as ``"sqlite"``, agentkit's default store).

One database file (``$AGENTKIT_HOME/agentkit.db`` unless ``path=`` says otherwise) in WAL
mode. Every write is one ``BEGIN IMMEDIATE`` transaction, so a turn is stored whole or not
at all, and any number of threads and processes may write the same file: they queue on the
write lock for up to ``busy_timeout`` seconds. All I/O runs on the store's worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from agentkit.errors import CorruptSessionError, StorageError
from agentkit.messages import Message, Usage
from agentkit.serialization import from_dict, messages_from_dicts, messages_to_dicts, to_dict
from agentkit.stores import (
    UNSET,
    SearchHit,
    SessionInfo,
    Store,
    _Unset,
    agentkit_home,
    check_messages,
    check_metadata,
    check_session_id,
    search_terms,
    utcnow,
)

from ._db import SYNCHRONOUS, Worker, connect, ensure_schema, from_micros, to_micros, write_transaction
from .schema import MIGRATIONS

__all__ = ["SqliteStore"]

_INFO_COLUMNS = "id, user_id, title, model, created_at, updated_at, message_count, usage, metadata"


class SqliteStore(Store):
    """Sessions in one SQLite database.

    :param path: the database file (default ``$AGENTKIT_HOME/agentkit.db``).
    :param busy_timeout: seconds a write waits for another writer's lock before failing.
    :param synchronous: SQLite's ``synchronous`` pragma. ``"normal"`` (default) survives a
        crash of the program; ``"full"`` also survives power loss, at a cost per turn.
    """

    name = "sqlite"

    def __init__(
        self, path: str | Path | None = None, *, busy_timeout: float = 30.0, synchronous: str = "normal"
    ) -> None:
        if synchronous.lower() not in SYNCHRONOUS:
            raise StorageError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
        self.path = Path(path).expanduser() if path else agentkit_home() / "agentkit.db"
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self._worker = Worker(self._open, path=self.path, name="agentkit-sqlite")

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path, busy_timeout=self.busy_timeout, synchronous=self.synchronous)
        try:
            ensure_schema(conn, self.path, MIGRATIONS, what="agentkit sessions")
        except BaseException:
            conn.close()
            raise
        return conn

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self._worker.close()

    # -- sessions --------------------------------------------------------------------------

    async def find_session(self, session_id: str) -> SessionInfo | None:
        return await self._worker.call(_find, session_id)

    async def create_session(
        self,
        session_id: str,
        *,
        user_id: str | None = None,
        title: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionInfo:
        check_session_id(session_id)
        now = utcnow()
        info = SessionInfo(
            session_id, user_id or session_id, now, now, title, model, 0, Usage(), check_metadata(metadata)
        )
        return await self._worker.call(_create, info)

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        return await self._worker.call(_list, user_id, -1 if limit is None else limit, offset)

    async def update_session(
        self,
        session_id: str,
        *,
        title: str | _Unset | None = UNSET,
        model: str | _Unset | None = UNSET,
        metadata: Mapping[str, Any] | _Unset = UNSET,
    ) -> SessionInfo:
        changes: dict[str, Any] = {}
        if not isinstance(title, _Unset):
            changes["title"] = _maybe_text(title)
        if not isinstance(model, _Unset):
            changes["model"] = _maybe_text(model)
        if not isinstance(metadata, _Unset):
            changes["metadata"] = _json(check_metadata(metadata))
        return await self._worker.call(_update, self, session_id, changes)

    async def delete_session(self, session_id: str) -> bool:
        return await self._worker.call(_delete, session_id)

    # -- messages --------------------------------------------------------------------------

    async def read_messages(self, session_id: str) -> list[Message]:
        return await self._worker.call(_read, self, session_id)

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        usage: Usage | None = None,
        model: str | None = None,
        title: str | None = None,
    ) -> SessionInfo:
        turn = check_messages(messages)
        return await self._worker.call(_append, self, session_id, turn, usage, model, title)

    async def replace_messages(self, session_id: str, messages: Sequence[Message]) -> SessionInfo:
        return await self._worker.call(_replace, self, session_id, check_messages(messages))

    async def put_session(self, info: SessionInfo, messages: Sequence[Message]) -> SessionInfo:
        check_session_id(info.id)
        stored = check_messages(messages)
        info = attrs.evolve(info, message_count=len(stored), metadata=check_metadata(info.metadata))
        return await self._worker.call(_put, info, stored)

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
        return await self._worker.call(_fork, self, source_id, new_id, upto, user_id, title, utcnow())

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        terms = search_terms(query)
        if not terms or limit <= 0:
            return []
        match = " ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms))
        return await self._worker.call(_search, match, user_id, session_id, limit)


# -- the jobs, run on the worker thread with its connection ------------------------------------


def _row_to_info(row: Sequence[Any]) -> SessionInfo:
    return SessionInfo(
        id=row[0],
        user_id=row[1],
        title=row[2],
        model=row[3],
        created_at=from_micros(row[4]),
        updated_at=from_micros(row[5]),
        message_count=row[6],
        usage=from_dict(json.loads(row[7]), Usage),
        metadata=json.loads(row[8]),
    )


def _find(conn: sqlite3.Connection, session_id: str) -> SessionInfo | None:
    row = conn.execute(f"SELECT {_INFO_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else _row_to_info(row)


def _get(conn: sqlite3.Connection, store: SqliteStore, session_id: str) -> SessionInfo:
    info = _find(conn, session_id)
    if info is None:
        raise store._not_found(session_id)
    return info


def _insert_info(conn: sqlite3.Connection, info: SessionInfo, turns: int) -> None:
    conn.execute(
        f"INSERT INTO sessions ({_INFO_COLUMNS}, turn_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.id,
            info.user_id,
            _maybe_text(info.title),
            _maybe_text(info.model),
            to_micros(info.created_at),
            to_micros(info.updated_at),
            info.message_count,
            json.dumps(to_dict(info.usage)),
            _json(dict(info.metadata)),
            turns,
        ),
    )


def _create(conn: sqlite3.Connection, info: SessionInfo) -> SessionInfo:
    with write_transaction(conn):
        if _find(conn, info.id) is not None:
            raise StorageError(f"session {info.id!r} already exists", store="sqlite", session_id=info.id)
        _insert_info(conn, info, 0)
    return info


def _list(conn: sqlite3.Connection, user_id: str | None, limit: int, offset: int) -> list[SessionInfo]:
    where, params = ("WHERE user_id = ?", [user_id]) if user_id is not None else ("", [])
    rows = conn.execute(
        f"SELECT {_INFO_COLUMNS} FROM sessions {where} ORDER BY updated_at DESC, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    return [_row_to_info(r) for r in rows]


def _update(
    conn: sqlite3.Connection, store: SqliteStore, session_id: str, changes: dict[str, Any]
) -> SessionInfo:
    with write_transaction(conn):
        _get(conn, store, session_id)
        changes = {**changes, "updated_at": to_micros(utcnow())}
        assignments = ", ".join(f"{column} = ?" for column in changes)
        conn.execute(f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), session_id))
        return _get(conn, store, session_id)


def _delete(conn: sqlite3.Connection, session_id: str) -> bool:
    with write_transaction(conn):
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        return conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0


def _read(conn: sqlite3.Connection, store: SqliteStore, session_id: str) -> list[Message]:
    conn.execute("BEGIN")  # one snapshot for the info check and the rows
    try:
        _get(conn, store, session_id)
        rows = conn.execute(
            "SELECT data FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    data = [r[0] for r in rows]
    try:  # one parse of one JSON array is much faster than one per row
        return messages_from_dicts(json.loads("[" + ",".join(data) + "]"))
    except ValueError:
        pass
    for seq, text in enumerate(data):
        try:
            messages_from_dicts([json.loads(text)])
        except ValueError as exc:
            raise CorruptSessionError(
                f"{store.path}: message {seq} of session {session_id!r} cannot be read: {exc}",
                path=str(store.path),
                store="sqlite",
                session_id=session_id,
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _insert_messages(
    conn: sqlite3.Connection, session_id: str, start: int, turn: int, messages: list[Message]
) -> None:
    rows = [
        (session_id, start + i, turn, m.role, _text(m.text), _json(d))
        for i, (m, d) in enumerate(zip(messages, messages_to_dicts(messages), strict=True))
    ]
    conn.executemany(
        "INSERT INTO messages (session_id, seq, turn, role, text, data) VALUES (?, ?, ?, ?, ?, ?)", rows
    )


def _json(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return text if _encodable(text) else json.dumps(data)  # escapes a lone surrogate instead


def _text(text: str) -> str:
    """Text for the search index; SQLite takes UTF-8 only (a lone surrogate becomes '?')."""
    return text if _encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def _maybe_text(text: str | None) -> str | None:
    return None if text is None else _text(text)


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _append(
    conn: sqlite3.Connection,
    store: SqliteStore,
    session_id: str,
    messages: list[Message],
    usage: Usage | None,
    model: str | None,
    title: str | None,
) -> SessionInfo:
    with write_transaction(conn):
        info = _get(conn, store, session_id)
        if not messages:
            return info
        turns = conn.execute("SELECT turn_count FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]
        _insert_messages(conn, session_id, info.message_count, turns + 1, messages)
        info = attrs.evolve(
            info,
            updated_at=utcnow(),
            message_count=info.message_count + len(messages),
            usage=info.usage + usage if usage is not None else info.usage,
            model=model if model is not None else info.model,
            title=info.title if info.title is not None else title,
        )
        conn.execute(
            "UPDATE sessions SET updated_at = ?, message_count = ?, turn_count = ?, usage = ?, model = ?, title = ?"
            " WHERE id = ?",
            (
                to_micros(info.updated_at),
                info.message_count,
                turns + 1,
                json.dumps(to_dict(info.usage)),
                _maybe_text(info.model),
                _maybe_text(info.title),
                session_id,
            ),
        )
    return info


def _replace(
    conn: sqlite3.Connection, store: SqliteStore, session_id: str, messages: list[Message]
) -> SessionInfo:
    with write_transaction(conn):
        info = _get(conn, store, session_id)
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        turns = conn.execute("SELECT turn_count FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]
        _insert_messages(conn, session_id, 0, turns + 1, messages)
        info = attrs.evolve(info, updated_at=utcnow(), message_count=len(messages))
        conn.execute(
            "UPDATE sessions SET updated_at = ?, message_count = ?, turn_count = ? WHERE id = ?",
            (to_micros(info.updated_at), info.message_count, turns + 1, session_id),
        )
    return info


def _put(conn: sqlite3.Connection, info: SessionInfo, messages: list[Message]) -> SessionInfo:
    with write_transaction(conn):
        conn.execute("DELETE FROM messages WHERE session_id = ?", (info.id,))
        conn.execute("DELETE FROM sessions WHERE id = ?", (info.id,))
        _insert_info(conn, info, 1 if messages else 0)
        _insert_messages(conn, info.id, 0, 1, messages)
    return info


def _fork(
    conn: sqlite3.Connection,
    store: SqliteStore,
    source_id: str,
    new_id: str,
    upto: int | None,
    user_id: str | None,
    title: str | None,
    now: Any,
) -> SessionInfo:
    with write_transaction(conn):
        source = _get(conn, store, source_id)
        if _find(conn, new_id) is not None:
            raise StorageError(f"session {new_id!r} already exists", store="sqlite", session_id=new_id)
        count = len(range(source.message_count)[:upto])
        info = SessionInfo(
            id=new_id,
            user_id=user_id or source.user_id,
            created_at=now,
            updated_at=now,
            title=title if title is not None else source.title,
            model=source.model,
            message_count=count,
            metadata={**source.metadata, "forked_from": source_id},
        )
        _insert_info(conn, info, 1 if count else 0)
        conn.execute(
            "INSERT INTO messages (session_id, seq, turn, role, text, data)"
            " SELECT ?, seq, 1, role, text, data FROM messages WHERE session_id = ? AND seq < ? ORDER BY seq",
            (new_id, source_id, count),
        )
    return info


def _search(
    conn: sqlite3.Connection, match: str, user_id: str | None, session_id: str | None, limit: int
) -> list[SearchHit]:
    sql = (
        "SELECT m.session_id, m.seq, m.role, m.text FROM messages_fts"
        " JOIN messages AS m ON m.id = messages_fts.rowid JOIN sessions AS s ON s.id = m.session_id"
        " WHERE messages_fts MATCH ?"
    )
    params: list[Any] = [match]
    if user_id is not None:
        sql += " AND s.user_id = ?"
        params.append(user_id)
    if session_id is not None:
        sql += " AND m.session_id = ?"
        params.append(session_id)
    sql += " ORDER BY s.updated_at DESC, s.id, m.seq DESC LIMIT ?"
    params.append(limit)
    return [SearchHit(r[0], r[1], r[2], r[3]) for r in conn.execute(sql, params).fetchall()]
