"""The file tools as :class:`agentkit.Tool` objects, bound to a root and settings.

``file_tools(root=".", write=False)`` is the Python entry point; the plugin registers one
factory per tool name (``factory(**tool_settings["files"])``) and the sets ``files-readonly``
and ``files``. ``bash`` is in no set: it is there only when named.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Literal

from agentkit.tools import Tool, tool

from . import editing, reading, search, shell
from .paths import Root
from .settings import FilesSettings

__all__ = ["ALL_TOOLS", "READ_ONLY", "READ_WRITE", "build_tool", "factory", "file_tools"]

READ_ONLY: tuple[str, ...] = ("read", "ls", "glob", "grep")
READ_WRITE: tuple[str, ...] = (*READ_ONLY, "edit", "write")
ALL_TOOLS: tuple[str, ...] = (*READ_WRITE, "bash")


def _read(root: Root, s: FilesSettings) -> Tool:
    def read(path: str, offset: int = 1, limit: int | None = None) -> str:
        """Read a file.

        Args:
            path: File path relative to the root, e.g. 'src/app.py'.
            offset: First line to show (1-based). Use it to page through long files.
            limit: How many lines to show at most.
        """
        return reading.read_file(root, s, path, offset, limit)

    return tool(
        read,
        name="read",
        description=(
            "Read a text file under the root, with line numbers (number, tab, text). Shows at most "
            f"{s.max_read_lines} lines per call; lines longer than {s.max_line_chars} characters are cut. "
            "When the file has more, the output ends with the offset to continue from. Binary files are refused."
        ),
    )


def _ls(root: Root, s: FilesSettings) -> Tool:
    def ls(path: str = ".") -> str:
        """List a directory.

        Args:
            path: Directory relative to the root; '.' is the root itself.
        """
        return reading.list_dir(root, s, path)

    return tool(
        ls,
        name="ls",
        description=(
            "List the entries of a directory under the root: folders end with '/', files show their size. "
            f"At most {s.max_entries} entries."
        ),
    )


def _glob(root: Root, s: FilesSettings) -> Tool:
    def glob(pattern: str, path: str = ".") -> str:
        """Find paths by name.

        Args:
            pattern: Glob such as '**/*.py' (any depth), '*.md' (this folder only) or 'src/**/test_*.py'.
            path: Directory to search from, relative to the root.
        """
        return reading.glob_paths(root, s, pattern, path)

    return tool(
        glob,
        name="glob",
        description=(
            "Find files and folders whose path matches a glob pattern; returns paths relative to the root, "
            f"sorted, at most {s.max_entries}. '*' stays within one folder, '**' crosses folders, "
            "'{a,b}' is either. Symlinks are listed but not entered; .git is skipped."
        ),
    )


def _grep(root: Root, s: FilesSettings) -> Tool:
    async def grep(
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        file_type: str | None = None,
        ignore_case: bool = False,
        context: int = 0,
        files_with_matches: bool = False,
    ) -> str:
        """Search file contents.

        Args:
            pattern: Regular expression to search for, e.g. 'def \\w+_tool' or 'TODO'.
            path: File or directory to search, relative to the root.
            glob: Only search files whose name matches this glob, e.g. '*.py'; a leading '!' excludes.
            file_type: Only search files of this type, e.g. 'py', 'js', 'ts', 'rust', 'go', 'md'.
            ignore_case: Match without regard to case.
            context: Lines of context to show before and after each match (0-10).
            files_with_matches: List only the paths of files that match.
        """
        return await search.grep(
            root, s, pattern, path, glob, file_type, ignore_case, context, files_with_matches
        )

    return tool(
        grep,
        name="grep",
        timeout=s.grep_timeout + 5,
        description=(
            "Search file contents under the root with a regular expression. Output lines are "
            "'path:line:text' (context lines 'path-line-text'). Hidden files, binary files and files over "
            f"{s.max_file_bytes} bytes are skipped. At most {s.max_matches} matches."
        ),
    )


def _edit(root: Root, s: FilesSettings) -> Tool:
    def edit(path: str, old_string: str, new_string: str, replace_all: bool = False) -> str:
        """Replace text in a file.

        Args:
            path: File to change, relative to the root.
            old_string: The exact text to replace, copied from the file (whitespace included, no line numbers).
            new_string: The text to put in its place.
            replace_all: Replace every occurrence instead of requiring exactly one.
        """
        return editing.edit_file(root, s, path, old_string, new_string, replace_all)

    return tool(
        edit,
        name="edit",
        description=(
            "Replace an exact piece of text in a file. old_string must occur exactly once (add surrounding "
            "lines to make it unique) unless replace_all is true. The file keeps its line endings and "
            "permissions and is replaced atomically. Read the file first."
        ),
    )


def _write(root: Root, s: FilesSettings) -> Tool:
    def write(path: str, content: str, mode: Literal["create", "overwrite"] = "create") -> str:
        """Write a file.

        Args:
            path: File to write, relative to the root; missing folders are created.
            content: The complete content of the file.
            mode: 'create' makes a new file and fails if it exists; 'overwrite' replaces an existing file.
        """
        return editing.write_file(root, s, path, content, mode)

    return tool(
        write,
        name="write",
        description=(
            "Create a new file (mode='create', refused if it exists) or replace an existing one entirely "
            f"(mode='overwrite'). At most {s.max_file_bytes} bytes. To change part of a file, use edit."
        ),
    )


def _bash(root: Root, s: FilesSettings) -> Tool:
    async def bash(command: str, timeout: float | None = None) -> str:
        """Run a shell command.

        Args:
            command: The command line, run by the shell in the root directory.
            timeout: Seconds before the command is killed.
        """
        return await shell.run_command(root, s, command, timeout)

    return tool(
        bash,
        name="bash",
        timeout=s.bash_max_timeout + 10,
        description=(
            "Run a shell command in the root directory and return its output (stdout and stderr together, "
            f"the first and last parts of it if longer than {s.bash_output_chars} characters) and exit code. "
            f"Default timeout {s.bash_timeout:g} s, at most {s.bash_max_timeout:g} s; the command is killed "
            "with everything it started at the timeout. No stdin: do not run interactive programs."
        ),
    )


_BUILDERS: dict[str, Callable[[Root, FilesSettings], Tool]] = {
    "read": _read,
    "ls": _ls,
    "glob": _glob,
    "grep": _grep,
    "edit": _edit,
    "write": _write,
    "bash": _bash,
}


def build_tool(name: str, root: Root, settings: FilesSettings) -> Tool:
    """The tool ``name`` bound to ``root`` and ``settings``."""
    return _BUILDERS[name](root, settings)


def _from_settings(name: str, **settings: Any) -> Tool:
    resolved = FilesSettings.from_mapping(settings)
    return build_tool(name, _root(resolved), resolved)


def factory(name: str) -> Callable[..., Tool]:
    """The registry factory of tool ``name``: ``factory(**tool_settings["files"])``."""
    if name not in _BUILDERS:
        raise KeyError(name)
    return functools.partial(_from_settings, name)


def _root(settings: FilesSettings) -> Root:
    return Root(settings.root, max_path_chars=settings.max_path_chars, max_path_depth=settings.max_path_depth)


def file_tools(
    root: str | os.PathLike[str] = ".",
    *,
    write: bool = False,
    bash: bool = False,
    **settings: Any,
) -> list[Tool]:
    """The file tools for ``root`` (resolved now, once): read, ls, glob, grep.

    ``write=True`` adds edit and write; ``bash=True`` adds bash, which is not a sandbox (see
    the docs). ``settings`` are :class:`FilesSettings` fields (caps, ``bash_approve``...).
    """
    resolved = FilesSettings.from_mapping(settings, root=os.fspath(root))
    base = _root(resolved)
    names = list(READ_WRITE if write else READ_ONLY)
    if bash:
        names.append("bash")
    return [build_tool(n, base, resolved) for n in names]
