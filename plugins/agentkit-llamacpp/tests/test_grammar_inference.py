"""The grammar with SmolLM2-135M: every call it writes validates against the tool's schema, with a
prompt that asks for what the schema forbids, at a temperature that makes it wander; runs with
tools end with an answer; the context budget holds between the turns of a long run."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, Literal

import attrs
import pytest

from agentkit import Agent, ModelRequest, ModelResponse, RunContext, tool
from agentkit.context_budget import TRIMMED_RESULT
from agentkit.messages import UserMessage
from agentkit.providers import ToolSpec

pytestmark = [pytest.mark.llama, pytest.mark.usefixtures("llama_available")]

MODEL = "llamacpp/smollm2"


@tool
def forecast(
    city: str,
    days: Annotated[int, {"minimum": 1, "maximum": 7}],
    units: Literal["celsius", "fahrenheit"] = "celsius",
) -> str:
    """Get the daily weather forecast for a city.

    Args:
        city: The city, e.g. "Paris".
        days: How many days, starting today (1 to 7).
        units: celsius or fahrenheit.
    """
    return f"{city}: sunny for {days} days ({units})"


@tool
def convert_temperature(value: float, to: Literal["celsius", "fahrenheit"]) -> float:
    """Convert a temperature between Celsius and Fahrenheit.

    Args:
        value: The temperature to convert.
        to: The unit to convert to.
    """
    return round(value * 9 / 5 + 32, 1) if to == "fahrenheit" else round((value - 32) * 5 / 9, 1)


TOOLS = {t.name: t for t in (forecast, convert_temperature)}
SPECS = [ToolSpec(t.name, t.description, t.spec.parameters) for t in TOOLS.values()]


@pytest.fixture(scope="module")
def provider():  # type: ignore[no-untyped-def]
    from agentkit_llamacpp.provider import LlamaCppProvider

    return LlamaCppProvider()


@pytest.mark.parametrize("choice", ["forecast", "required", "auto"])
def test_every_call_validates_against_its_tools_schema(provider, choice: str) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    calls = []
    for seed in range(4):
        request = ModelRequest(
            "smollm2",
            [UserMessage("Forecast for Paris for the next 12 days, in kelvin, then convert 2.0 degrees.")],
            tools=SPECS,
            tool_choice=choice,
            params={"temperature": 1.0, "seed": seed, "max_tokens": 96},
        )
        response = asyncio.run(provider.complete(request))
        if choice != "auto":
            assert response.message.tool_calls, response.message.content
        if response.finish_reason == "length":
            continue  # a call cut short is not run (the loop says so); none of these needs 96 tokens
        for call in response.message.tool_calls:
            TOOLS[call.name].validate(call.arguments)  # raises ToolArgumentsError when invalid
            calls.append(call)
    assert calls or choice == "auto"


def test_an_agent_with_tools_in_auto_mode_ends_with_an_answer() -> None:
    agent = Agent(
        MODEL,
        system="You are a weather assistant. Use the tools, then answer in one sentence.",
        tools=list(TOOLS.values()),
        params={"temperature": 0, "seed": 3, "max_tokens": 96},
        max_turns=4,
        final_turn="answer",
    )
    result = agent.run("What is the weather in Lisbon for 3 days? Give it in fahrenheit.")
    assert result.text.strip() and result.finish_reason in ("stop", "length")
    for message in result.messages:
        if message.role == "tool":
            assert "Invalid" not in message.content and not message.is_error, message.content


def test_the_context_budget_holds_between_the_turns_of_a_long_run() -> None:
    """Eight forced calls, each result about 150 tokens, in a 768-token window: older results are
    trimmed before each call, no call overflows, and the last turn answers."""

    # each call runs and adds its whole result, repeated or not; the fact's length is bounded (the
    # grammar holds the model to it) so that a rambling 135M model cannot run a call past max_tokens
    @tool(repeatable=True)
    def remember(text: Annotated[str, {"maxLength": 80}]) -> str:
        """Store a fact about the user.

        Args:
            text: The fact.
        """
        return f"Stored: {text}. " + "Filed under preferences, travel, seats and meals. " * 12

    sent_requests: list[ModelRequest] = []

    async def force(ctx: RunContext, request: ModelRequest) -> ModelResponse | None:
        sent_requests.append(request)
        if not request.tools:
            return None  # the final turn: answer
        return await ctx.agent.provider.complete(attrs.evolve(request, tool_choice="remember"))

    agent = Agent(
        MODEL,
        tools=[remember],
        provider_settings={"n_ctx": 768},
        params={"temperature": 0.7, "seed": 1, "max_tokens": 64},
        max_turns=9,
        final_turn="answer",
        hooks={"before_model_call": force},
    )
    result = agent.run("Remember: window seats, vegetarian meals, flies from Lisbon, likes Oslo.")
    assert result.turns == 9
    assert sum(1 for m in result.messages if m.role == "tool") == 8
    assert result.text.strip()
    sent = [m.content for m in sent_requests[-1].messages if m.role == "tool"]
    assert TRIMMED_RESULT in sent and sent[-1].startswith("Stored:")  # older results trimmed, the last whole
    assert result.usage.input_tokens > 2 * 768  # the run as a whole used more than two windows


def test_models_are_closed_at_exit_without_a_traceback() -> None:
    code = (
        "from agentkit import Agent\n"
        "print(Agent('llamacpp/smollm2', params={'max_tokens': 4}).run('Hi').text != None)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
