"""``agentkit --help`` stays fast: it imports no plugin and no heavy library (not timed here;
``bench/cli_startup.py`` measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("httpx", "httpcore", "jsonschema", "tiktoken", "pluggy", "cattrs", "llama_cpp", "numpy")
AGENTKIT_HEAVY = ("agentkit.plugins", "agentkit.config", "agentkit.agent", "agentkit.loop", "agentkit.tools")

PROBE = """
import json, sys
from agentkit.cli import main
code = main(sys.argv[1:])
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _plugin_modules() -> set[str]:
    from importlib import metadata

    return {ep.value.split(".")[0] for ep in metadata.entry_points(group="agentkit")}


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["run", "--help"], ["chat", "--help"], ["sessions", "list", "--help"], ["config", "--help"]],
)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    modules = set(report["modules"])
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert loaded == []
    assert sorted(modules & set(AGENTKIT_HEAVY)) == []
    plugins = _plugin_modules()
    assert sorted(m for m in modules if m.split(".")[0] in plugins) == []
    assert "usage: agentkit" in done.stdout


def test_python_dash_m_and_console_script() -> None:
    done = subprocess.run([sys.executable, "-m", "agentkit", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: agentkit" in done.stdout
    script = Path(sys.executable).parent / "agentkit"
    if script.exists():
        done = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith("agentkit ")
