"""Real inference through the public Agent API with SmolLM2-135M. Protocol and types, not wording."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import attrs
import pytest

from agentkit import (
    Agent,
    MaxTurnsError,
    ModelRequest,
    ModelResponse,
    RunCompleted,
    RunContext,
    TextDelta,
    ToolCallStarted,
    tool,
)

pytestmark = [pytest.mark.llama, pytest.mark.usefixtures("llama_available")]

MODEL = "llamacpp/smollm2"
PARAMS = {"temperature": 0, "seed": 7, "max_tokens": 48}


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return f"sunny and 24 C in {city}"


def test_chat_answer() -> None:
    result = Agent(MODEL, params=PARAMS).run("What is the capital of France?")
    assert isinstance(result.text, str) and result.text.strip()
    assert result.usage.requests == 1 and result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert [m.role for m in result.messages] == ["user", "assistant"]


def test_forced_tool_call_round_trip() -> None:
    agent = Agent(MODEL, tools=[get_weather], tool_choice="get_weather", params=PARAMS, max_turns=3)
    result = agent.run("What's the weather in Paris?")
    roles = [m.role for m in result.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    call = result.messages[1].tool_calls[0]
    assert call.name == "get_weather" and isinstance(json.loads(call.arguments)["city"], str)
    assert result.messages[2].content.startswith("sunny") and not result.messages[2].is_error
    assert result.text.strip() and result.turns == 2 and result.usage.requests == 2


def test_tool_chosen_by_the_model_with_auto() -> None:
    """With tool_choice auto the grammar lets the model pick a call or a message: either is valid
    protocol; when it calls, the call must name a real tool with schema-valid arguments."""
    agent = Agent(
        MODEL,
        system="You are a weather assistant. Always use the get_weather function.",
        tools=[get_weather],
        tool_choice="auto",
        params=PARAMS,
        max_turns=2,
    )
    try:
        result = agent.run("What's the weather in Tokyo?")
        messages = result.messages
    except MaxTurnsError as error:  # the model kept calling: also a valid outcome of "auto"
        messages = error.partial.messages
    calls = [c for m in messages if m.role == "assistant" for c in m.tool_calls]
    assert calls, "SmolLM2 with this prompt calls the tool (deterministic with seed and temperature 0)"
    for call in calls:
        assert call.name == "get_weather"
        assert isinstance(json.loads(call.arguments)["city"], str)


@dataclass
class City:
    name: str
    country: str
    population: int


def test_structured_output_validates() -> None:
    result = Agent(MODEL, output_type=City, params={**PARAMS, "max_tokens": 64}).run(
        "Describe Paris as JSON with name, country and population."
    )
    assert isinstance(result.output, City)
    assert isinstance(result.output.name, str) and isinstance(result.output.population, int)


def test_streaming_through_the_agent() -> None:
    events = list(Agent(MODEL, params=PARAMS).stream("Say hello."))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    final = events[-1]
    assert isinstance(final, RunCompleted) and final.result.text == "".join(deltas)


def test_streaming_a_tool_turn() -> None:
    agent = Agent(MODEL, tools=[get_weather], tool_choice="get_weather", params=PARAMS, max_turns=3)
    events: list[Any] = list(agent.stream("Weather in Rome?"))
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert started and started[0].name == "get_weather"
    assert isinstance(events[-1], RunCompleted)


def test_max_turns_stops_a_model_that_keeps_calling_tools() -> None:
    """Every call is forced to call the tool (a hook sets tool_choice per call): only max_turns ends it."""

    async def force(ctx: RunContext, request: ModelRequest) -> ModelResponse:
        return await ctx.agent.provider.complete(attrs.evolve(request, tool_choice="get_weather"))

    agent = Agent(MODEL, tools=[get_weather], params=PARAMS, max_turns=2, hooks={"before_model_call": force})
    with pytest.raises(MaxTurnsError) as info:
        agent.run("Weather in Oslo?")
    partial = info.value.partial
    assert partial.turns == 2
    assert [m.role for m in partial.messages] == ["user", "assistant", "tool", "assistant", "tool"]


def test_the_demo_question_is_answered_correctly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What `./dev.sh demo` asks first, as it asks it: the answer names Paris."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    dev_sh = (Path(__file__).resolve().parents[3] / "dev.sh").read_text(encoding="utf-8")
    question = re.search(r'^DEMO_QUESTION="([^"]+)"', dev_sh, re.M).group(1)  # type: ignore[union-attr]
    env = {**os.environ, "AGENTKIT_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-m", MODEL, "-p", "temperature=0", question],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Paris" in proc.stdout and "Traceback" not in proc.stderr, proc.stdout + proc.stderr


def test_an_answer_cut_by_max_tokens_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """finish_reason 'length' reaches the result and the CLI's notice (not a silent stop mid-word)."""
    import os
    import subprocess
    import sys

    from agentkit.cli._render import CUT_NOTICE

    result = Agent(MODEL, params={**PARAMS, "max_tokens": 4}).run("Tell me a long story about a dragon.")
    assert result.finish_reason == "length" and result.usage.output_tokens == 4
    env = {**os.environ, "AGENTKIT_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-m", MODEL, "-p", "max_tokens=4", "Tell me a long story."],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() and CUT_NOTICE in proc.stderr
