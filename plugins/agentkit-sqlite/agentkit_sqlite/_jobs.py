"""The SQLite store's work, run on its worker thread with its connection.

Every write is one ``BEGIN IMMEDIATE`` transaction and gives the session a new random
``version``. Two caches save decoding work, and both are checked against the database
before use, so other connections' and processes' writes are always seen:

- the session info last read or written, valid while the row's ``version`` is unchanged;
- the decoded messages last read, valid while the row id at their last position is
  unchanged (rows are never updated and ids never reused, so an unchanged last row means an
  unchanged prefix); a later read decodes only the rows after it.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from agentkit.errors import CorruptSessionError, SessionNotFoundError, StorageError
from agentkit.messages import Message, Usage
from agentkit.serialization import (
    from_dict,
    messages_to_dicts,
    to_dict,
)
from agentkit.stores import InfoChange, SearchHit, SessionInfo, decode_stored, forked_info

from ._db import from_micros, to_micros, write_transaction

__all__ = ["Caches"]

_INFO_COLUMNS = "id, user_id, title, model, created_at, updated_at, message_count, usage, metadata"


class _Store(Protocol):
    caches: Caches
    path: Any

    def not_found(self, session_id: str) -> SessionNotFoundError: ...

    def exists(self, session_id: str) -> StorageError: ...


class Caches:
    """What this store last saw of recently used sessions (touched by the worker thread only)."""

    def __init__(self, sessions: int = 8, infos: int = 1024) -> None:
        self.sessions = sessions
        self.max_infos = infos
        self.infos: OrderedDict[str, tuple[int, SessionInfo]] = OrderedDict()
        self.messages: OrderedDict[str, tuple[int, list[Message]]] = OrderedDict()

    def info(self, session_id: str, version: int, info: SessionInfo) -> None:
        self.infos[session_id] = (version, info)
        self.infos.move_to_end(session_id)
        while len(self.infos) > self.max_infos:
            self.infos.popitem(last=False)

    def forget(self, session_id: str) -> None:
        self.infos.pop(session_id, None)
        self.messages.pop(session_id, None)


def _version() -> int:
    return random.getrandbits(62)


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


def _current(conn: sqlite3.Connection, store: _Store, session_id: str) -> tuple[SessionInfo, int] | None:
    """The session's info and turn count, or None; decoded only when its version changed."""
    row = conn.execute("SELECT version, turn_count FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        store.caches.forget(session_id)
        return None
    version, turns = row
    cached = store.caches.infos.get(session_id)
    if cached is not None and cached[0] == version:
        return cached[1], turns
    full = conn.execute(f"SELECT {_INFO_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    info = _row_to_info(full)
    store.caches.info(session_id, version, info)
    return info, turns


def _get(conn: sqlite3.Connection, store: _Store, session_id: str) -> tuple[SessionInfo, int]:
    found = _current(conn, store, session_id)
    if found is None:
        raise store.not_found(session_id)
    return found


def _insert_info(conn: sqlite3.Connection, info: SessionInfo, turns: int, version: int) -> None:
    conn.execute(
        f"INSERT INTO sessions ({_INFO_COLUMNS}, turn_count, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.id,
            info.user_id,
            _maybe_text(info.title),
            _maybe_text(info.model),
            to_micros(info.created_at),
            to_micros(info.updated_at),
            info.message_count,
            _usage_json(info.usage),
            _json(dict(info.metadata)),
            turns,
            version,
        ),
    )


def _update_info(conn: sqlite3.Connection, info: SessionInfo, turns: int, version: int) -> None:
    conn.execute(
        "UPDATE sessions SET title = ?, model = ?, updated_at = ?, message_count = ?, usage = ?, metadata = ?,"
        " turn_count = ?, version = ? WHERE id = ?",
        (
            _maybe_text(info.title),
            _maybe_text(info.model),
            to_micros(info.updated_at),
            info.message_count,
            _usage_json(info.usage),
            _json(dict(info.metadata)),
            turns,
            version,
            info.id,
        ),
    )


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


_encode = json.JSONEncoder(ensure_ascii=False).encode


def _json(data: Any) -> str:
    text = _encode(data)
    return text if _encodable(text) else json.dumps(data)  # escapes a lone surrogate instead


def _usage_json(usage: Usage) -> str:
    return _encode(to_dict(usage))


def _text(text: str) -> str:
    """Text for a TEXT column; SQLite takes UTF-8 only (a lone surrogate becomes '?')."""
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


# -- sessions ----------------------------------------------------------------------------------


def find(conn: sqlite3.Connection, store: _Store, session_id: str) -> SessionInfo | None:
    found = _current(conn, store, session_id)
    return None if found is None else found[0]


def list_sessions(
    conn: sqlite3.Connection, user_id: str | None, limit: int, offset: int
) -> list[SessionInfo]:
    where, params = ("WHERE user_id = ?", [user_id]) if user_id is not None else ("", [])
    rows = conn.execute(
        f"SELECT {_INFO_COLUMNS} FROM sessions {where} ORDER BY updated_at DESC, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ).fetchall()
    return [_row_to_info(r) for r in rows]


def delete(conn: sqlite3.Connection, store: _Store, session_id: str) -> bool:
    with write_transaction(conn):
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        found = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0
    store.caches.forget(session_id)
    return found


# -- messages ----------------------------------------------------------------------------------


def read(conn: sqlite3.Connection, store: _Store, session_id: str) -> list[Message]:
    """The stored messages; decodes only rows added since this store last read them."""
    caches = store.caches
    cached = caches.messages.get(session_id)
    base: list[Message] = []
    conn.execute("BEGIN")  # one snapshot for every query below
    try:
        row = conn.execute("SELECT message_count FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            caches.forget(session_id)
            raise store.not_found(session_id)
        count = row[0]
        if cached is not None and 0 < len(cached[1]) <= count:
            last = conn.execute(
                "SELECT id FROM messages WHERE session_id = ? AND seq = ?", (session_id, len(cached[1]) - 1)
            ).fetchone()
            if last is not None and last[0] == cached[0]:
                base = cached[1]
        texts = [
            r[0]
            for r in conn.execute(
                "SELECT data FROM messages WHERE session_id = ? AND seq >= ? ORDER BY seq",
                (session_id, len(base)),
            )
        ]
        last_id = cached[0] if base and cached is not None else None
        if texts:
            found = conn.execute(
                "SELECT id FROM messages WHERE session_id = ? AND seq = ?",
                (session_id, len(base) + len(texts) - 1),
            ).fetchone()
            last_id = found[0] if found is not None else None
    finally:
        conn.execute("COMMIT")
    messages = base + _decode(texts, len(base), store, session_id) if texts else list(base)
    if messages and last_id is not None:
        caches.messages[session_id] = (last_id, messages)
        caches.messages.move_to_end(session_id)
        while len(caches.messages) > caches.sessions:
            caches.messages.popitem(last=False)
    return list(messages)


def _decode(texts: list[str], first: int, store: _Store, session_id: str) -> list[Message]:
    def corrupt(seq: int, exc: ValueError) -> CorruptSessionError:
        return CorruptSessionError(
            f"{store.path}: message {seq} of session {session_id!r} cannot be read: {exc}",
            path=str(store.path),
            store="sqlite",
            session_id=session_id,
        )

    return decode_stored(texts, first=first, corrupt=corrupt)


def extend(
    conn: sqlite3.Connection, store: _Store, session_id: str, messages: list[Message], change: InfoChange
) -> SessionInfo:
    """Messages appended (maybe none) and the session row updated, in one transaction."""
    version = _version()
    with write_transaction(conn):
        old, turns = _get(conn, store, session_id)
        info = change(old)
        if messages:
            turns += 1
            _insert_messages(conn, session_id, old.message_count, turns, messages)
        _update_info(conn, info, turns, version)
    store.caches.info(session_id, version, info)
    return info


def rewrite(
    conn: sqlite3.Connection, store: _Store, session_id: str, messages: list[Message], change: InfoChange
) -> SessionInfo:
    version = _version()
    with write_transaction(conn):
        old, turns = _get(conn, store, session_id)
        info = change(old)
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        _insert_messages(conn, session_id, 0, turns + 1, messages)
        _update_info(conn, info, turns + 1, version)
    store.caches.forget(session_id)
    store.caches.info(session_id, version, info)
    return info


def put(
    conn: sqlite3.Connection, store: _Store, info: SessionInfo, messages: list[Message], replace: bool
) -> None:
    version = _version()
    with write_transaction(conn):
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (info.id,)).fetchone() is not None:
            if not replace:
                raise store.exists(info.id)
            conn.execute("DELETE FROM messages WHERE session_id = ?", (info.id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (info.id,))
        _insert_info(conn, info, 1 if messages else 0, version)
        _insert_messages(conn, info.id, 0, 1, messages)
    store.caches.forget(info.id)
    store.caches.info(info.id, version, info)


def fork(
    conn: sqlite3.Connection,
    store: _Store,
    source_id: str,
    new_id: str,
    upto: int | None,
    user_id: str | None,
    title: str | None,
) -> SessionInfo:
    version = _version()
    with write_transaction(conn):
        source, _ = _get(conn, store, source_id)
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (new_id,)).fetchone() is not None:
            raise store.exists(new_id)
        count = len(range(source.message_count)[:upto])
        info = forked_info(source, new_id, count, user_id=user_id, title=title)
        _insert_info(conn, info, 1 if count else 0, version)
        conn.execute(
            "INSERT INTO messages (session_id, seq, turn, role, text, data)"
            " SELECT ?, seq, 1, role, text, data FROM messages WHERE session_id = ? AND seq < ? ORDER BY seq",
            (new_id, source_id, count),
        )
    store.caches.info(new_id, version, info)
    return info


# -- search ------------------------------------------------------------------------------------


def _catch_up_index(conn: sqlite3.Connection) -> None:
    """Index the messages appended since the last search, in one transaction."""
    upto = conn.execute("SELECT indexed_upto FROM search_state").fetchone()[0]
    newest = conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
    if newest <= upto:
        return
    with write_transaction(conn):
        upto = conn.execute("SELECT indexed_upto FROM search_state").fetchone()[0]
        newest = conn.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
        conn.execute(
            "INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id > ? AND id <= ?",
            (upto, newest),
        )
        conn.execute("UPDATE search_state SET indexed_upto = ?", (max(upto, newest),))


def search(
    conn: sqlite3.Connection, match: str, user_id: str | None, session_id: str | None, limit: int
) -> list[SearchHit]:
    _catch_up_index(conn)
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
