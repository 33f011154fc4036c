"""agentkit-postgres: sessions and long-term memory in PostgreSQL, shared by many processes and machines.

Names are imported on first access, so the plugin's entry point stays cheap (psycopg is
imported when a store or memory backend is first built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PostgresMemory": "agentkit_postgres.memory",
    "PostgresServer": "agentkit_postgres.testing",
    "PostgresStore": "agentkit_postgres.store",
    "SCHEMA_VERSION": "agentkit_postgres.schema",
}

__all__ = ["SCHEMA_VERSION", "PostgresMemory", "PostgresServer", "PostgresStore"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from agentkit_postgres.memory import PostgresMemory
    from agentkit_postgres.schema import SCHEMA_VERSION
    from agentkit_postgres.store import PostgresStore
    from agentkit_postgres.testing import PostgresServer
