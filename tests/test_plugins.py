"""The plugin host with ad-hoc plugins: registration, clashes, broken plugins, introspection."""

from __future__ import annotations

import types
import warnings

import pluggy
import pytest

import agentkit
from agentkit import plugins
from agentkit.errors import PluginError
from agentkit.hookspecs import hookimpl
from agentkit.plugins import PluginHost, PluginInfo, get_host, set_host
from agentkit.registry import PluginWarning, ProviderRegistrar, Registry


def bare_host(**kwargs) -> PluginHost:
    return PluginHost(entry_points=False, defaults=False, **kwargs)


class Weather:
    """A plugin object registering one of everything."""

    calls = 0

    @hookimpl
    def register_providers(self, registry):
        type(self).calls += 1
        registry.add("weather-llm", lambda **s: ("provider", s), env_var="WEATHER_API_KEY", description="LLM")

    @hookimpl
    def register_tools(self, registry):
        def forecast(city: str) -> str:
            """Forecast for a city."""
            return f"sunny in {city}"

        registry.add(forecast)
        registry.add_set("weather", ["forecast"])

    @hookimpl
    def register_stores(self, registry):
        registry.add("weather-store", dict)
        registry.add_cache("weather-cache", dict)

    @hookimpl
    def register_memory(self, registry):
        registry.add("weather-memory", dict)

    @hookimpl
    def register_guardrails(self, registry):
        registry.add("no-rain", dict)

    @hookimpl
    def register_token_counters(self, registry):
        registry.add("weather-tokens", len, models="weather-llm/*")

    @hookimpl
    def register_config_sections(self, registry):
        registry.add("weather", {"type": "object"})


def test_registries_are_filled_on_first_read_not_at_construction():
    Weather.calls = 0
    host = bare_host()
    host.register(Weather(), name="agentkit-weather")
    assert Weather.calls == 0
    entry = host.registry("provider").get("weather-llm")
    assert Weather.calls == 1
    assert entry.plugin == "agentkit-weather"
    assert entry.extra == {"env_var": "WEATHER_API_KEY", "base_url": None}
    assert entry.value(x=1) == ("provider", {"x": 1})
    host.registry("tool")
    assert Weather.calls == 1


def test_every_kind_records_its_plugin():
    host = bare_host()
    host.register(Weather(), name="agentkit-weather")
    expected = {
        "provider": ["weather-llm"],
        "tool": ["forecast"],
        "toolset": ["weather"],
        "store": ["weather-store"],
        "cache": ["weather-cache"],
        "memory": ["weather-memory"],
        "guardrail": ["no-rain"],
        "token_counter": ["weather-tokens"],
        "config_section": ["weather"],
    }
    for kind, names in expected.items():
        registry = host.registry(kind)
        assert registry.names() == names
        assert all(e.plugin == "agentkit-weather" for e in registry)
    tool = host.registry("tool").get("forecast").value()
    assert isinstance(tool, agentkit.Tool) and tool.plugin == "agentkit-weather"
    with pytest.raises(KeyError, match="unknown registry kind 'providers'"):
        host.registry("providers")


def test_a_plugin_registered_after_the_first_read_is_collected_at_once():
    host = bare_host()
    assert host.registry("provider").names() == []
    host.register(Weather(), name="late")
    assert host.registry("provider").names() == ["weather-llm"]


def test_name_clash_warns_naming_both_plugins_and_first_wins():
    class Other:
        @hookimpl
        def register_providers(self, registry):
            registry.add("weather-llm", lambda **s: "other")

    host = bare_host()
    host.register(Weather(), name="agentkit-weather")
    host.register(Other(), name="agentkit-other")
    with pytest.warns(PluginWarning) as record:
        entry = host.registry("provider").get("weather-llm")
    assert entry.plugin == "agentkit-weather"
    (message,) = [str(w.message) for w in record]
    assert "'agentkit-weather'" in message and "'agentkit-other'" in message
    assert "AGENTKIT_DISABLE_PLUGINS=agentkit-other" in message


def test_a_plugin_may_replace_its_own_registration_silently():
    class Twice:
        @hookimpl
        def register_providers(self, registry):
            registry.add("p", lambda **s: 1)
            registry.add("p", lambda **s: 2)

    host = bare_host()
    host.register(Twice(), name="twice")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert host.registry("provider").get("p").value() == 2


def test_a_register_hook_that_raises_is_reported_and_leaves_nothing_behind():
    class Broken:
        @hookimpl
        def register_stores(self, registry):  # succeeds, but its plugin is broken: dropped too
            registry.add("broken-store", dict)

        @hookimpl
        def register_providers(self, registry):
            registry.add("half", lambda **s: None)
            raise RuntimeError("config missing")

    host = bare_host()
    host.register(Broken(), name="agentkit-broken")
    host.register(Weather(), name="agentkit-weather")
    with pytest.warns(
        PluginWarning, match=r"'agentkit-broken' failed in register_providers \(RuntimeError: config"
    ):
        names = host.registry("provider").names()
    assert names == ["weather-llm"]
    assert host.registry("store").names() == ["weather-store"]
    assert "agentkit-broken" in host.failures
    info = {i.name: i for i in host.plugins()}["agentkit-broken"]
    assert info.error is not None and "config missing" in info.error


