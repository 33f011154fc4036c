"""The weather tools. The data is made up: deterministic per city and day, so nothing needs a network."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Literal

import attrs

from agentkit import Tool, tool
from agentkit.errors import ToolError

__all__ = ["DayForecast", "convert_temperature", "make_forecast"]

Units = Literal["celsius", "fahrenheit"]
SKIES = ("sunny", "partly cloudy", "cloudy", "light rain", "showers", "windy")


@attrs.frozen
class DayForecast:
    """One day of a forecast; the model receives it as a JSON object."""

    city: str
    date: str
    sky: str
    high: float
    low: float
    units: Units


def _celsius_to(value: float, units: Units) -> float:
    return round(value * 9 / 5 + 32, 1) if units == "fahrenheit" else round(float(value), 1)


def make_forecast(*, units: Units = "celsius", start: str | None = None) -> Tool:
    """Build the ``forecast`` tool from its settings (``tool_settings={"weather": {...}}``).

    :param units: ``"celsius"`` or ``"fahrenheit"``.
    :param start: the first day as ``YYYY-MM-DD`` (default: today), so tests can pin dates.
    """
    if units not in ("celsius", "fahrenheit"):
        raise ValueError(f"units must be 'celsius' or 'fahrenheit', not {units!r}")
    first = dt.date.fromisoformat(start) if start is not None else None

    @tool
    def forecast(city: str, days: Annotated[int, {"minimum": 1, "maximum": 7}] = 1) -> list[DayForecast]:
        """Get the daily weather forecast for a city.

        Args:
            city: The city, e.g. "Paris".
            days: How many days, starting today (1 to 7).
        """
        name = city.strip()
        if not name:
            raise ToolError("city is empty; give a city name such as 'Paris'", tool="forecast")
        today = first or dt.date.today()
        out = []
        for offset in range(days):
            day = today + dt.timedelta(days=offset)
            seed = hashlib.sha256(f"{name.casefold()}|{day.isoformat()}".encode()).digest()
            high = 8 + seed[0] % 22
            out.append(
                DayForecast(
                    city=name,
                    date=day.isoformat(),
                    sky=SKIES[seed[1] % len(SKIES)],
                    high=_celsius_to(high, units),
                    low=_celsius_to(high - 4 - seed[2] % 8, units),
                    units=units,
                )
            )
        return out

    return forecast


@tool
def convert_temperature(value: float, to: Units) -> float:
    """Convert a temperature between Celsius and Fahrenheit.

    Args:
        value: The temperature to convert.
        to: The unit to convert to (the value is in the other one).
    """
    if to == "fahrenheit":
        return round(value * 9 / 5 + 32, 1)
    return round((value - 32) * 5 / 9, 1)
