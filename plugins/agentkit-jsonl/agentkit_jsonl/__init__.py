"""agentkit-jsonl: sessions as human-readable JSONL files, one per session.

Names are imported on first access, so the plugin's entry point stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "FILE_FORMAT": "agentkit_jsonl.store",
    "JsonlStore": "agentkit_jsonl.store",
    "file_name": "agentkit_jsonl._files",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit_jsonl' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
