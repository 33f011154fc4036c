"""The settings every file tool reads: the root and the caps.

All tools of the plugin share one settings table (``tool_settings["files"]`` in Python,
``[agents.x.tool_settings.files]`` in config), so each factory accepts every key and rejects
unknown ones by name: a typo in config must not silently fall back to a default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

__all__ = ["Approver", "FilesSettings"]

#: ``approve(command) -> bool`` (or an awaitable bool): gates each bash command.
Approver = Callable[[str], "bool | Awaitable[bool]"]


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen
class FilesSettings:
    """Root directory and limits of the file tools. Every cap reports itself when it cuts."""

    #: The directory the tools are confined to; resolved once, when the tools are built.
    root: str = "."
    #: Lines one ``read`` call returns at most (also its default ``limit``).
    max_read_lines: int = attrs.field(default=2000, validator=_positive)
    #: Characters of one line shown by ``read`` and ``grep``; longer lines are cut with a marker.
    max_line_chars: int = attrs.field(default=2000, validator=_positive)
    #: Characters of one tool result (read, ls, glob, grep); more is cut with a marker.
    max_output_chars: int = attrs.field(default=100_000, validator=_positive)
    #: Largest file ``edit`` changes, ``write`` writes and ``grep`` searches (bytes).
    max_file_bytes: int = attrs.field(default=10 * 1024 * 1024, validator=_positive)
    #: Entries ``ls`` lists and paths ``glob`` returns at most.
    max_entries: int = attrs.field(default=1000, validator=_positive)
    #: Characters of a path the model gives; a longer one is refused.
    max_path_chars: int = attrs.field(default=4096, validator=_positive)
    #: Folders in a path the model gives (a longer one is refused), and levels below the
    #: searched folder that ``glob`` and ``grep`` enter.
    max_path_depth: int = attrs.field(default=64, validator=_positive)
    #: Directory entries ``glob`` and the pure-Python ``grep`` visit before they stop.
    max_scan_entries: int = attrs.field(default=200_000, validator=_positive)
    #: Matching lines ``grep`` returns at most (files, with ``files_with_matches``).
    max_matches: int = attrs.field(default=200, validator=_positive)
    #: Seconds a ``grep`` may run.
    grep_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: ``None``: use ripgrep when ``rg`` is on PATH; ``False``: always the pure-Python search;
    #: ``True``: require ripgrep; a string: the path of the ``rg`` binary.
    ripgrep: bool | str | None = None
    #: Seconds a bash command may run when the model does not say (it may ask up to the max).
    bash_timeout: float = attrs.field(default=60.0, validator=_positive)
    bash_max_timeout: float = attrs.field(default=600.0, validator=_positive)
    #: Characters of a command's output kept (its beginning and its end).
    bash_output_chars: int = attrs.field(default=30_000, validator=_positive)
    #: Extra environment variables for commands (set as given, even if the name looks secret).
    bash_env: Mapping[str, str] = attrs.field(factory=dict, converter=dict, repr=False)
    #: ``False``: commands get only PATH, HOME, LANG, LC_*, TERM, TMPDIR, USER and ``bash_env``.
    bash_inherit_env: bool = True
    #: The shell that runs commands (``shell -c -- COMMAND``).
    bash_shell: str = "/bin/bash"
    #: Python only: ``approve(command)`` returning False refuses the command.
    bash_approve: Approver | None = None

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None = None, /, **kwargs: Any) -> FilesSettings:
        """Settings from a config table; an unknown key is an error that lists the known ones."""
        values = {**(settings or {}), **kwargs}
        known = {a.name for a in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(
                f"unknown files setting(s) {', '.join(map(repr, unknown))}; known settings: {', '.join(sorted(known))}"
            )
        if "root" in values:
            values["root"] = str(values["root"])
        if values.get("bash_approve") is not None and not callable(values["bash_approve"]):
            raise TypeError("bash_approve must be a callable approve(command) -> bool")
        return cls(**values)
