"""agentkit-jsonl: sessions as human-readable JSONL files, one per session.

Names are imported on first access, so the plugin's entry point stays cheap.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "FILE_FORMAT": "agentkit_jsonl.store",
    "JsonlStore": "agentkit_jsonl.store",
    "file_name": "agentkit_jsonl._files",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
