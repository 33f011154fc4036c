"""Glob patterns as regular expressions, and the helpers results share (caps, binary sniffing).

Patterns follow the usual rules: ``*`` and ``?`` stay inside one path component, ``**`` spans
any number of components, ``[abc]``/``[!abc]`` are classes and ``{a,b}`` are alternatives.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Generator, Iterator
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


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def walk_tree(
    top_fd: int,
    *,
    depth: int | None = None,
    max_depth: int = 64,
    skip: Callable[[str], bool] | None = None,
    too_deep: list[str] | None = None,
) -> Generator[TreeEntry, None, None]:
    """Everything under the directory open as ``top_fd``: relative path, whether a directory,
    and its parent's descriptor.

    It starts from a descriptor (the one the path check opened), enters each folder by
    descriptor with ``O_NOFOLLOW`` and never follows symlinks, so a folder swapped for a
    symlink mid-walk is not entered, and a file opened with ``dir_fd`` and ``O_NOFOLLOW`` is
    the one the walk saw. Symlinks are reported as non-directories; ``skip(name)`` true keeps
    a directory from being entered; ``depth`` limits the levels. The walk is a loop with one
    open descriptor per level, not a recursion: a folder more than ``max_depth`` levels down
    is listed but not entered (its path goes in ``too_deep``), so a tree 5,000 folders deep
    costs neither a RecursionError nor 5,000 descriptors.

    Order: a folder's subfolders, then its files (each sorted by name), then each subfolder
    in turn, depth first.
    """
    limit = max_depth if depth is None else min(depth, max_depth)
    frames: list[tuple[int, str, int, Iterator[str]]] = []  # (fd, prefix, level, subfolders to enter)
    fd: int | None = os.dup(top_fd)
    prefix, level = "", 0
    try:
        while True:
            if fd is not None:
                folders, files = _listing(fd)
                enter = []
                for name, is_link in folders:
                    yield TreeEntry(prefix + name, not is_link, fd, name)
                    if is_link or name in SKIP_DIRS or (skip is not None and skip(name)):
                        continue
                    if level + 1 < limit:
                        enter.append(name)
                    elif too_deep is not None and (depth is None or level + 1 < depth):
                        too_deep.append(prefix + name)
                for name in files:
                    yield TreeEntry(prefix + name, False, fd, name)
                frames.append((fd, prefix, level, iter(enter)))
                fd = None
            if not frames:
                return
            parent, parent_prefix, parent_level, pending = frames[-1]
            folder = next(pending, None)
            if folder is None:
                frames.pop()
                os.close(parent)
                continue
            try:
                fd = os.open(folder, _DIR_FLAGS, dir_fd=parent)
            except OSError:  # gone, or swapped for a symlink since it was listed: not entered
                continue
            prefix, level = f"{parent_prefix}{folder}/", parent_level + 1
    finally:
        if fd is not None:
            os.close(fd)
        for frame in frames:
            os.close(frame[0])


def _listing(fd: int) -> tuple[list[tuple[str, bool]], list[str]]:
    """A folder's subfolders (with whether each is a symlink) and its other entries, sorted."""
    folders: list[tuple[str, bool]] = []
    files: list[str] = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append((entry.name, False))
                    elif entry.is_symlink() and _links_to_dir(entry.name, fd):
                        folders.append((entry.name, True))
                    else:
                        files.append(entry.name)
                except OSError:  # gone meanwhile
                    continue
    except OSError:
        return [], []
    return sorted(folders), sorted(files)


def _links_to_dir(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
