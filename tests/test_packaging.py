"""Every project of the repository builds without a warning: SPDX license strings (PEP 639),
and the setuptools that understands them.

``license = { text = ... }`` made each of the nine projects print a 13-line deprecation notice
on every install (``./dev.sh demo`` showed ~470 lines of them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".tox", "build", "node_modules"}


def projects() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP and not d.startswith(".") and not d.endswith(".egg-info")
        )
        if "pyproject.toml" in files:
            found.append(Path(folder))
    return found


def test_the_projects_are_found() -> None:
    names = {p.name for p in projects()}
    assert {"agentkit-openai", "agentkit-llamacpp", "agentkit-weather", "agentkit-demo-plugin"} <= names
    assert ROOT in projects()


@pytest.mark.parametrize("project", projects(), ids=lambda p: str(p.relative_to(ROOT)) or "agentkit")
def test_license_is_an_spdx_string_and_setuptools_understands_it(project: Path) -> None:
    data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    license = data["project"].get("license")
    assert license is None or license == "Apache-2.0", license  # not { text = ... }
    (requirement,) = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=([\d.]+)", requirement)
    assert minimum and tuple(map(int, minimum[1].split("."))) >= (77, 0, 3), requirement  # PEP 639 support


def test_the_test_extra_brings_that_setuptools() -> None:
    """The docs' tutorial projects are built without build isolation, with the setuptools installed."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "setuptools>=77.0.3" in data["project"]["optional-dependencies"]["test"]


BUILD = """
import sys, warnings
from setuptools import build_meta
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    build_meta.build_wheel(sys.argv[1])
for w in caught:
    print(f"caught {w.category.__name__}: {str(w.message).splitlines()[0]}")
"""


@pytest.mark.parametrize("name", ["agentkit-weather", "agentkit-files"])
def test_a_project_builds_without_a_warning(name: str, tmp_path: Path) -> None:
    source = next(p for p in projects() if p.name == name)
    copy = tmp_path / name
    shutil.copytree(
        source, copy, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", "tests")
    )
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(tmp_path / "dist")], cwd=copy, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "dist").glob("*.whl"))
    caught = [line for line in done.stdout.splitlines() if line.startswith("caught ")]
    assert caught == []  # no warning at all
    assert "deprecated" not in (done.stdout + done.stderr).lower()
