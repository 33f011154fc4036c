"""Built-in plugin: the in-memory session store ``"memory"``.

The default store, ``"sqlite"``, and the ``"jsonl"`` store are registered by their own
plugins (agentkit-sqlite, agentkit-jsonl) through this same hook.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl

__all__ = ["register_stores"]


def _memory_store(**settings: Any) -> Any:
    from ..stores import InMemoryStore

    if settings:
        raise TypeError(f"the memory store takes no settings, got {', '.join(sorted(settings))}")
    return InMemoryStore()


@hookimpl
def register_stores(registry: Any) -> None:
    registry.add("memory", _memory_store, description="sessions in memory, for tests and throwaway agents")
