"""pytest fixtures for agentkit and for authors of agentkit plugins.

They come with the ``agentkit`` pytest plugin (entry point ``pytest11``), so any test suite
in an environment where agentkit is installed can use them without a conftest:

- ``agentkit_home``: a private ``AGENTKIT_HOME`` directory for the test (stores, caches and
  config written there, never to ``~/.agentkit``);
- ``plugin_host``: a fresh :class:`~agentkit.PluginHost` with the built-in plugins only,
  installed as the process's host for the test and restored afterwards. Register the plugin
  under test with ``plugin_host.register(my_plugin_module)``;
- ``scripted``: builds a :class:`~agentkit.testing.ScriptedProvider` from script items;
- ``scripted_agent``: builds an :class:`~agentkit.Agent` answering from a script; its
  provider (with the recorded requests) is ``agent.provider``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["agentkit_home", "plugin_host", "scripted", "scripted_agent"]


@pytest.fixture
def agentkit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``AGENTKIT_HOME`` for this test."""
    home = tmp_path / "agentkit-home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("AGENTKIT_HOME", str(home))
    return home


@pytest.fixture
def plugin_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh plugin host (built-ins only, no entry points), installed for this test."""
    from agentkit.plugins import PluginHost, set_host

    monkeypatch.delenv("AGENTKIT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("AGENTKIT_DISABLE_PLUGINS", raising=False)
    host = PluginHost(entry_points=False)
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)


@pytest.fixture
def scripted() -> Callable[..., Any]:
    """``scripted("Hi!", tool_calls(("add", {"a": 1})), structured_output=True)``: a ScriptedProvider."""
    from agentkit.testing.scripted import ScriptedProvider

    def make(*script: Any, **options: Any) -> ScriptedProvider:
        return ScriptedProvider(list(script), **options)

    return make


@pytest.fixture
def scripted_agent(plugin_host: Any) -> Callable[..., Any]:
    """``scripted_agent(["Hi!"], tools=[...], **agent_options)``: an Agent on a ScriptedProvider.

    Provider options go in ``provider_options={...}``; the provider is ``agent.provider``.
    """
    from agentkit.agent import Agent
    from agentkit.testing.scripted import ScriptedProvider

    def make(script: Any = (), *, provider_options: dict[str, Any] | None = None, **options: Any) -> Agent:
        options.setdefault("plugin_host", plugin_host)
        provider = ScriptedProvider(list(script), **(provider_options or {}))
        return Agent(options.pop("model", "scripted/test"), provider=provider, **options)

    return make
