"""agentkit-sqlite: agentkit's default session store, and a response cache, in SQLite.

Names are imported on first access, so the plugin's entry point stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SCHEMA_VERSION": "agentkit_sqlite.schema",
    "SqliteResponseCache": "agentkit_sqlite.cache",
    "SqliteStore": "agentkit_sqlite.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit_sqlite' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
