"""read, ls and glob: paging, caps with markers, binary refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.paths import Root
from agentkit_files.reading import glob_paths, list_dir, read_file
from agentkit_files.settings import FilesSettings


def test_read_numbers_lines(root: Root, settings: FilesSettings) -> None:
    assert read_file(root, settings, "notes.txt") == "     1\tone\n     2\ttwo\n     3\tthree"


def test_read_pages_by_offset_and_limit(tree: Path, root: Root, settings: FilesSettings) -> None:
    (tree / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    text = read_file(root, settings, "long.txt", offset=10, limit=5)
    assert text.splitlines()[0] == "    10\tline 10"
    assert "    14\tline 14" in text and "line 15" not in text
    assert "Call read with offset=15 to continue" in text
    assert "truncated" not in read_file(root, settings, "long.txt", offset=96)
    with pytest.raises(ToolError, match="past the end"):
        read_file(root, settings, "long.txt", offset=101)
    with pytest.raises(ToolError, match="offset must be"):
        read_file(root, settings, "long.txt", offset=0)


def test_read_caps_lines_and_output(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), max_read_lines=50, max_output_chars=400)
    (tree / "big.txt").write_text("".join(f"row {i}\n" for i in range(200_000)))
    text = read_file(root, settings, "big.txt", limit=10_000)
    assert "[truncated: showing lines 1-" in text
    assert len(text) < 800


def test_read_cuts_a_huge_line_without_reading_it_whole(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), max_line_chars=100)
    with open(tree / "minified.js", "w") as f:
        f.write("a" * 5_000_000 + "\nsecond line\n")
    text = read_file(root, settings, "minified.js")
    first, second = text.splitlines()[:2]
    assert first.endswith("[... line cut]") and len(first) < 200
    assert second == "     2\tsecond line"
    assert "1 long line(s) cut" in text


def test_read_refuses_binary_and_directories(tree: Path, root: Root, settings: FilesSettings) -> None:
    (tree / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ToolError, match="binary file"):
        read_file(root, settings, "image.png")
    with pytest.raises(ToolError, match="is a directory"):
        read_file(root, settings, "src")
    with pytest.raises(ToolError, match="does not exist"):
        read_file(root, settings, "missing.txt")


def test_read_empty_and_non_utf8(tree: Path, root: Root, settings: FilesSettings) -> None:
    (tree / "empty").write_bytes(b"")
    assert "empty" in read_file(root, settings, "empty")
    (tree / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    assert "caf\ufffd" in read_file(root, settings, "latin1.txt")


def test_ls(tree: Path, root: Root, settings: FilesSettings) -> None:
    os.symlink("notes.txt", tree / "alias")
    text = list_dir(root, settings, ".")
    assert text.splitlines() == [
        "README.md  (20 bytes)",
        "alias@  (symlink)",
        "notes.txt  (14 bytes)",
        "src/",
    ]
    assert list_dir(root, settings, "src") == "app.py  (42 bytes)\npkg/"
    with pytest.raises(ToolError, match="not a directory"):
        list_dir(root, settings, "notes.txt")


def test_ls_caps_entries(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), max_entries=10)
    for i in range(30):
        (tree / f"f{i:02}").write_text("")
    lines = list_dir(root, settings, ".").splitlines()
    assert len(lines) == 11
    assert lines[-1].startswith("[truncated: 33 entries, showing the first 10")


def test_glob(tree: Path, root: Root, settings: FilesSettings) -> None:
    assert glob_paths(root, settings, "**/*.py") == "src/app.py\nsrc/pkg/util.py"
    assert glob_paths(root, settings, "*.py", "src") == "src/app.py"
    assert glob_paths(root, settings, "*.{md,txt}") == "README.md\nnotes.txt"
    assert glob_paths(root, settings, "src/*") == "src/app.py\nsrc/pkg/"
    assert "try '**/*.py'" in glob_paths(root, settings, "*.py")


def test_glob_does_not_enter_symlinked_folders_or_git(
    tree: Path, root: Root, settings: FilesSettings
) -> None:
    os.symlink(tree.parent / "outside", tree / "out")
    (tree / ".git" / "objects").mkdir(parents=True)
    (tree / ".git" / "objects" / "x.py").write_text("")
    text = glob_paths(root, settings, "**/*")
    assert "secret" not in text and "out" in text.splitlines()
    assert ".git/objects" not in text


def test_glob_refuses_escaping_patterns(root: Root, settings: FilesSettings) -> None:
    for pattern in ("../*", "/etc/*", "src/../../*"):
        with pytest.raises(ToolError, match="must be relative"):
            glob_paths(root, settings, pattern)


def test_glob_caps_results_and_scanning(tree: Path, root: Root) -> None:
    for i in range(40):
        (tree / f"g{i:02}.txt").write_text("")
    capped = glob_paths(root, FilesSettings(root=str(tree), max_entries=5), "*.txt")
    assert capped.splitlines()[-1].startswith("[truncated: 41 matches, showing the first 5")
    stopped = glob_paths(root, FilesSettings(root=str(tree), max_scan_entries=10), "**/*")
    assert "[stopped after scanning 10 entries" in stopped
