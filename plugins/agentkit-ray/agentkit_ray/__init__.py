"""agentkit-ray: the ``ray`` batch executor, running a batch job's items on a Ray cluster.

Names are imported on first access, so the plugin's entry point never imports Ray.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BatchWorker": "agentkit_ray._worker",
    "RayExecutor": "agentkit_ray.executor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit_ray' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
