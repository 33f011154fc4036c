"""agentkit-files' hook implementations (the ``agentkit`` entry point). Code lives beside it."""

from __future__ import annotations

from typing import Any

from agentkit import hookimpl

__all__ = ["register_tools"]


@hookimpl
def register_tools(registry: Any) -> None:
    """read, ls, glob, grep, edit, write, bash; the sets files-readonly and files (bash in neither)."""
    from .toolset import READ_ONLY, READ_WRITE, factory

    descriptions = {
        "read": "read a text file under the root, paged by line",
        "ls": "list a directory under the root",
        "glob": "find paths under the root by glob pattern",
        "grep": "search file contents under the root (ripgrep or pure Python)",
        "edit": "replace an exact string in a file under the root",
        "write": "create or overwrite a file under the root",
        "bash": "run a shell command in the root (NOT a sandbox; only when named)",
    }
    for name, description in descriptions.items():
        registry.add_factory(name, factory(name), settings_key="files", description=description)
    registry.add_set("files-readonly", READ_ONLY, description="read, ls, glob, grep")
    registry.add_set("files", READ_WRITE, description="read, ls, glob, grep, edit, write (no bash)")
