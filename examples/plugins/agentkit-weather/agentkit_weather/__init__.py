"""agentkit-weather: an example third-party tool plugin for agentkit.

Installed, it gives every agent the tools ``forecast`` and ``convert_temperature`` and the
toolset ``weather`` (both)::

    Agent("openai/gpt-4o-mini", tools=["weather"], tool_settings={"weather": {"units": "fahrenheit"}})

The forecasts are made-up demo data, the same for the same city and day, so examples and
tests run offline. Importing this package imports nothing: agentkit loads
:mod:`agentkit_weather.plugin` through its entry point, and the tools load on first use.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
