"""tool_choice: forcing a tool for one round, then letting the model answer."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import ConfigError, tool
from agentkit.testing import tool_calls


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The time in a city."""
    return "noon"


def test_a_forced_tool_holds_for_one_round(scripted_agent: Any) -> None:
    agent = scripted_agent(
        [tool_calls(("get_weather", {"city": "Paris"})), "Sunny."], tools=[get_weather, get_time],
        tool_choice="get_weather",
    )
    result = agent.run("Weather in Paris?")
    first, second = agent.provider.requests
    assert first.tool_choice == "get_weather"
    assert second.tool_choice == "none"  # tool results are in: the model answers
    assert result.text == "Sunny."


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_auto_and_none_hold_for_every_call(scripted_agent: Any, choice: str) -> None:
    agent = scripted_agent([tool_calls(("get_time", {"city": "Oslo"})), "Noon."], tools=[get_time])
    agent.run("Time in Oslo?", tool_choice=choice)
    assert [r.tool_choice for r in agent.provider.requests] == [choice, choice]


def test_required_per_run_override(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("get_time", {"city": "Oslo"})), "Noon."], tools=[get_time])
    agent.run("Time?", tool_choice="required")
    assert [r.tool_choice for r in agent.provider.requests] == ["required", "none"]
    agent.provider.add(tool_calls(("get_time", {"city": "Rome"})), "Noon.")
    agent.run("Time?")  # the override was for that run only
    assert [r.tool_choice for r in agent.provider.requests[2:]] == [None, None]


def test_no_tools_sends_no_tool_choice(scripted_agent: Any) -> None:
    agent = scripted_agent(["hi"], tool_choice="required")
    agent.run("hello")
    assert agent.provider.requests[0].tool_choice is None


def test_unknown_tool_name_is_a_clear_error(scripted_agent: Any) -> None:
    agent = scripted_agent(["x"], tools=[get_time], tool_choice="get_wether")
    with pytest.raises(ConfigError, match="'get_wether', which is not one of this agent's tools \\(get_time\\)"):
        agent.run("hi")
    assert agent.provider.requests == []


def test_bad_type_is_refused_at_construction(scripted_agent: Any) -> None:
    with pytest.raises(ConfigError, match=r"tool_choice: expected 'auto', 'none', 'required' or a tool's name, got an integer"):
        scripted_agent([], tool_choice=3)
