"""Confinement: every spelling of 'somewhere else' is refused, by every tool."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.editing import edit_file, write_file
from agentkit_files.paths import Root
from agentkit_files.reading import glob_paths, list_dir, read_file
from agentkit_files.search import grep
from agentkit_files.settings import FilesSettings

TRAVERSALS = [
    "..",
    "../outside/secret.txt",
    "../root-evil/secret.txt",
    "src/../../outside/secret.txt",
    "./../outside/secret.txt",
    "src/./../../outside/secret.txt",
    "src//..//..//outside/secret.txt",
    "src/pkg/../../../outside/secret.txt",
]
ABSOLUTE = ["/etc/passwd", "//etc/passwd", "\\etc\\passwd"]


def _refused(exc: pytest.ExceptionInfo[ToolError], *words: str) -> None:
    text = str(exc.value)
    assert any(w in text for w in words), text


@pytest.mark.parametrize("path", TRAVERSALS)
def test_dotdot_is_refused_by_every_tool(root: Root, settings: FilesSettings, path: str) -> None:
    for call in (
        lambda: read_file(root, settings, path),
        lambda: list_dir(root, settings, path),
        lambda: glob_paths(root, settings, "*", path),
        lambda: edit_file(root, settings, path, "OUTSIDE", "x"),
        lambda: write_file(root, settings, path + "/new.txt", "x"),
    ):
        with pytest.raises(ToolError) as exc:
            call()
        _refused(exc, "'..' is not allowed")


@pytest.mark.parametrize("path", ABSOLUTE)
def test_absolute_paths_are_refused(root: Root, settings: FilesSettings, path: str, tree: Path) -> None:
    with pytest.raises(ToolError) as exc:
        read_file(root, settings, path)
    _refused(exc, "absolute paths are not allowed")
    # even an absolute path that happens to be inside the root
    with pytest.raises(ToolError):
        read_file(root, settings, str(tree / "notes.txt"))


@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/outside/secret.txt",
        "..%2foutside%2fsecret.txt",
        "..\\outside\\secret.txt",
        "~/secret.txt",
        "…/x",
    ],
)
def test_other_spellings_stay_literal_names_inside_the_root(
    root: Root, settings: FilesSettings, path: str
) -> None:
    with pytest.raises(ToolError) as exc:
        read_file(root, settings, path)
    _refused(exc, "does not exist")


def test_nul_byte_is_refused(root: Root, settings: FilesSettings) -> None:
    with pytest.raises(ToolError, match="NUL"):
        read_file(root, settings, "notes.txt\x00../../etc/passwd")


async def test_grep_refuses_traversal_and_absolute(root: Root, settings: FilesSettings) -> None:
    for path in ("../outside", "/etc", "src/../../outside"):
        with pytest.raises(ToolError):
            await grep(root, settings, "SECRET", path)
    with pytest.raises(ToolError):
        await grep(root, settings, "x", ".", glob="../*")


def test_sibling_prefix_root_is_not_inside(tree: Path, settings: FilesSettings) -> None:
    root = Root(tree)
    assert not root.contains(str(tree.parent / "root-evil" / "secret.txt"))
    assert root.contains(str(tree / "src"))
    os.symlink(tree.parent / "root-evil" / "secret.txt", tree / "evil-link")
    with pytest.raises(ToolError, match="points outside the root"):
        read_file(root, settings, "evil-link")
    os.symlink(tree.parent / "root-evil", tree / "evil-dir")
    with pytest.raises(ToolError, match="points outside the root"):
        list_dir(root, settings, "evil-dir")


def test_symlink_out_is_refused_symlink_in_is_followed(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "out-file")
    os.symlink(tree.parent / "outside", tree / "src" / "out-dir")
    os.symlink("../notes.txt", tree / "src" / "in-file")
    os.symlink("pkg", tree / "src" / "in-dir")
    for path in ("out-file", "src/out-dir/secret.txt", "src/out-dir"):
        with pytest.raises(ToolError, match="points outside the root"):
            read_file(root, settings, path)
    with pytest.raises(ToolError, match="points outside the root"):
        edit_file(root, settings, "out-file", "OUTSIDE", "pwned")
    with pytest.raises(ToolError, match="points outside the root"):
        write_file(root, settings, "out-file", "pwned", mode="overwrite")
    assert (tree.parent / "outside" / "secret.txt").read_text() == "OUTSIDE SECRET hello\n"
    assert "two" in read_file(root, settings, "src/in-file")
    assert "helper" in read_file(root, settings, "src/in-dir/util.py")


def test_symlink_in_parent_folder_of_a_new_file_is_refused(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    os.symlink(tree.parent / "outside", tree / "escape")
    for path in ("escape/new.txt", "escape/deeper/new.txt"):
        with pytest.raises(ToolError, match="points outside the root"):
            write_file(root, settings, path, "pwned")
    assert not (tree.parent / "outside" / "new.txt").exists()
    assert not (tree.parent / "outside" / "deeper").exists()


def test_dangling_symlinks_are_refused(tree: Path, root: Root, settings: FilesSettings) -> None:
    os.symlink(tree.parent / "outside" / "not-yet.txt", tree / "dangling-out")
    os.symlink(tree / "not-yet.txt", tree / "dangling-in")
    os.symlink(tree / "no-dir", tree / "dangling-dir")
    with pytest.raises(ToolError, match="outside the root"):
        write_file(root, settings, "dangling-out", "pwned")
    with pytest.raises(ToolError, match="dangling symlink"):
        write_file(root, settings, "dangling-in", "pwned")
    with pytest.raises(ToolError, match="dangling symlink"):
        write_file(root, settings, "dangling-dir/new.txt", "pwned")
    with pytest.raises(ToolError, match="dangling symlink"):
        read_file(root, settings, "dangling-in")
    assert not (tree.parent / "outside" / "not-yet.txt").exists()
    assert not (tree / "not-yet.txt").exists()
    assert not (tree / "no-dir").exists()


def test_symlink_loop_is_refused(tree: Path, root: Root, settings: FilesSettings) -> None:
    os.symlink("loop-b", tree / "loop-a")
    os.symlink("loop-a", tree / "loop-b")
    with pytest.raises(ToolError):
        read_file(root, settings, "loop-a")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
async def test_fifo_is_refused_without_blocking(tree: Path, root: Root, settings: FilesSettings) -> None:
    os.mkfifo(tree / "pipe")
    with pytest.raises(ToolError, match="FIFO"):
        read_file(root, settings, "pipe")
    with pytest.raises(ToolError, match="FIFO"):
        edit_file(root, settings, "pipe", "a", "b")
    with pytest.raises(ToolError, match="FIFO"):
        write_file(root, settings, "pipe", "x", mode="overwrite")
    with pytest.raises(ToolError, match="FIFO"):
        await grep(root, settings, "x", "pipe")
    assert "pipe  (FIFO)" in list_dir(root, settings, ".")
    # a folder search walks past it without opening it (this would hang otherwise)
    assert "hello" in await grep(root, settings, "hello", ".")


def test_socket_and_device_are_refused(tree: Path, root: Root, settings: FilesSettings) -> None:
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tree / "sock"))
        with pytest.raises(ToolError, match="socket"):
            read_file(root, settings, "sock")
    finally:
        sock.close()
    try:
        os.mknod(tree / "zero", 0o600 | 0o020000, os.makedev(1, 5))  # a character device like /dev/zero
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here")
    with pytest.raises(ToolError, match="character device"):
        read_file(root, settings, "zero")


def test_a_directory_swapped_for_a_symlink_after_the_check_is_not_followed(tree: Path, root: Root) -> None:
    resolved = root.resolve("src/pkg/util.py")
    (tree / "src" / "pkg").rename(tree / "src" / "pkg-moved")
    os.symlink(tree.parent / "outside", tree / "src" / "pkg")
    (tree.parent / "outside" / "util.py").write_text("outside content\n")
    with pytest.raises(ToolError, match="changed while being opened"), root.open_read(resolved):
        pass


def test_a_file_swapped_for_a_symlink_after_the_check_is_not_followed(tree: Path, root: Root) -> None:
    resolved = root.resolve("notes.txt")
    (tree / "notes.txt").unlink()
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "notes.txt")
    with pytest.raises(ToolError, match="cannot open"), root.open_read(resolved):
        pass


def test_root_is_resolved_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a\n")
    os.symlink(real, tmp_path / "link")
    root = Root(tmp_path / "link")
    assert root.path == str(real)
    settings = FilesSettings(root=str(tmp_path / "link"))
    (tmp_path / "link").unlink()  # repointing the link later changes nothing
    os.symlink(tmp_path, tmp_path / "link")
    assert "a" in read_file(root, settings, "a.txt")


def test_bad_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="cannot be used"):
        Root(tmp_path / "missing")
    (tmp_path / "f").write_text("")
    with pytest.raises(ToolError, match="not a directory"):
        Root(tmp_path / "f")
