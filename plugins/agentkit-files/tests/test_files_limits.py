"""Huge paths and deep trees: a path too long or too deep is refused with a clear error, and
the walks of glob and grep are loops with a depth cap, so a tree thousands of folders deep
(built by some other means) costs neither a RecursionError nor thousands of descriptors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files import file_tools
from agentkit_files.editing import write_file
from agentkit_files.paths import Root
from agentkit_files.reading import glob_paths, list_dir, read_file
from agentkit_files.search import grep
from agentkit_files.settings import FilesSettings


def test_a_path_of_ten_thousand_characters_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    tools = {t.name: t for t in file_tools(root, write=True)}
    path = "a/" * 5000 + "x"
    assert len(path) == 10_001
    with pytest.raises(ToolError, match=r"the path is 10,001 characters long; paths may have at most 4,096 "):
        write_file(Root(root), FilesSettings(root=str(root)), path, "hi")
    with pytest.raises(ToolError, match="max_path_chars"):
        tools["write"].function(path=path, content="hi")
    assert list(root.iterdir()) == []


def test_a_path_too_deep_is_refused_and_one_at_the_limit_works(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    settings = FilesSettings(root=str(root), max_path_depth=8)
    base = Root(root, max_path_depth=8)
    with pytest.raises(ToolError, match=r"the path is 9 folders deep; paths may have at most 8 levels \(max_path_depth\)"):
        write_file(base, settings, "a/" * 8 + "f.txt", "deep")
    assert list(root.iterdir()) == []
    write_file(base, settings, "a/" * 7 + "f.txt", "ok")
    assert read_file(base, settings, "a/" * 7 + "f.txt").endswith("ok")
    with pytest.raises(ToolError, match="max_path_depth"):
        read_file(base, settings, "a/" * 8 + "f.txt")


def test_the_limits_are_settings(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    tools = {t.name: t for t in file_tools(root, write=True, max_path_chars=20)}
    with pytest.raises(ToolError, match="at most 20 "):
        tools["write"].function(path="x" * 21, content="")
    with pytest.raises(ValueError, match="max_path_depth must be a positive number"):
        FilesSettings(max_path_depth=0)


@contextlib.contextmanager
def deep_tree(top: Path, levels: int) -> Iterator[None]:
    """``top/d/d/.../d/needle.txt`` ``levels`` folders deep, made and removed by descriptor
    (its path is far longer than PATH_MAX, and shutil.rmtree would recurse)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fds[-1])
            fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1])
            if len(fds) > 1:
                os.close(fds.pop())
            fds.append(fd)
        leaf = os.open("needle.txt", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fds[-1])
        os.write(leaf, b"NEEDLE at the bottom\n")
        os.close(leaf)
    finally:
        for fd in fds[1:]:
            os.close(fd)
    try:
        yield
    finally:
        _remove_deep(fds[0])
        os.close(fds[0])


def _remove_deep(top_fd: int) -> None:
    """Remove ``d/d/.../d`` one level at a time: the inner folder moves up, the emptied one goes."""
    while True:
        try:
            fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=top_fd)
        except FileNotFoundError:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink("needle.txt", dir_fd=fd)
            try:
                os.rename("d", "d.next", src_dir_fd=fd, dst_dir_fd=top_fd)
                inner = True
            except FileNotFoundError:
                inner = False
        finally:
            os.close(fd)
        os.rmdir("d", dir_fd=top_fd)
        if inner:
            os.rename("d.next", "d", src_dir_fd=top_fd, dst_dir_fd=top_fd)


async def test_glob_and_grep_on_a_tree_1100_folders_deep(tmp_path: Path, grep_settings: FilesSettings) -> None:
    root = tmp_path / "deep-root"
    root.mkdir()
    (root / "top.txt").write_text("NEEDLE at the top\n")
    settings = FilesSettings(root=str(root), ripgrep=grep_settings.ripgrep)
    base = Root(root)
    with deep_tree(root, 1100):
        found = glob_paths(base, settings, "**/*.txt")
        assert found.splitlines()[0] == "top.txt"
        assert "[not entered: 1 folder(s) more than 64 levels down (max_path_depth), such as 'd/d/d/" in found
        text = await grep(base, settings, "NEEDLE")
        assert text.splitlines()[0] == "top.txt:1:NEEDLE at the top"
        assert "at the bottom" not in text
        assert list_dir(base, settings, ".").splitlines() == ["d/", "top.txt  (18 bytes)"]
