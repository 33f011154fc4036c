"""agentkit-sqlite's hook implementations. The store and cache modules load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit import hookimpl

if TYPE_CHECKING:
    from agentkit.registry import MemoryRegistrar, StoreRegistrar

__all__ = ["register_memory", "register_stores"]


def _store(**settings: Any) -> Any:
    from .store import SqliteStore

    return SqliteStore(**settings)


def _memory(**settings: Any) -> Any:
    from .memory import SqliteMemory

    return SqliteMemory(**settings)


def _cache(**settings: Any) -> Any:
    from .cache import SqliteResponseCache

    return SqliteResponseCache(**settings)


@hookimpl
def register_stores(registry: StoreRegistrar) -> None:
    registry.add(
        "sqlite",
        _store,
        description="sessions in SQLite at $AGENTKIT_HOME/agentkit.db (the default)",
        options="agentkit_sqlite.store:SqliteStore",  # its settings, checked before it is built
    )
    registry.add_cache(
        "sqlite",
        _cache,
        description="model responses in SQLite at $AGENTKIT_HOME/cache/responses.db",
        options="agentkit_sqlite.cache:SqliteResponseCache",
    )


@hookimpl
def register_memory(registry: MemoryRegistrar) -> None:
    registry.add(
        "sqlite",
        _memory,
        description="long-term memory in SQLite at $AGENTKIT_HOME/memory.db: FTS5 BM25, hybrid with embeddings",
        options="agentkit_sqlite.memory:SqliteMemory",
    )
