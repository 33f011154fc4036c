"""Real distributions: build and install tiny plugins, then load them the way users do.

``tests/dists/`` holds three setuptools projects: a working plugin registering a tool, a
provider and a store, one whose entry-point module cannot be imported, and one whose register
hook raises halfway. They are installed with pip (no network, no build isolation) into a
temporary directory, which a subprocess puts on its path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DISTS = Path(__file__).parent / "dists"
NAMES = ("agentkit-demo-plugin", "agentkit-broken-import", "agentkit-broken-hook")

CHECK = textwrap.dedent(
    """
    import asyncio, json, warnings

    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import agentkit
        from agentkit.plugins import get_host
        from agentkit.tools import resolve_tools

        host = get_host()
        plugins = [
            {"name": i.name, "distribution": i.distribution, "version": i.version, "hooks": list(i.hooks),
             "registered": {k: list(v) for k, v in i.registered.items()}, "error": i.error, "builtin": i.builtin}
            for i in agentkit.list_plugins()
        ]
    out = {"plugins": plugins, "warnings": [str(w.message) for w in caught], "providers": host.registry("provider").names()}
    if "demo" in host.registry("provider"):
        (shout,) = resolve_tools(["shout"])
        out["tool"] = {"plugin": shout.plugin, "result": asyncio.run(shout.invoke(shout.validate('{"text": "hi"}')))}
        provider = host.registry("provider").get("demo").value(base_url=None, api_key=None)
        request = agentkit.ModelRequest(model="echo-1", messages=[agentkit.UserMessage("ping")])
        out["provider"] = asyncio.run(provider.complete(request)).message.content
        store = host.registry("store").get("demo-store").value()
        asyncio.run(store.append("s1", ["hello"]))
        out["store"] = asyncio.run(store.load("s1"))
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The three distributions, built from a copy (the source tree stays clean) and installed."""
    root = tmp_path_factory.mktemp("dists")
    for name in NAMES:
        shutil.copytree(DISTS / name, root / name)
    target = root / "site"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
            "--disable-pip-version-check", "--target", str(target), *(str(root / n) for n in NAMES),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )  # fmt: skip
    return target


def run_check(site: Path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    environ["PYTHONPATH"] = str(site)
    environ["AGENTKIT_HOME"] = str(site.parent / "home")
    environ.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def by_name(out: dict) -> dict[str, dict]:
    return {p["name"]: p for p in out["plugins"]}


def test_installed_plugin_is_listed_and_usable_and_broken_ones_are_reported(site):
    out = run_check(site, AGENTKIT_LOAD_PLUGINS=",".join(NAMES))
    plugins = by_name(out)

    demo = plugins["agentkit-demo-plugin"]
    assert demo["distribution"] == "agentkit-demo-plugin"
    assert demo["version"] == "1.2.3"
    assert demo["hooks"] == ["register_providers", "register_stores", "register_tools"]
    assert demo["registered"] == {"provider": ["demo"], "store": ["demo-store"], "tool": ["shout"]}
    assert demo["error"] is None and demo["builtin"] is False

    assert out["tool"] == {"plugin": "agentkit-demo-plugin", "result": "HI"}
    assert out["provider"] == "echo: ping"
    assert out["store"] == ["hello"]

    broken_import = plugins["agentkit-broken-import"]
    assert "failed to import" in broken_import["error"]
    assert "agentkit_no_such_dependency" in broken_import["error"]
    assert broken_import["version"] == "0.0.1"

    broken_hook = plugins["agentkit-broken-hook"]
    assert "failed in register_providers" in broken_hook["error"]
    assert "the plugin's configuration is missing" in broken_hook["error"]
    assert "half-registered" not in out["providers"]

    warned = "\n".join(out["warnings"])
    assert "'agentkit-broken-import' failed to import" in warned
    assert "'agentkit-broken-hook' failed in register_providers" in warned


def test_without_a_load_list_every_installed_plugin_loads(site):
    plugins = by_name(run_check(site))
    assert {"agentkit-demo-plugin", "agentkit-broken-import", "agentkit-broken-hook"} <= set(plugins)


def test_load_list_restricts_by_distribution_name(site):
    out = run_check(site, AGENTKIT_LOAD_PLUGINS="agentkit_demo_plugin")  # any PEP 503 spelling
    plugins = by_name(out)
    assert "agentkit-demo-plugin" in plugins
    assert not {"agentkit-broken-import", "agentkit-broken-hook"} & set(plugins)
    assert out["warnings"] == []


def test_empty_load_list_loads_only_builtins(site):
    out = run_check(site, AGENTKIT_LOAD_PLUGINS="")
    assert all(p["builtin"] for p in out["plugins"])
    assert out["warnings"] == []


@pytest.mark.parametrize(
    "blocked", ["agentkit-broken-import,agentkit-broken-hook", "broken_import,broken_hook"]
)
def test_disable_list_blocks_by_distribution_or_entry_point_name(site, blocked):
    out = run_check(site, AGENTKIT_LOAD_PLUGINS=",".join(NAMES), AGENTKIT_DISABLE_PLUGINS=blocked)
    assert set(by_name(out)) >= {"agentkit-demo-plugin"}
    assert not {"agentkit-broken-import", "agentkit-broken-hook"} & set(by_name(out))
    assert out["warnings"] == []
    assert out["tool"]["result"] == "HI"
