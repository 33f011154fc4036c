"""``dev.sh``, the two set-up commands of the README: the Python check, .venv repair, the build
progress line, and the one place that lists test prerequisites.

``dev.sh`` is run for real on a copy in a temporary folder (``./dev.sh venv`` makes a real
virtual environment; no network is used). Its functions are also sourced and called one by one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="dev.sh is a bash script")

FAKE_310 = """#!/bin/sh
# a Python 3.10 as far as dev.sh can tell
if [ "$1" = "-" ]; then cat >/dev/null; echo "3.10 /usr/bin/python3.10"; exit 0; fi
case "$2" in *version_info*) exit 1;; esac
exit 0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder with a copy of dev.sh, as at the root of a clone."""
    shutil.copy(ROOT / "dev.sh", tmp_path / "dev.sh")
    return tmp_path


def dev_sh(folder: Path, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "VIRTUAL_ENV")}
    environ.update(env)
    return subprocess.run(
        ["bash", str(folder / "dev.sh"), *args], cwd=folder, env=environ, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def fake_python(folder: Path, name: str = "python3.10") -> Path:
    path = folder / name
    path.write_text(FAKE_310)
    path.chmod(0o755)
    return path


def test_an_old_python_is_refused_at_once_with_what_to_do(checkout: Path) -> None:
    old = fake_python(checkout)
    done = dev_sh(checkout, "demo", PYTHON=str(old))
    assert done.returncode == 1
    assert done.stderr.startswith(f"dev.sh: error: '{old}' is Python 3.10; agentkit needs Python >= 3.11")
    assert done.stdout == ""  # nothing was installed, no pip noise
    assert not (checkout / ".venv").exists()


def test_a_python_that_is_not_there_is_named(checkout: Path) -> None:
    done = dev_sh(checkout, "test", PYTHON="no-such-python3")
    assert done.returncode == 1
    assert done.stderr.startswith(
        "dev.sh: error: no Python named 'no-such-python3'; agentkit needs Python >= 3.11"
    )
    assert "./dev.sh test" in done.stderr  # how to run it again with another Python


def python_id(python: Path | str) -> str:
    code = 'import os, sys; print("%d.%d" % sys.version_info[:2], os.path.realpath(sys._base_executable))'
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("state", ["another python", "broken", "no pip"])
def test_a_venv_of_another_python_or_a_broken_one_is_made_again(state: str, checkout: Path) -> None:
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    if state == "another python":
        fake_python(venv_bin, "python")
    elif state == "no pip":  # what `python -m venv` leaves when ensurepip fails
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", "--clear", str(checkout / ".venv")], check=True
        )
    done = dev_sh(checkout, "venv", PYTHON=sys.executable)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    expected = {
        "another python": "==> .venv is Python 3.10 (/usr/bin/python3.10); making it again with Python 3.",
        "broken": "==> .venv is broken (its python does not run): making it again",
        "no pip": "==> .venv has no pip (an earlier attempt failed?): making it again",
    }[state]
    assert first.startswith(expected)
    python = checkout / ".venv" / "bin" / "python"
    assert python_id(python) == python_id(sys.executable)
    subprocess.run([str(python), "-c", "import pip"], check=True)
    again = dev_sh(checkout, "venv", PYTHON=sys.executable)
    assert again.returncode == 0 and again.stdout == ""  # a good .venv is kept as it is


def source_and_run(script: str, stdin: str = "") -> str:
    done = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'dev.sh'}; {script}"], input=stdin, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


PIP_VERBOSE = """\
Collecting llama-cpp-python
  Building wheel for llama-cpp-python (pyproject.toml): started
  *** Building project with Ninja...
  [1/4] /usr/bin/cc -DGGML_USE_CPU -O3 -o vendor/ggml/ggml.c.o -c /tmp/src/vendor/llama.cpp/ggml/src/ggml.c
  [2/4] /usr/bin/c++ -O3 -o src/llama.cpp.o -c /tmp/src/vendor/llama.cpp/src/llama.cpp
  [3/4] /usr/bin/c++ -O3 -o src/llama-model.cpp.o -c /tmp/src/vendor/llama.cpp/src/llama-model.cpp
  [4/4] : && /usr/bin/c++ -shared -o bin/libllama.so src/llama.cpp.o
  Building wheel for llama-cpp-python (pyproject.toml): finished with status 'done'
Successfully installed llama-cpp-python-0.3.36
"""


def test_the_build_of_llama_cpp_is_announced_and_its_progress_shown() -> None:
    out = source_and_run("show_build_progress", PIP_VERBOSE)
    assert out.splitlines() == [
        "    building llama-cpp-python from source (compiling llama.cpp, C/C++: about 6 minutes on 2 cores;"
        " once, pip keeps the wheel)",
        "    [1/4]  25%",
        "    [2/4]  50%",
        "    [3/4]  75%",
        "    [4/4] 100%",
    ]
    assert source_and_run("show_build_progress", "Requirement already satisfied: numpy\n") == ""


def test_test_prerequisites_are_listed_in_one_place() -> None:
    text = (ROOT / "dev.sh").read_text()
    body = text.split("test_prerequisites() {", 1)[1].split("\n}", 1)[0]
    needs = [line.split("#")[0].split() for line in body.splitlines() if line.split("#")[0].strip()]
    assert all(need[0] in ("apt_need", "apt_need_file", "npm_need", ":") for need in needs), needs
    lines = text.splitlines()
    assert lines.count("test_prerequisites() {") == 1 and lines.count("  test_prerequisites") == 1  # one place
    # what is missing is collected, then installed at once (apt needs one update)
    missing = source_and_run('apt_need sh sh-pkg; apt_need no-such-cmd-xyz pkg-xyz; echo "${APT_MISSING[*]}"')
    assert missing.strip() == "pkg-xyz"
    by_file = source_and_run(
        "apt_need_file '/bin/s*' sh-pkg; apt_need_file '/no/such/*/file' pkg-file; echo \"${APT_MISSING[*]}\""
    )
    assert by_file.strip() == "pkg-file"
    npm = source_and_run('npm_need @scope/pkg@1.2; npm_need left-pad; echo "${NPM_MISSING[*]}"')
    assert npm.strip() == "@scope/pkg@1.2 left-pad"
