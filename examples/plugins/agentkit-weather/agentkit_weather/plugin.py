"""agentkit-weather's hook implementations: only what agentkit calls, nothing heavy at import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import agentkit

if TYPE_CHECKING:
    from agentkit.registry import ToolRegistrar

__all__ = ["register_tools"]


def _forecast(**settings: Any) -> Any:
    from .tools import make_forecast  # imported when an agent first uses the tool

    return make_forecast(**settings)


def _convert_temperature(**_settings: Any) -> Any:
    from .tools import convert_temperature

    return convert_temperature


@agentkit.hookimpl
def register_tools(registry: ToolRegistrar) -> None:
    registry.add_factory(
        "forecast", _forecast, settings_key="weather", description="daily weather forecast for a city"
    )
    registry.add_factory(
        "convert_temperature", _convert_temperature, description="convert between Celsius and Fahrenheit"
    )
    registry.add_set("weather", ["forecast", "convert_temperature"], description="every weather tool")
