"""grep with ripgrep and with the pure-Python fallback: same output, same refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.paths import Root
from agentkit_files.search import find_ripgrep, grep
from agentkit_files.settings import FilesSettings


async def test_matches_with_paths_relative_to_the_root(root: Root, grep_settings: FilesSettings) -> None:
    text = await grep(root, grep_settings, "hello")
    assert text.splitlines() == ["README.md:2:hello world", "src/app.py:4:    print('hello')"]
    assert await grep(root, grep_settings, r"def \w+", "src/pkg") == "src/pkg/util.py:1:def helper():"


async def test_options(tree: Path, root: Root, grep_settings: FilesSettings) -> None:
    assert (
        await grep(root, grep_settings, "HELLO", ignore_case=True, files_with_matches=True)
        == "README.md\nsrc/app.py"
    )
    assert await grep(root, grep_settings, "hello", glob="*.py") == "src/app.py:4:    print('hello')"
    assert await grep(root, grep_settings, "hello", glob="!*.py") == "README.md:2:hello world"
    assert await grep(root, grep_settings, "hello", file_type="md") == "README.md:2:hello world"
    assert "no matches" in await grep(root, grep_settings, "nothing-like-this")
    with pytest.raises(ToolError, match="unknown file_type"):
        await grep(root, grep_settings, "x", file_type="nope")


async def test_a_glob_with_a_slash_matches_below_the_searched_folder(root: Root, grep_settings: FilesSettings) -> None:
    assert await grep(root, grep_settings, "helper", "src", glob="pkg/*.py") == "src/pkg/util.py:1:def helper():"
    assert await grep(root, grep_settings, "helper", "src", glob="pkg/*.py", files_with_matches=True) == (
        "src/pkg/util.py"
    )


async def test_context_lines(tree: Path, root: Root, grep_settings: FilesSettings) -> None:
    (tree / "ctx.txt").write_text("a\nb\nMATCH 1\nc\nd\ne\nf\nMATCH 2\ng\n")
    text = await grep(root, grep_settings, "MATCH", "ctx.txt", context=1)
    assert text.splitlines() == [
        "ctx.txt-2-b",
        "ctx.txt:3:MATCH 1",
        "ctx.txt-4-c",
        "--",
        "ctx.txt-7-f",
        "ctx.txt:8:MATCH 2",
        "ctx.txt-9-g",
    ]


@pytest.mark.parametrize("pattern", ["-f/etc/passwd", "--pre=sh", "--files", "-e", "--help"])
async def test_option_looking_patterns_are_searched_for_literally(
    tree: Path, root: Root, grep_settings: FilesSettings, pattern: str
) -> None:
    (tree / "tricky.txt").write_text(f"before\nsee {pattern} here\nafter\n")
    text = await grep(root, grep_settings, pattern)
    assert text == f"tricky.txt:2:see {pattern} here"
    assert "root:" not in text  # /etc/passwd was not read as a pattern file


async def test_option_looking_globs_and_paths_stay_arguments(
    tree: Path, root: Root, grep_settings: FilesSettings
) -> None:
    (tree / "--pre=sh").write_text("hello from a strange name\n")
    (tree / "-n").mkdir()
    (tree / "-n" / "f.txt").write_text("hello in a dash folder\n")
    assert await grep(root, grep_settings, "hello", "--pre=sh") == "--pre=sh:1:hello from a strange name"
    assert await grep(root, grep_settings, "hello", "-n") == "-n/f.txt:1:hello in a dash folder"
    assert "no matches" in await grep(root, grep_settings, "hello", glob="--pre=sh*x")


async def test_symlinks_hidden_and_binary_are_skipped(
    tree: Path, root: Root, grep_settings: FilesSettings
) -> None:
    os.symlink(tree.parent / "outside" / "secret.txt", tree / "leak.txt")
    os.symlink(tree.parent / "outside", tree / "leakdir")
    os.symlink(tree.parent / "root-evil", tree / "evil")
    (tree / ".hidden").mkdir()
    (tree / ".hidden" / "h.txt").write_text("SECRET hidden\n")
    (tree / "bin.dat").write_bytes(b"SECRET\x00\x01\x02")
    text = await grep(root, grep_settings, "SECRET")
    assert "no matches" in text
    with pytest.raises(ToolError, match="points outside the root"):
        await grep(root, grep_settings, "SECRET", "leakdir")


async def test_caps_matches_and_long_lines(tree: Path, root: Root, grep_settings: FilesSettings) -> None:
    (tree / "many.txt").write_text("".join(f"hit {i}\n" for i in range(1000)))
    (tree / "wide.txt").write_text("x" * 100_000 + " WIDE\n")
    settings = FilesSettings(
        root=grep_settings.root, ripgrep=grep_settings.ripgrep, max_matches=5, max_line_chars=50
    )
    text = await grep(root, settings, "hit", "many.txt")
    assert text.splitlines()[:5] == [f"many.txt:{i + 1}:hit {i}" for i in range(5)]
    assert "[truncated: showing the first 5 matching lines" in text
    wide = await grep(root, settings, "x+ WIDE", "wide.txt")
    assert wide.startswith("wide.txt:1:xxxx") and len(wide) < 200
    (tree / "extra.txt").write_text("hit\n")
    files = await grep(root, settings, "hello|hit|def|import|one", files_with_matches=True)
    assert files.splitlines()[:5] == ["README.md", "extra.txt", "many.txt", "notes.txt", "src/app.py"]
    assert "[truncated: showing the first 5 files" in files


async def test_oversized_files_are_skipped(tree: Path, root: Root, grep_settings: FilesSettings) -> None:
    (tree / "huge.log").write_text("needle\n" + "y" * 5000)
    settings = FilesSettings(root=grep_settings.root, ripgrep=grep_settings.ripgrep, max_file_bytes=1000)
    assert "no matches" in await grep(root, settings, "needle")


async def test_invalid_regex_is_a_clear_error(root: Root, grep_settings: FilesSettings) -> None:
    with pytest.raises(ToolError, match="grep failed"):
        await grep(root, grep_settings, "(unclosed")


async def test_fallback_when_ripgrep_is_absent(
    monkeypatch: pytest.MonkeyPatch, tree: Path, root: Root
) -> None:
    monkeypatch.setenv("PATH", str(tree))  # no rg here
    settings = FilesSettings(root=str(tree))
    assert find_ripgrep(settings) is None
    assert "README.md:2:hello world" in await grep(root, settings, "hello")
    with pytest.raises(ToolError, match="'rg' is not on PATH"):
        find_ripgrep(FilesSettings(root=str(tree), ripgrep=True))


async def test_timeout(tree: Path, root: Root, grep_settings: FilesSettings) -> None:
    for i in range(50):
        (tree / f"f{i}.txt").write_text("a" * 30 + "\n")
    settings = FilesSettings(root=grep_settings.root, ripgrep=grep_settings.ripgrep, grep_timeout=1e-6)
    with pytest.raises(ToolError, match="did not finish"):
        await grep(root, settings, "(a*)*b")
