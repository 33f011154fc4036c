"""``agentkit install`` / ``uninstall`` for real: a throwaway virtual environment that sees this
one's packages, a plugin wheel built here, pip run by agentkit, the plugin listed afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from _cli_helpers import path_without_uv

PLUGIN = '''
import agentkit


@agentkit.hookimpl
def register_tools(registry):
    def tiny_echo(text: str) -> str:
        """Echo the text."""
        return text

    registry.add(tiny_echo)
'''


def build_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel with an ``agentkit`` entry point (no build backend needed)."""
    name, version = "agentkit_tinyplug", "0.1.0"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "",
        f"{name}/plugin.py": PLUGIN,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: agentkit-tinyplug\nVersion: {version}\nRequires-Dist: agentkit\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: agentkit-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": "[agentkit]\ntinyplug = agentkit_tinyplug.plugin\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs to run inside a virtual environment")
def test_install_and_uninstall_a_plugin(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # the new environment sees this one's packages (agentkit, pip) but installs into its own
    ours = sysconfig.get_paths()["purelib"]
    (site / "_agentkit_tests_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    wheel = build_wheel(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV", "PIP_", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", AGENTKIT_HOME=str(tmp_path / "home"))
    env["PATH"] = path_without_uv(env.get("PATH"))  # pip owns the new environment (no uv to hand over to)

    def agentkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "agentkit", *args], env=env, capture_output=True, text=True, timeout=120
        )

    done = agentkit("install", str(wheel))
    assert done.returncode == 0, done.stderr
    assert f"agentkit: {python} -m pip install {wheel}" in done.stderr
    assert list(site.glob("agentkit_tinyplug*"))  # landed in the new environment, not in ours
    plugins = {p["name"]: p for p in json.loads(agentkit("plugins", "--json").stdout)}
    assert plugins["agentkit-tinyplug"]["registered"] == {"tool": ["tiny_echo"]}
    assert plugins["agentkit-tinyplug"]["version"] == "0.1.0"

    done = agentkit("uninstall", "-y", "agentkit-tinyplug")
    assert done.returncode == 0, done.stderr
    assert "agentkit-tinyplug" not in {p["name"] for p in json.loads(agentkit("plugins", "--json").stdout)}

    done = agentkit("install", str(tmp_path / "missing-0.1-py3-none-any.whl"))
    assert done.returncode == 8
    assert "agentkit: error: pip install failed (exit code 1)" in done.stderr


@pytest.mark.parametrize("name", ["agentkit", "Agentkit", "agentkit[testing]", "agentkit==0.1.0"])
def test_uninstall_refuses_agentkit_itself(name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    env["AGENTKIT_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "uninstall", "-y", "agentkit-weather", name],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"agentkit uninstall: error: {name!r} is agentkit itself, not a plugin: `agentkit uninstall` removes "
        "plugins, and would leave this command without the program it runs"
    )
    assert lines[1].startswith("hint: to remove agentkit itself, ask the installer: ")
    assert lines[1].endswith(" uninstall agentkit")
    assert metadata.version("agentkit-weather")  # nothing was uninstalled
