"""edit and write: exact matches, explicit modes, atomic replacement keeping mode and newlines."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.editing import edit_file, write_file
from agentkit_files.paths import Root
from agentkit_files.settings import FilesSettings


def test_edit_replaces_a_unique_match(tree: Path, root: Root, settings: FilesSettings) -> None:
    result = edit_file(root, settings, "src/app.py", "print('hello')", "print('bye')")
    assert result == "edited src/app.py: replaced 1 occurrence (at line 4)"
    assert (tree / "src" / "app.py").read_text() == "import os\n\ndef main():\n    print('bye')\n"


def test_edit_missing_and_ambiguous_matches_are_errors(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    (tree / "dup.txt").write_text("x = 1\ny = 2\nx = 1\n")
    with pytest.raises(ToolError, match="not found"):
        edit_file(root, settings, "dup.txt", "z = 3", "z = 4")
    with pytest.raises(ToolError, match=r"occurs 2 times .*lines 1, 3.*replace_all"):
        edit_file(root, settings, "dup.txt", "x = 1", "x = 9")
    assert (tree / "dup.txt").read_text() == "x = 1\ny = 2\nx = 1\n"
    assert "replaced 2 occurrences" in edit_file(
        root, settings, "dup.txt", "x = 1", "x = 9", replace_all=True
    )
    assert (tree / "dup.txt").read_text() == "x = 9\ny = 2\nx = 9\n"
    with pytest.raises(ToolError, match="must not be empty"):
        edit_file(root, settings, "dup.txt", "", "x")
    with pytest.raises(ToolError, match="the same"):
        edit_file(root, settings, "dup.txt", "y", "y")


def test_edit_keeps_crlf_newlines_and_mode(tree: Path, root: Root, settings: FilesSettings) -> None:
    path = tree / "win.txt"
    path.write_bytes(b"first\r\nsecond\r\nthird\r\n")
    os.chmod(path, 0o751)
    inode = path.stat().st_ino
    edit_file(root, settings, "win.txt", "second\nthird", "2nd\nmore\nthird")
    assert path.read_bytes() == b"first\r\n2nd\r\nmore\r\nthird\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in tree.iterdir() if "agentkit-tmp" in p.name) == []


def test_edit_keeps_lf_files_lf(tree: Path, root: Root, settings: FilesSettings) -> None:
    edit_file(root, settings, "notes.txt", "two\n", "2\r\n")
    assert (tree / "notes.txt").read_bytes() == b"one\n2\r\nthree\n"


def test_edit_through_an_inside_symlink_changes_the_target(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    os.symlink("notes.txt", tree / "alias")
    edit_file(root, settings, "alias", "two", "TWO")
    assert (tree / "alias").is_symlink()
    assert (tree / "notes.txt").read_text() == "one\nTWO\nthree\n"


def test_edit_refuses_binary_and_oversized(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), max_file_bytes=100)
    (tree / "blob").write_bytes(b"\x00\x01abc")
    with pytest.raises(ToolError, match="binary"):
        edit_file(root, settings, "blob", "abc", "def")
    (tree / "large.txt").write_text("x" * 200)
    with pytest.raises(ToolError, match="over the 100-byte limit"):
        edit_file(root, settings, "large.txt", "x", "y", replace_all=True)


def test_write_create_and_overwrite_are_explicit(tree: Path, root: Root, settings: FilesSettings) -> None:
    assert write_file(root, settings, "new/deep/file.txt", "hi\n") == "created new/deep/file.txt (3 bytes)"
    assert (tree / "new" / "deep" / "file.txt").read_text() == "hi\n"
    with pytest.raises(ToolError, match="already exists; pass mode='overwrite'"):
        write_file(root, settings, "notes.txt", "clobber")
    assert (tree / "notes.txt").read_text() == "one\ntwo\nthree\n"
    os.chmod(tree / "notes.txt", 0o640)
    assert write_file(root, settings, "notes.txt", "new", mode="overwrite") == "overwrote notes.txt (3 bytes)"
    assert (tree / "notes.txt").read_text() == "new"
    assert stat.S_IMODE((tree / "notes.txt").stat().st_mode) == 0o640
    with pytest.raises(ToolError, match="does not exist; pass mode='create'"):
        write_file(root, settings, "ghost.txt", "x", mode="overwrite")
    with pytest.raises(ToolError, match="mode must be"):
        write_file(root, settings, "x.txt", "x", mode="append")
    with pytest.raises(ToolError, match="not a directory"):
        write_file(root, settings, "notes.txt/child", "x")
    with pytest.raises(ToolError, match="not the root"):
        write_file(root, settings, ".", "x")


def test_write_caps_size(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), max_file_bytes=10)
    with pytest.raises(ToolError, match="over the 10-byte limit"):
        write_file(root, settings, "big.txt", "x" * 11)
    assert not (tree / "big.txt").exists()


def test_create_never_clobbers_a_file_that_appears_meanwhile(tree: Path, root: Root) -> None:
    resolved = root.resolve("race.txt", must_exist=False)
    (tree / "race.txt").write_text("theirs")
    with pytest.raises(ToolError, match="already exists"):
        root.write_file(resolved, b"mine", replace=False)
    assert (tree / "race.txt").read_text() == "theirs"


def test_long_names_and_unwritable_folders_are_clear_errors(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    long_name = "n" * 250
    write_file(root, settings, long_name, "a")
    assert "edited" in edit_file(root, settings, long_name, "a", "b")
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    (tree / "locked").mkdir()
    (tree / "locked" / "f.txt").write_text("x")
    os.chmod(tree / "locked", 0o500)
    try:
        with pytest.raises(ToolError, match=r"cannot write 'locked/f\.txt'"):
            edit_file(root, settings, "locked/f.txt", "x", "y")
    finally:
        os.chmod(tree / "locked", 0o700)
