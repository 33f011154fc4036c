"""grep under races: a folder or file swapped for a symlink to outside the root, over and over,
while the model's greps run. Whatever the timing, no grep shows what is outside, and every
failure is a ToolError. Both engines: ripgrep searches from the descriptors the path check
opened; the pure-Python search walks by descriptor with O_NOFOLLOW.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.paths import Root
from agentkit_files.search import grep
from agentkit_files.settings import FilesSettings

#: Greps per case: ripgrep is quick; the pure-Python search starts a child process each time.
ROUNDS = {"ripgrep": 400, "python": 100}


@contextlib.contextmanager
def flipping(real: Path, outside: Path) -> Iterator[None]:
    """``real`` becomes a symlink to ``outside`` and back again, as fast as it can, until the end."""
    stash = real.with_name(real.name + ".real")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            os.rename(real, stash)
            os.symlink(outside, real)
            time.sleep(0.0003)
            os.unlink(real)
            os.rename(stash, real)
            time.sleep(0.001)

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


async def raced(root: Root, settings: FilesSettings, path: str) -> tuple[int, int, int]:
    """(greps that saw inside, that failed with a ToolError, that leaked the outside).

    The rest found nothing: the folder was away (renamed, or a symlink that was not entered).
    """
    seen = failed = leaked = 0
    for _ in range(ROUNDS["python" if settings.ripgrep is False else "ripgrep"]):
        try:
            text = await grep(root, settings, "NEEDLE", path)
        except ToolError:
            failed += 1
            continue
        leaked += "SECRET" in text
        seen += "inside" in text
    return seen, failed, leaked


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "race-root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "note.txt").write_text("NEEDLE inside\n")
    (root / "sub" / "file.txt").write_text("NEEDLE inside\n")
    outside = tmp_path / "race-outside"
    (outside / "deeper").mkdir(parents=True)
    (outside / "deeper" / "note.txt").write_text("NEEDLE SECRET outside\n")
    (outside / "file.txt").write_text("NEEDLE SECRET outside\n")
    (outside / "secret.txt").write_text("NEEDLE SECRET outside\n")
    return root, outside


async def test_a_searched_folder_swapped_for_a_symlink_is_never_followed(
    layout: tuple[Path, Path], grep_settings: FilesSettings
) -> None:
    root_dir, outside = layout
    root = Root(root_dir)
    settings = FilesSettings(root=str(root_dir), ripgrep=grep_settings.ripgrep)
    with flipping(root_dir / "sub", outside):
        _seen, _failed, leaked = await raced(root, settings, "sub")
    assert leaked == 0
    assert "inside" in await grep(root, settings, "NEEDLE", "sub")  # and when nothing moves, it finds


async def test_a_searched_file_swapped_for_a_symlink_is_never_followed(
    layout: tuple[Path, Path], grep_settings: FilesSettings
) -> None:
    root_dir, outside = layout
    root = Root(root_dir)
    settings = FilesSettings(root=str(root_dir), ripgrep=grep_settings.ripgrep)
    with flipping(root_dir / "sub" / "file.txt", outside / "file.txt"):
        _seen, _failed, leaked = await raced(root, settings, "sub/file.txt")
    assert leaked == 0
    assert "inside" in await grep(root, settings, "NEEDLE", "sub/file.txt")  # and when nothing moves, it finds


async def test_a_parent_folder_swapped_for_a_symlink_is_never_followed(
    layout: tuple[Path, Path], grep_settings: FilesSettings
) -> None:
    root_dir, outside = layout
    root = Root(root_dir)
    settings = FilesSettings(root=str(root_dir), ripgrep=grep_settings.ripgrep)
    with flipping(root_dir / "sub", outside):
        _seen, _failed, leaked = await raced(root, settings, "sub/deeper")
    assert leaked == 0
    assert "inside" in await grep(root, settings, "NEEDLE", "sub/deeper")  # and when nothing moves, it finds


async def test_a_folder_inside_the_searched_one_swapped_for_a_symlink_is_never_followed(
    layout: tuple[Path, Path], grep_settings: FilesSettings
) -> None:
    root_dir, outside = layout
    root = Root(root_dir)
    settings = FilesSettings(root=str(root_dir), ripgrep=grep_settings.ripgrep)
    with flipping(root_dir / "sub", outside):
        _seen, _failed, leaked = await raced(root, settings, ".")
    assert leaked == 0
    assert "inside" in await grep(root, settings, "NEEDLE", ".")  # and when nothing moves, it finds


async def test_checking_a_path_while_its_link_changes_is_a_tool_error(tmp_path: Path) -> None:
    """realpath reads a link that is being replaced: the error is a ToolError, never an OSError."""
    root_dir = tmp_path / "root"
    (root_dir / "target").mkdir(parents=True)
    root = Root(root_dir)
    stop = threading.Event()
    link = root_dir / "link"
    os.symlink("target", link)

    def churn() -> None:  # "link" is a symlink, then a plain file, then a symlink ... (renames are atomic)
        while not stop.is_set():
            (root_dir / "plain.tmp").write_bytes(b"")
            os.replace(root_dir / "plain.tmp", link)
            os.symlink("target", root_dir / "link.tmp")
            os.replace(root_dir / "link.tmp", link)

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    outcomes: dict[str, int] = {}
    try:
        for _ in range(20_000):
            try:
                root.resolve("link")
                kind = "ok"
            except ToolError as exc:
                kind = "changed" if "changed while being checked" in str(exc) else "ToolError"
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if outcomes.get("changed", 0) >= 3:
                break
    finally:
        stop.set()
        thread.join()
    assert set(outcomes) <= {"ok", "changed", "ToolError"}
    assert outcomes.get("changed", 0) >= 1, f"the race was never hit: {outcomes}"
