"""agentkit-files: file tools confined to a root directory, safe by construction.

::

    from agentkit_files import file_tools
    agent = Agent("openai/gpt-4o-mini", tools=file_tools(root=".", write=False))

By name: ``tools=["files-readonly"]`` (read, ls, glob, grep), ``["files"]`` (plus edit and
write), ``["files", "bash"]``; settings go in ``tool_settings={"files": {"root": "..."}}``.
Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "FilesSettings": "agentkit_files.settings",
    "Root": "agentkit_files.paths",
    "file_tools": "agentkit_files.toolset",
    "is_secret_name": "agentkit_files.shell",
    "scrubbed_environment": "agentkit_files.shell",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from .paths import Root  # noqa: F401
    from .settings import FilesSettings  # noqa: F401
    from .shell import is_secret_name, scrubbed_environment  # noqa: F401
    from .toolset import file_tools  # noqa: F401
