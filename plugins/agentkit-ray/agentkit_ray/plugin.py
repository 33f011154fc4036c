"""agentkit-ray's hook implementation. Ray itself is imported only when a job uses the executor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit import hookimpl

if TYPE_CHECKING:
    from agentkit.registry import ExecutorRegistrar

__all__ = ["register_executors"]


def _ray(**options: Any) -> Any:
    from .executor import RayExecutor

    return RayExecutor(**options)


@hookimpl
def register_executors(registry: ExecutorRegistrar) -> None:
    registry.add(
        "ray",
        _ray,
        description="items on a Ray cluster (RAY_ADDRESS) or a local Ray runtime; workers rebuild the agent",
    )
