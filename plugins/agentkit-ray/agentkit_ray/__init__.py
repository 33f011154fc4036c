"""agentkit-ray: the ``ray`` batch executor, running a batch job's items on a Ray cluster.

Names are imported on first access, so the plugin's entry point never imports Ray.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BatchWorker": "agentkit_ray._worker",
    "RayExecutor": "agentkit_ray.executor",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
