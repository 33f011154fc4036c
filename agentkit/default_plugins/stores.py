"""Built-in plugin: the in-memory session store ``"memory"``, for tests and throwaway agents.

The default store, ``"sqlite"``, and the ``"jsonl"`` store are registered by their own
plugins (agentkit-sqlite, agentkit-jsonl) through this same hook.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import attrs

from ..hookspecs import hookimpl
from ..messages import Message
from ..stores import InfoChange, SessionInfo, Store

if TYPE_CHECKING:
    from ..registry import StoreRegistrar

__all__ = ["InMemoryStore", "register_stores"]


@hookimpl
def register_stores(registry: StoreRegistrar) -> None:
    registry.add(
        "memory", _memory_store, description="sessions in memory, for tests and throwaway agents", options=()
    )


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
            raise self.not_found(session_id)
        return entry

    async def find_session(self, session_id: str) -> SessionInfo | None:
        with self._lock:
            entry = self._sessions.get(session_id)
            return None if entry is None else entry.info

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        with self._lock:
            infos = [e.info for e in self._sessions.values() if user_id is None or e.info.user_id == user_id]
        infos.sort(key=lambda i: i.id)
        infos.sort(key=lambda i: i.updated_at, reverse=True)
        end = None if limit is None else offset + limit
        return infos[offset:end]

    async def read_messages(self, session_id: str) -> list[Message]:
        with self._lock:
            return list(self._entry(session_id).messages)

    async def write_session(self, info: SessionInfo, messages: list[Message], *, replace: bool) -> None:
        with self._lock:
            if not replace and info.id in self._sessions:
                raise self.exists(info.id)
            self._sessions[info.id] = _Entry(info, list(messages))

    async def extend_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        with self._lock:
            entry = self._entry(session_id)
            info = change(entry.info)
            entry.messages.extend(messages)
            entry.info = info
            return info

    async def rewrite_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        with self._lock:
            entry = self._entry(session_id)
            entry.info = change(entry.info)
            entry.messages = list(messages)
            return entry.info

    async def delete_session(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None
