"""Tools the CLI tests name by import path (``cli_tools:get_weather``); this folder is put on
the subprocesses' PYTHONPATH."""

from __future__ import annotations

import time

__all__ = ["explode", "get_weather", "slow"]


def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: the city's name
    """
    return f"sunny in {city}"


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


def slow(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "done"
