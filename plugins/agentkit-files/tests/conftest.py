from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from agentkit_files.paths import Root
from agentkit_files.settings import FilesSettings


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A root with a few files, and beside it a sibling 'root-evil' and an 'outside' folder."""
    root = tmp_path / "root"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\ndef main():\n    print('hello')\n")
    (root / "src" / "pkg" / "util.py").write_text("def helper():\n    return 42\n")
    (root / "README.md").write_text("# Title\nhello world\n")
    (root / "notes.txt").write_text("one\ntwo\nthree\n")
    evil = tmp_path / "root-evil"
    evil.mkdir()
    (evil / "secret.txt").write_text("EVIL SECRET hello\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE SECRET hello\n")
    return root


@pytest.fixture
def root(tree: Path) -> Root:
    return Root(tree)


@pytest.fixture
def settings(tree: Path) -> FilesSettings:
    return FilesSettings(root=str(tree), ripgrep=False)


def find_rg() -> str | None:
    """rg on PATH, or the one requirements-dev.txt installs beside this Python (the ``ripgrep`` wheel)."""
    return shutil.which("rg") or shutil.which("rg", path=os.path.dirname(sys.executable))


@pytest.fixture(params=["python", "ripgrep"])
def grep_settings(request: pytest.FixtureRequest, tree: Path) -> FilesSettings:
    """Settings for both grep engines. Without rg the ripgrep case is skipped, except in CI
    (``CI=true``), where a missing rg fails: its tests must run there."""
    if request.param == "ripgrep":
        rg = find_rg()
        if rg is None:
            message = "ripgrep is not installed (pip install -r requirements-dev.txt installs the 'ripgrep' wheel)"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        return FilesSettings(root=str(tree), ripgrep=rg)
    return FilesSettings(root=str(tree), ripgrep=False)
