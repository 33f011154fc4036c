"""Built-in plugin: the in-memory memory backend ``"memory"`` (keyword ranking, BM25).

For tests and ephemeral agents: nothing survives the process. Persistent memory with
FTS5 ranking (and optional embeddings) is ``"sqlite"``, from agentkit-sqlite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.errors import MemoryStoreError
from agentkit.hookspecs import hookimpl
from agentkit.memory import (
    Memory,
    MemoryHit,
    MemoryRecord,
    Scope,
    check_changes,
    check_filters,
    matches_filters,
    new_record,
    rank_keywords,
    visible_to,
)

__all__ = ["InMemoryMemory"]


class InMemoryMemory(Memory):
    """Memories in a dict, ranked by BM25 over words. Thread-safe."""

    name = "memory"

    def __init__(self) -> None:
        self._records: dict[str, MemoryRecord] = {}
        self._lock = threading.Lock()  # dict updates only: never held across an await

    def __repr__(self) -> str:
        return f"InMemoryMemory({len(self._records)} records)"

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
        with self._lock:
            self._records[record.id] = record
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
        now = time.time()
        candidates = [
            r
            for r in self._records.values()
            if not r.expired(now) and visible_to(r, user_id, agent, session_id) and matches_filters(r, wanted)
        ]
        return rank_keywords(candidates, query, max(0, k))

    async def get(self, memory_id: str) -> MemoryRecord | None:
        record = self._records.get(memory_id)
        return None if record is None or record.expired() else record

    async def list(
        self,
        *,
        user_id: str | None = None,
        agent: str | None = None,
        scope: Scope | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        now = time.time()
        found = [
            r
            for r in self._records.values()
            if not r.expired(now)
            and (user_id is None or r.user_id == user_id)
            and (agent is None or r.agent == agent)
            and (scope is None or r.scope == scope)
        ]
        found.sort(key=lambda r: (-r.created_at, r.id))
        return found[offset : offset + limit]

    async def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        changes = check_changes(text, metadata, ttl, self.name)
        with self._lock:
            record = self._records.get(memory_id)
            if record is None or record.expired():
                raise MemoryStoreError(f"no memory with id {memory_id!r}", backend=self.name)
            updated = attrs.evolve(record, updated_at=time.time(), **changes)
            self._records[memory_id] = updated
        return updated

    async def delete(self, memory_id: str) -> bool:
        with self._lock:
            return self._records.pop(memory_id, None) is not None


@hookimpl
def register_memory(registry: Any) -> None:
    registry.add("memory", InMemoryMemory, description="in-process memory with keyword (BM25) ranking; not persistent")
