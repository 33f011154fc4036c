"""agentkit-jsonl's hook implementation. The store module loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit import hookimpl

if TYPE_CHECKING:
    from agentkit.registry import StoreRegistrar

__all__ = ["register_stores"]


def _store(**settings: Any) -> Any:
    from .store import JsonlStore

    return JsonlStore(**settings)


@hookimpl
def register_stores(registry: StoreRegistrar) -> None:
    registry.add(
        "jsonl",
        _store,
        description="one JSONL file per session in $AGENTKIT_HOME/sessions",
        options="agentkit_jsonl.store:JsonlStore",  # its settings, checked before it is built
    )
