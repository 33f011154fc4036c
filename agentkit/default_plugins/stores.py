"""Built-in plugin: the in-memory session store ``"memory"``, for tests and throwaway agents.

The default store, ``"sqlite"``, and the ``"jsonl"`` store are registered by their own
plugins (agentkit-sqlite, agentkit-jsonl) through this same hook.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import StorageError
from ..hookspecs import hookimpl
from ..messages import Message, Usage
from ..stores import (
    UNSET,
    SearchHit,
    SessionInfo,
    Store,
    _Unset,
    check_messages,
    check_metadata,
    check_session_id,
    search_terms,
    session_changes,
    utcnow,
)

if TYPE_CHECKING:
    from ..registry import StoreRegistrar

__all__ = ["InMemoryStore", "register_stores"]


@hookimpl
def register_stores(registry: StoreRegistrar) -> None:
    registry.add("memory", _memory_store, description="sessions in memory, for tests and throwaway agents")


def _memory_store(**settings: Any) -> InMemoryStore:
    if settings:
        raise TypeError(f"the memory store takes no settings, got {', '.join(sorted(settings))}")
    return InMemoryStore()


@attrs.define
class _Entry:
    info: SessionInfo
    messages: list[Message]


class InMemoryStore(Store):
    """Sessions in a dict: for tests and throwaway agents. Thread-safe; nothing persists."""

    name = "memory"

    def __init__(self) -> None:
        self._sessions: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, session_id: str) -> _Entry:
        entry = self._sessions.get(session_id)
        if entry is None:
            raise self._not_found(session_id)
        return entry

    async def find_session(self, session_id: str) -> SessionInfo | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            return None if entry is None else entry.info

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
        meta = check_metadata(metadata)
        now = utcnow()
        info = SessionInfo(session_id, user_id or session_id, now, now, title, model, 0, Usage(), meta)
        with self._lock:
            if session_id in self._sessions:
                raise StorageError(
                    f"session {session_id!r} already exists", store=self.name, session_id=session_id
                )
            self._sessions[session_id] = _Entry(info, [])
        return info

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        with self._lock:
            infos = [e.info for e in self._sessions.values() if user_id is None or e.info.user_id == user_id]
        infos.sort(key=lambda i: i.id)
        infos.sort(key=lambda i: i.updated_at, reverse=True)
        end = None if limit is None else offset + limit
        return infos[offset:end]

    async def update_session(
        self,
        session_id: str,
        *,
        title: str | _Unset | None = UNSET,
        model: str | _Unset | None = UNSET,
        metadata: Mapping[str, Any] | _Unset = UNSET,
    ) -> SessionInfo:
        changes = {**session_changes(title, model, metadata), "updated_at": utcnow()}
        with self._lock:
            entry = self._entry(session_id)
            entry.info = attrs.evolve(entry.info, **changes)
            return entry.info

    async def delete_session(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    async def read_messages(self, session_id: str) -> list[Message]:
        with self._lock:
            return list(self._entry(session_id).messages)

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
        with self._lock:
            entry = self._entry(session_id)
            if not turn:
                return entry.info
            entry.messages.extend(turn)
            info = entry.info
            entry.info = attrs.evolve(
                info,
                updated_at=utcnow(),
                message_count=len(entry.messages),
                usage=info.usage + usage if usage is not None else info.usage,
                model=model if model is not None else info.model,
                title=info.title if info.title is not None else title,
            )
            return entry.info

    async def replace_messages(self, session_id: str, messages: Sequence[Message]) -> SessionInfo:
        new = check_messages(messages)
        with self._lock:
            entry = self._entry(session_id)
            entry.messages = new
            entry.info = attrs.evolve(entry.info, updated_at=utcnow(), message_count=len(new))
            return entry.info

    async def put_session(self, info: SessionInfo, messages: Sequence[Message]) -> SessionInfo:
        check_session_id(info.id)
        stored = check_messages(messages)
        info = attrs.evolve(info, message_count=len(stored), metadata=check_metadata(info.metadata))
        with self._lock:
            self._sessions[info.id] = _Entry(info, stored)
        return info

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        terms = set(search_terms(query))
        if not terms or limit <= 0:
            return []
        sessions = await self.list_sessions(user_id=user_id)
        hits: list[SearchHit] = []
        for info in sessions:
            if session_id is not None and info.id != session_id:
                continue
            with self._lock:
                entry = self._sessions.get(info.id)
                messages = list(entry.messages) if entry else []
            for index in range(len(messages) - 1, -1, -1):
                message = messages[index]
                if terms <= set(search_terms(message.text)):
                    hits.append(SearchHit(info.id, index, message.role, message.text))
                    if len(hits) >= limit:
                        return hits
        return hits
