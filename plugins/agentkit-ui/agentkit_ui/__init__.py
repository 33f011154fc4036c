"""agentkit-ui: ``agentkit ui``, a local web viewer of the sessions in a store.

Read-only pages served by the standard library on 127.0.0.1: a searchable list of sessions
and each session's conversation (tool calls expandable, usage and cost per model call, a
chart of tokens per call). See docs/ui.md. Importing the package loads nothing but this
docstring: :class:`UIServer` is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

if TYPE_CHECKING:
    from .server import UIServer

_EXPORTS: dict[str, str] = {"UIServer": "agentkit_ui.server"}

__all__ = ["UIServer"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
