"""What a plugin's author and its users are told when a plugin goes wrong, with real installed
distributions (``tests/dists``, installed like test_plugins_dists.py does) and the real
``agentkit`` command in a subprocess:

- an import error names the plugin, the file and the line; ``--debug`` adds the traceback;
- each problem is told once (not as a log line and a warning);
- functions named like hooks without ``@hookimpl`` get a warning naming them;
- a name clash says how to keep the plugin the user wants, and following it works;
- a tool factory that is not a factory fails when the plugin loads, naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DISTS = Path(__file__).parent / "dists"
NAMES = (
    "agentkit-demo-plugin",
    "agentkit-broken-import",
    "agentkit-undecorated",
    "agentkit-bad-factory",
    "agentkit-loud-shout",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dists")
    for name in NAMES:
        shutil.copytree(DISTS / name, root / name)
    target = root / "site"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
            "--disable-pip-version-check", "--target", str(target), *(str(root / n) for n in NAMES),
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


def agentkit(
    site: Path, *args: str, only: tuple[str, ...] = NAMES, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    environ.update(
        PYTHONPATH=str(site),
        AGENTKIT_HOME=str(site.parent / "home"),
        AGENTKIT_LOAD_PLUGINS=",".join(only),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args], env=environ, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("agentkit: warning: ")]


def test_an_import_error_names_the_plugin_file_and_line_once(site: Path) -> None:
    done = agentkit(site, "plugins", "--json", only=("agentkit-broken-import",))
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stderr) == [
        "agentkit: warning: agentkit plugin 'agentkit-broken-import' failed to import (ModuleNotFoundError: No module "
        "named 'agentkit_no_such_dependency', at agentkit_broken_import/plugin.py, line 3); it is left out "
        "(--debug shows the traceback)"
    ]
    assert done.stderr.count("agentkit_no_such_dependency") == 1  # told once: no log line besides
    assert "Traceback" not in done.stderr
    info = {p["name"]: p for p in json.loads(done.stdout)}["agentkit-broken-import"]
    assert "at agentkit_broken_import/plugin.py, line 3" in info["error"]


def test_debug_adds_the_whole_traceback(site: Path) -> None:
    done = agentkit(site, "--debug", "plugins", only=("agentkit-broken-import",))
    assert "Traceback (most recent call last)" in done.stderr
    assert 'agentkit_broken_import/plugin.py", line 3, in <module>' in done.stderr
    assert "import agentkit_no_such_dependency" in done.stderr
    assert len(warnings_of(done.stderr)) == 1


def test_hooks_without_hookimpl_are_named(site: Path) -> None:
    done = agentkit(site, "plugins", "--json", only=("agentkit-undecorated",))
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stderr) == [
        "agentkit: warning: agentkit plugin 'agentkit-undecorated' defines register_tools without "
        "@agentkit.hookimpl, so agentkit never calls it (decorate each hook with @agentkit.hookimpl)"
    ]
    info = {p["name"]: p for p in json.loads(done.stdout)}["agentkit-undecorated"]
    assert info["error"] is None and info["registered"] == {"guardrail": ["always_fine"]}  # it still loads


def test_a_tool_factory_that_is_a_ready_tool_fails_when_the_plugin_loads(site: Path) -> None:
    done = agentkit(site, "plugins", "--json", only=("agentkit-bad-factory",))
    assert done.returncode == 0, done.stderr
    (warning,) = warnings_of(done.stderr)
    assert warning.startswith(
        "agentkit: warning: agentkit plugin 'agentkit-bad-factory' failed in register_tools (PluginError: plugin "
        "'agentkit-bad-factory' registered tool factory 'forecast' as a ready Tool; register it with "
        "registry.add(tool)"
    )
    assert "at agentkit_bad_factory/plugin.py, line 16" in warning
    tools = agentkit(site, "tools", "--json", only=("agentkit-bad-factory",))
    assert "forecast" not in {t["name"] for t in json.loads(tools.stdout)["tools"]}


def test_a_name_clash_says_how_to_keep_either_and_it_works(site: Path) -> None:
    both = ("agentkit-demo-plugin", "agentkit-loud-shout")
    done = agentkit(site, "tools", "--json", only=both)
    assert done.returncode == 0, done.stderr
    (warning,) = warnings_of(done.stderr)
    assert warning == (
        "agentkit: warning: tool 'shout' is registered by both 'agentkit-demo-plugin' and 'agentkit-loud-shout'; "
        "'agentkit-demo-plugin''s is used. To use 'agentkit-loud-shout''s, leave 'agentkit-demo-plugin' out with "
        "AGENTKIT_DISABLE_PLUGINS=agentkit-demo-plugin (all it registers goes with it); "
        "AGENTKIT_DISABLE_PLUGINS=agentkit-loud-shout keeps 'agentkit-demo-plugin''s without this warning"
    )
    shout = {t["name"]: t for t in json.loads(done.stdout)["tools"]}["shout"]
    assert shout["plugin"] == "agentkit-demo-plugin"
    switched = agentkit(site, "tools", "--json", only=both, AGENTKIT_DISABLE_PLUGINS="agentkit-demo-plugin")
    assert warnings_of(switched.stderr) == []
    assert {t["name"]: t for t in json.loads(switched.stdout)["tools"]}["shout"][
        "plugin"
    ] == "agentkit-loud-shout"
    kept = agentkit(site, "tools", "--json", only=both, AGENTKIT_DISABLE_PLUGINS="agentkit-loud-shout")
    assert warnings_of(kept.stderr) == []
    assert {t["name"]: t for t in json.loads(kept.stdout)["tools"]}["shout"][
        "plugin"
    ] == "agentkit-demo-plugin"


def test_every_problem_once_in_a_run(site: Path) -> None:
    done = agentkit(site, "run", "-m", "scripted/x", "-p", "x=1", "Hi")  # every plugin, then a run
    told = warnings_of(done.stderr)
    assert len(told) == len(set(told)) == 4, done.stderr  # import, undecorated, bad factory, clash
    assert all(line.count("agentkit plugin") <= 1 for line in told)
