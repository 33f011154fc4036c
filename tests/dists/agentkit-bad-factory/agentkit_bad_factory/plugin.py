"""A ready tool given where a factory belongs: add_factory refuses it when the plugin loads."""

from typing import Any

import agentkit


@agentkit.tool
def forecast(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@agentkit.hookimpl
def register_tools(registry: Any) -> None:
    registry.add_factory("forecast", forecast, settings_key="weather")
