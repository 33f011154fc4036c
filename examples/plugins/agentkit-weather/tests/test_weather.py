"""agentkit-weather's tests: the tools themselves, the plugin as agentkit loads it, and an agent using it.

They use agentkit's pytest plugin (``plugin_host``, ``scripted`` fixtures) and its
ScriptedProvider, so no model and no network are needed.
"""

from __future__ import annotations

import json
from importlib import metadata

import pytest

import agentkit
import agentkit_weather.plugin
from agentkit.errors import ToolArgumentsError, ToolError
from agentkit.plugins import PluginHost
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import resolve_tools
from agentkit_weather.tools import convert_temperature, make_forecast


def test_forecast_is_deterministic_and_honours_its_settings() -> None:
    celsius = make_forecast(start="2025-06-01")
    fahrenheit = make_forecast(units="fahrenheit", start="2025-06-01")
    (day,) = celsius("Paris")
    assert day.date == "2025-06-01" and day.units == "celsius" and day.low < day.high
    assert [(d.sky, d.high) for d in celsius("paris")] == [(day.sky, day.high)]
    (same_day,) = fahrenheit("Paris")
    assert same_day.high == round(day.high * 9 / 5 + 32, 1)
    assert [d.date for d in celsius("Oslo", days=3)] == ["2025-06-01", "2025-06-02", "2025-06-03"]


def test_the_model_sees_a_schema_and_bad_arguments_are_refused() -> None:
    forecast = make_forecast()
    assert forecast.name == "forecast"
    assert forecast.parameters["required"] == ["city"]
    assert forecast.parameters["properties"]["days"]["maximum"] == 7
    with pytest.raises(ToolArgumentsError) as info:
        forecast.validate('{"city": "Paris", "days": 30}')
    assert info.value.errors == ("30 is greater than the maximum of 7 @ $.days",)
    with pytest.raises(ToolError, match="city is empty"):
        forecast(" ")
    with pytest.raises(ValueError, match="units must be"):
        make_forecast(units="kelvin")  # type: ignore[arg-type]


def test_convert_temperature() -> None:
    assert convert_temperature(100, "fahrenheit") == 212
    assert convert_temperature(212, "celsius") == 100
    assert convert_temperature.spec.parameters["properties"]["to"]["enum"] == ["celsius", "fahrenheit"]


def test_the_plugin_registers_its_tools_and_toolset() -> None:
    host = PluginHost(entry_points=False, defaults=False)
    host.register(agentkit_weather.plugin, name="agentkit-weather")
    assert host.registry("tool").by_plugin("agentkit-weather") == ["convert_temperature", "forecast"]
    assert host.registry("toolset").get("weather").value == ("forecast", "convert_temperature")
    tools = resolve_tools(["weather"], host=host, settings={"weather": {"units": "fahrenheit"}})
    assert [t.name for t in tools] == ["forecast", "convert_temperature"]
    assert {t.plugin for t in tools} == {"agentkit-weather"}
    assert tools[0]("Oslo")[0].units == "fahrenheit"


def test_the_installed_entry_point_is_found() -> None:
    (entry_point,) = [ep for ep in metadata.entry_points(group="agentkit") if ep.name == "weather"]
    assert entry_point.value == "agentkit_weather.plugin"
    info = {i.name: i for i in agentkit.list_plugins()}["agentkit-weather"]
    assert info.error is None
    assert info.registered == {"tool": ("convert_temperature", "forecast"), "toolset": ("weather",)}


def test_an_agent_calls_the_tool_by_name(plugin_host: PluginHost) -> None:
    plugin_host.register(agentkit_weather.plugin, name="agentkit-weather")
    provider = ScriptedProvider([tool_calls(("forecast", {"city": "Lisbon", "days": 2})), "Sunny, mostly."])
    agent = agentkit.Agent(
        "scripted/test",
        provider=provider,
        tools=["forecast"],
        tool_settings={"weather": {"start": "2025-06-01"}},
    )
    result = agent.run("Weather in Lisbon this weekend?")
    assert result.text == "Sunny, mostly."
    assert [t.name for t in provider.requests[0].tools] == ["forecast"]
    tool_result = provider.requests[1].messages[-1]
    assert isinstance(tool_result, agentkit.ToolMessage) and not tool_result.is_error
    days = json.loads(tool_result.content)
    assert [d["date"] for d in days] == ["2025-06-01", "2025-06-02"]
    assert {d["city"] for d in days} == {"Lisbon"}
