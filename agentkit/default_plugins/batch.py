"""Built-in plugin: the ``local`` batch executor (items run on this process's event loop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..registry import ExecutorRegistrar

__all__ = ["register_executors"]


def _local(**options: Any) -> Any:
    from ..batch import LocalExecutor

    return LocalExecutor(**options)


@hookimpl
def register_executors(registry: ExecutorRegistrar) -> None:
    registry.add("local", _local, description="asyncio in this process, up to --concurrency items at once")
