"""Glob patterns as regular expressions, and the helpers results share (caps, binary sniffing).

Patterns follow the usual rules: ``*`` and ``?`` stay inside one path component, ``**`` spans
any number of components, ``[abc]``/``[!abc]`` are classes and ``{a,b}`` are alternatives.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import NamedTuple

__all__ = ["SKIP_DIRS", "TreeEntry", "cap_text", "compile_glob", "looks_binary", "walk_tree"]

#: Version-control folders: never descended into by glob and grep.
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})

_TEXT_CONTROL = set(range(0x20)) - {0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1B}


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file say it is not text: a NUL, or many control bytes."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b in _TEXT_CONTROL)
    return control / len(head) > 0.1


def cap_text(text: str, limit: int, hint: str) -> str:
    """``text`` cut to ``limit`` characters, at a line end when possible, with a marker saying so."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip("\n") + f"\n[truncated: output capped at {limit} characters; {hint}]"


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex that fully matches the '/'-separated relative paths ``pattern`` matches."""
    return re.compile("(?s:" + _translate(pattern) + r")\Z")


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    at_start = True  # at the start of a path component
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i) and at_start:
            end = i + 2
            if end == n:
                out.append(".*")
                i = end
                continue
            if pattern[end] == "/":
                out.append("(?:[^/]+/)*")
                i = end + 1
                continue
        if c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            at_start = False
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            close = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if close == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : close]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\").replace("/", "") + "]")
                i = close
        elif c == "{":
            close = pattern.find("}", i)
            if close == -1:
                out.append(re.escape(c))
            else:
                alternatives = pattern[i + 1 : close].split(",")
                out.append("(?:" + "|".join(_translate(a) for a in alternatives) + ")")
                i = close
        else:
            out.append(re.escape(c))
        at_start = c == "/"
        i += 1
    return "".join(out)


class TreeEntry(NamedTuple):
    """One entry met by :func:`walk_tree`; ``dir_fd`` is valid until the next entry is asked for."""

    rel: str
    is_dir: bool
    dir_fd: int
    name: str


def walk_tree(
    top: str, *, depth: int | None = None, skip: Callable[[str], bool] | None = None
) -> Iterator[TreeEntry]:
    """Everything under ``top``: relative path, whether a directory, and its parent's descriptor.

    Walks by directory descriptor (:func:`os.fwalk`) and never follows symlinks, so a folder
    swapped for a symlink mid-walk is not entered, and a file opened with ``dir_fd`` and
    ``O_NOFOLLOW`` is the one the walk saw. Symlinks are reported as non-directories;
    ``skip(name)`` true keeps a directory from being entered; ``depth`` limits the levels.
    """
    for dirpath, dirnames, filenames, dfd in os.fwalk(top, follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, top)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        level = prefix.count("/")
        keep = []
        for name in sorted(dirnames):
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode)
            except OSError:
                continue
            yield TreeEntry(prefix + name, not is_link, dfd, name)
            if is_link or name in SKIP_DIRS or (skip is not None and skip(name)):
                continue
            if depth is None or level + 1 < depth:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            yield TreeEntry(prefix + name, False, dfd, name)
