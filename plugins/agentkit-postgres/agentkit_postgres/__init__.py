"""agentkit-postgres: sessions and long-term memory in PostgreSQL, shared by many processes and machines.

Names are imported on first access, so the plugin's entry point stays cheap (psycopg is
imported when a store or memory backend is first built).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "PostgresMemory": "agentkit_postgres.memory",
    "PostgresServer": "agentkit_postgres.testing",
    "PostgresStore": "agentkit_postgres.store",
    "SCHEMA_VERSION": "agentkit_postgres.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit_postgres' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
