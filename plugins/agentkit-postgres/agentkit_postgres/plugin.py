"""agentkit-postgres's hook implementations. The store and memory modules (and psycopg) load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit import hookimpl

if TYPE_CHECKING:
    from agentkit.registry import ConfigSectionRegistrar, MemoryRegistrar, StoreRegistrar

__all__ = ["SECTION", "register_config_sections", "register_memory", "register_stores"]

_SECONDS = {"type": "number", "exclusiveMinimum": 0}

#: The ``[postgres]`` section of agentkit.toml: settings of the store and the memory backend
#: named ``postgres`` (each takes those it knows; ``${VAR}`` is filled in).
SECTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "dsn": {"type": "string", "description": "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"},
        "schema": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,62}$"},
        "pool_size": {"type": "integer", "minimum": 1},
        "connect_timeout": _SECONDS,
        "statement_timeout": {"type": "number", "minimum": 0},
        "pool_timeout": _SECONDS,
        "embeddings": {"type": "string"},
        "embedding_settings": {"type": "object"},
        "keyword_weight": {"type": "number", "minimum": 0, "maximum": 1},
        "candidates": {"type": "integer", "minimum": 1},
        "vectors": {"enum": ["auto", "pgvector", "python"]},
    },
    "additionalProperties": False,
}


def _store(**settings: Any) -> Any:
    from .store import PostgresStore

    return PostgresStore(**settings)


def _memory(**settings: Any) -> Any:
    from .memory import PostgresMemory

    return PostgresMemory(**settings)


@hookimpl
def register_stores(registry: StoreRegistrar) -> None:
    registry.add(
        "postgres",
        _store,
        description="sessions in PostgreSQL ($DATABASE_URL or dsn=...): many processes and machines, FTS search",
        options="agentkit_postgres.store:PostgresStore",
        settings_section="postgres",
    )


@hookimpl
def register_memory(registry: MemoryRegistrar) -> None:
    registry.add(
        "postgres",
        _memory,
        description="long-term memory in PostgreSQL: full-text rank, hybrid with embeddings (pgvector if there)",
        options="agentkit_postgres.memory:PostgresMemory",
        settings_section="postgres",
    )


@hookimpl
def register_config_sections(registry: ConfigSectionRegistrar) -> None:
    registry.add("postgres", SECTION, description="settings of the postgres store and memory backend")