def test_an_invalid_name_is_a_plugin_failure():
    class BadName:
        @hookimpl
        def register_stores(self, registry):
            registry.add("with/slash", dict)

    host = bare_host()
    host.register(BadName(), name="bad-name")
    with pytest.warns(PluginWarning, match="invalid name 'with/slash'"):
        assert host.registry("store").names() == []


def test_registering_a_plugin_with_an_unknown_hook_is_refused():
    class Typo:
        @hookimpl
        def register_tool(self, registry): ...

    host = bare_host()
    with pytest.raises(PluginError, match="unknown hook\\(s\\) register_tool"):
        host.register(Typo(), name="typo")
    assert not host.pm.has_plugin("typo")


def test_an_optional_hook_of_another_plugin_is_allowed():
    class Optional:
        @pluggy.HookimplMarker("agentkit")(optionalhook=True)
        def not_yet_defined(self): ...

    host = bare_host()
    host.register(Optional(), name="optional")


def test_plugins_can_add_their_own_hookspecs():
    spec_module = types.ModuleType("weather_hookspecs")
    marker = pluggy.HookspecMarker("agentkit")

    def weather_units() -> list[str]:
        """Units.

        The return value is a list of unit names.
        """
        return []

    spec_module.weather_units = marker(weather_units)

    class Extensible:
        @hookimpl
        def add_hookspecs(self, plugin_manager):
            plugin_manager.add_hookspecs(spec_module)

    class Extension:
        @hookimpl
        def weather_units(self):
            return ["kelvin"]

    host = bare_host()
    host.register(Extensible(), name="extensible")
    host.register(Extension(), name="extension")
    assert host.pm.hook.weather_units() == [["kelvin"]]


def test_builtins_load_first_and_can_be_disabled():
    host = PluginHost(entry_points=False)
    names = [i.name for i in host.plugins()]
    assert names[: len(plugins.DEFAULT_PLUGINS)] == [
        "agentkit:" + m.rsplit(".", 1)[-1] for m in plugins.DEFAULT_PLUGINS
    ]
    assert all(i.builtin and i.distribution == "agentkit" for i in host.plugins())

    for spelling in ("guardrails", "agentkit:guardrails", "agentkit.default_plugins.guardrails"):
        host = PluginHost(entry_points=False, environ={"AGENTKIT_DISABLE_PLUGINS": f"nothing, {spelling}"})
        assert "agentkit:guardrails" not in [i.name for i in host.plugins()]


def test_empty_load_list_loads_no_installed_plugin():
    host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": ""})
    assert all(info.builtin for info in host.plugins())


def test_unknown_name_in_load_list_is_reported_with_what_is_installed():
    with pytest.warns(
        PluginWarning, match=r"'agentkit-nope' is named in AGENTKIT_LOAD_PLUGINS but is not installed"
    ):
        host = PluginHost(defaults=False, environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-nope"})
    assert "agentkit-nope" in host.failures
    assert host.plugins()[-1].error is not None


def test_plugin_info_describes_hooks_and_registrations():
    host = bare_host()
    host.register(Weather(), name="agentkit-weather")
    (info,) = host.plugins()
    assert isinstance(info, PluginInfo)
    assert info.name == "agentkit-weather"
    assert info.builtin is False and info.error is None
    assert "register_providers" in info.hooks and "register_tools" in info.hooks
    assert info.hooks == tuple(sorted(info.hooks))
    assert info.registered["provider"] == ("weather-llm",)
    assert info.registered["toolset"] == ("weather",)


def test_process_host_is_built_once_and_replaceable(monkeypatch):
    monkeypatch.setenv("AGENTKIT_LOAD_PLUGINS", "")  # whatever else is installed in this environment
    mine = bare_host()
    old = set_host(mine)
    try:
        assert get_host() is mine is get_host()
        assert agentkit.list_plugins() == mine.plugins()
        set_host(None)
        fresh = get_host()
        assert fresh is not mine and get_host() is fresh
    finally:
        set_host(old)


def test_registry_get_of_unknown_name_suggests_and_lists():
    registry: Registry[object] = Registry("provider")
    ProviderRegistrar({"provider": registry}, "agentkit-openai").add("openai", dict)
    with pytest.raises(PluginError) as info:
        registry.get("opnai")
    assert (
        str(info.value)
        == "unknown provider 'opnai' (did you mean 'openai'?); installed: openai (agentkit-openai)"
    )
    with pytest.raises(PluginError, match="no plugin provides a store"):
        Registry("store").get("sqlite")
    assert "openai" in registry and len(registry) == 1
    assert [e.name for e in registry] == ["openai"] and registry.by_plugin("agentkit-openai") == ["openai"]


def test_blocked_plugin_cannot_be_registered():
    host = bare_host()
    host.pm.set_blocked("nope")
    with pytest.raises(PluginError, match="blocked"):
        host.register(Weather(), name="nope")
