"""What keeps a small model's run finite and honest, for every provider: the loop guard
(an identical call is answered from its earlier result), ``final_turn="answer"``, the context
budget held between the turns of a run, and ``finish_reason`` in the result."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    ConfigError,
    MaxTurnsError,
    RunCompleted,
    SystemMessage,
    ToolCallResult,
    ToolMessage,
    tool,
)
from agentkit.context_budget import TRIMMED_RESULT
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tokens import count_message_tokens, count_tokens

CALLS: list[dict[str, Any]] = []


@tool
def convert_temperature(value: float, to: str) -> str:
    """Convert a temperature.

    Args:
        value: The temperature.
        to: "celsius" or "fahrenheit".
    """
    CALLS.append({"value": value, "to": to})
    return f"{value * 9 / 5 + 32:.1f} F" if to == "fahrenheit" else f"{(value - 32) * 5 / 9:.1f} C"


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def tool_results(result: Any) -> list[ToolMessage]:
    return [m for m in result.messages if isinstance(m, ToolMessage)]


# -- the loop guard ------------------------------------------------------------------------------


def test_an_identical_call_is_answered_from_the_earlier_result() -> None:
    provider = ScriptedProvider(
        [
            tool_calls(("convert_temperature", {"value": 2.0, "to": "fahrenheit"})),
            # the same call, its arguments in another order and spacing: still the same call
            tool_calls(("convert_temperature", '{ "to": "fahrenheit",  "value": 2.0 }')),
            "2 C is 35.6 F.",
        ]
    )
    agent = Agent("scripted/m", provider=provider, tools=[convert_temperature])
    result = agent.run("2 C in F?")
    assert result.text == "2 C is 35.6 F."
    assert CALLS == [{"value": 2.0, "to": "fahrenheit"}]  # the tool ran once
    first, second = tool_results(result)
    assert first.content == "35.6 F" and not first.is_error
    assert second.tool_call_id == "call_1" and not second.is_error
    assert "already called convert_temperature with exactly these arguments" in second.content
    assert "35.6 F" in second.content
    # the model was sent the note with the earlier result
    assert provider.requests[2].messages[-1] == second


def test_different_arguments_run_again() -> None:
    provider = ScriptedProvider(
        [
            tool_calls(("convert_temperature", {"value": 2.0, "to": "fahrenheit"})),
            tool_calls(("convert_temperature", {"value": 3.0, "to": "fahrenheit"})),
            "done",
        ]
    )
    Agent("scripted/m", provider=provider, tools=[convert_temperature]).run("x")
    assert [c["value"] for c in CALLS] == [2.0, 3.0]


def test_identical_calls_in_one_turn_run_once() -> None:
    provider = ScriptedProvider(
        [
            tool_calls(
                ("convert_temperature", {"value": 1.0, "to": "fahrenheit"}),
                ("convert_temperature", {"value": 1.0, "to": "fahrenheit"}),
            ),
            "done",
        ]
    )
    events = list(Agent("scripted/m", provider=provider, tools=[convert_temperature]).stream("x"))
    assert len(CALLS) == 1
    results = [e.result for e in events if isinstance(e, ToolCallResult)]
    assert [r.tool_call_id for r in results] == ["call_1", "call_2"]  # every call answered once
    assert results[0].content == "33.8 F" and "already called" in results[1].content


def test_a_failed_call_may_be_repeated() -> None:
    attempts = []

    @tool
    def flaky(city: str) -> str:
        """Fails the first time."""
        attempts.append(city)
        if len(attempts) == 1:
            raise TimeoutError("upstream slow")
        return "sunny"

    script = [tool_calls(("flaky", {"city": "Oslo"})), tool_calls(("flaky", {"city": "Oslo"})), "sunny"]
    result = Agent("scripted/m", provider=ScriptedProvider(script), tools=[flaky]).run("x")
    assert attempts == ["Oslo", "Oslo"]
    assert [m.is_error for m in tool_results(result)] == [True, False]


def test_a_repeatable_tool_runs_every_time() -> None:
    ticks = iter(range(10))

    @tool(repeatable=True)
    def clock() -> int:
        """The time."""
        return next(ticks)

    script = [tool_calls(("clock", {}))] * 3 + ["done"]
    result = Agent("scripted/m", provider=ScriptedProvider(script), tools=[clock]).run("x")
    assert [m.content for m in tool_results(result)] == ["0", "1", "2"]


def test_the_guard_turns_a_repeating_model_into_a_finished_run_with_final_turn() -> None:
    """The model of the issue: the same call again and again. With final_turn it still answers."""
    call = tool_calls(("convert_temperature", {"value": 2.0, "to": "fahrenheit"}))

    def model(request: Any) -> Any:
        return call if request.tools else "2 C is 35.6 F."

    provider = ScriptedProvider([model], repeat_last=True)
    agent = Agent("scripted/m", provider=provider, tools=[convert_temperature], max_turns=5)
    with pytest.raises(MaxTurnsError):  # the default stays: max_turns ends it with an error
        agent.run("2 C in F?")
    assert len(CALLS) == 1  # but the tool ran once, not five times
    result = agent.run("2 C in F?", final_turn="answer")
    assert result.text == "2 C is 35.6 F." and result.turns == 5
    assert len(CALLS) == 2  # once per run


# -- final_turn ----------------------------------------------------------------------------------


def test_final_turn_answer_makes_the_last_call_one_without_tools() -> None:
    script = [tool_calls(("convert_temperature", {"value": float(i), "to": "fahrenheit"})) for i in range(2)]
    provider = ScriptedProvider([*script, "From what I found: 33.8 F."])
    agent = Agent(
        "scripted/m", provider=provider, tools=[convert_temperature], max_turns=3, final_turn="answer"
    )
    result = agent.run("convert")
    assert result.text == "From what I found: 33.8 F." and result.turns == 3
    assert [bool(r.tools) for r in provider.requests] == [True, True, False]
    last = provider.requests[-1]
    assert last.tool_choice is None
    assert isinstance(last.messages[-1], SystemMessage) and "final answer now" in last.messages[-1].content
    # the note is sent, not stored
    assert not any(isinstance(m, SystemMessage) for m in result.messages)


def test_final_turn_from_the_config_file(tmp_path: Any) -> None:
    from agentkit.config import load_config

    path = tmp_path / "agentkit.toml"
    path.write_text(
        '[agents.a]\nmodel = "scripted/m"\nmax_turns = 2\nfinal_turn = "answer"\n', encoding="utf-8"
    )
    agent = load_config(path).agent("a", provider=ScriptedProvider(["hi"]))
    assert agent.settings.final_turn == "answer"
    path.write_text('[agents.a]\nmodel = "scripted/m"\nfinal_turn = "last"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path).agent("a", provider=ScriptedProvider(["hi"]))
    assert "final_turn" in str(info.value)


def test_final_turn_must_be_answer() -> None:
    with pytest.raises(ConfigError, match=r"final_turn: expected one of 'answer', got a string \('yes'\)") as info:
        Agent("scripted/m", provider=ScriptedProvider([]), final_turn="yes")
    assert info.value.key_path == "final_turn"


def test_final_turn_keeps_structured_output_working() -> None:
    """Without native structured output the answer is a final_answer call: the last turn keeps
    that tool (and only that one)."""
    provider = ScriptedProvider(
        [
            tool_calls(("convert_temperature", {"value": 1.0, "to": "fahrenheit"})),
            tool_calls(("final_answer", {"fahrenheit": 33.8})),
        ],
        structured_output=False,
    )
    agent = Agent(
        "scripted/m",
        provider=provider,
        tools=[convert_temperature],
        output_type={
            "type": "object",
            "properties": {"fahrenheit": {"type": "number"}},
            "required": ["fahrenheit"],
        },
        max_turns=2,
        final_turn="answer",
    )
    result = agent.run("1 C?")
    assert result.output == {"fahrenheit": 33.8}
    assert [t.name for t in provider.requests[-1].tools] == ["final_answer"]


# -- finish_reason -------------------------------------------------------------------------------


def test_an_answer_cut_by_the_length_limit_says_so() -> None:
    cut = AssistantMessage("The capital of France is Par", finish_reason="length")
    result = Agent("scripted/m", provider=ScriptedProvider([cut])).run("Capital of France?")
    assert result.finish_reason == "length"
    assert Agent("scripted/m", provider=ScriptedProvider(["Paris."])).run("?").finish_reason == "stop"
    events = list(Agent("scripted/m", provider=ScriptedProvider([cut])).stream("?"))
    assert isinstance(events[-1], RunCompleted) and events[-1].result.finish_reason == "length"


def test_the_cli_says_when_an_answer_was_cut(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit.cli._render import CUT_NOTICE, EventPrinter

    cut = AssistantMessage("The capital of France is Par", finish_reason="length")
    printer = EventPrinter()
    for event in Agent("scripted/m", provider=ScriptedProvider([cut])).stream("?"):
        printer.event(event)
    printer.close()
    out, err = capsys.readouterr()
    assert out == "The capital of France is Par\n"
    assert err == CUT_NOTICE + "\n" and "max_tokens" in err
    printer = EventPrinter(json_lines=True)
    for event in Agent("scripted/m", provider=ScriptedProvider([cut])).stream("?"):
        printer.event(event)
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["result"]["finish_reason"] == "length"


# -- the context budget across a run -------------------------------------------------------------


def test_the_budget_holds_between_the_turns_of_a_run() -> None:
    """persistent_chat.py on a 2,048-token model: eleven `remember` calls in one run. Every
    request fits the window with max_tokens kept free; older results are shortened first, the
    user's message and the latest result stay whole."""
    window, max_tokens = 2048, 256
    stored: list[str] = []

    @tool
    def remember(text: str) -> str:
        """Store a fact about the user."""
        stored.append(text)
        return f"Remembered: {text}. " + "Details of what was stored. " * 30

    script = [tool_calls(("remember", {"text": f"fact number {i}"})) for i in range(11)] + [
        "Noted, all of it."
    ]
    provider = ScriptedProvider(script, context_window=window)
    agent = Agent(
        "scripted/m",
        provider=provider,
        system="You are a travel concierge. " * 20,
        tools=[remember],
        params={"max_tokens": max_tokens},
        max_turns=15,
    )
    result = agent.run("Please remember these eleven facts about me.")
    assert result.text == "Noted, all of it." and len(stored) == 11
    spec = remember.spec
    tools_cost = count_tokens(
        json.dumps({"name": spec.name, "description": spec.description, "parameters": dict(spec.parameters)}),
        "scripted/m",
    )
    assert len(provider.requests) == 12
    for request in provider.requests:
        assert count_message_tokens(request.messages, "scripted/m") + tools_cost <= window - max_tokens
        assert request.messages[1].text == "Please remember these eleven facts about me."
        last = request.messages[-1]
        if isinstance(last, ToolMessage):
            assert last.content.startswith("Remembered:")  # the latest result is whole
    last_request = provider.requests[-1].messages
    assert any(isinstance(m, ToolMessage) and m.content == TRIMMED_RESULT for m in last_request)
    # every call still has its result: nothing was split
    calls = sum(len(m.tool_calls) for m in last_request if isinstance(m, AssistantMessage))
    assert calls == sum(1 for m in last_request if isinstance(m, ToolMessage))
    # the stored run is whole: shortening is for the request only
    assert all(m.content.startswith("Remembered:") for m in tool_results(result))
