"""agentkit-sqlite: agentkit's default session store, and a response cache, in SQLite.

Names are imported on first access, so the plugin's entry point stays cheap.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "SCHEMA_VERSION": "agentkit_sqlite.schema",
    "SqliteResponseCache": "agentkit_sqlite.cache",
    "SqliteStore": "agentkit_sqlite.store",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
