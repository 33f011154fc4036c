"""Where the loop applies guardrails: instructions, input, output, and around every tool call."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from agentkit import GuardrailTripwireError, RunContext, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.guardrails import Guardrail, Verdict
from agentkit.testing import tool_calls
from agentkit.tools import tool

ran: list[dict[str, Any]] = []


@tool
def transfer(amount: int, to: str) -> str:
    """Send money."""
    ran.append({"amount": amount, "to": to})
    return f"sent {amount} to {to}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    ran.clear()


class Redact(Guardrail):
    name = "redact"

    def instructions(self) -> str:
        return "Never reveal account numbers."

    async def check_input(self, text: str, ctx: RunContext | None) -> Verdict:
        return Verdict.rewrite(text.replace("1234-5678", "[ACCOUNT]")) if "1234-5678" in text else Verdict.allow()

    async def check_output(self, text: str, ctx: RunContext | None) -> Verdict:
        return Verdict.rewrite(text.replace("secret", "[redacted]")) if "secret" in text else Verdict.allow()


class Tripwire(Guardrail):
    name = "tripwire"

    def __init__(self, on: str) -> None:
        self.on = on

    async def check_input(self, text: str, ctx: RunContext | None) -> Verdict:
        return Verdict.tripwire("bad input") if self.on == "input" else Verdict.allow()

    async def check_output(self, text: str, ctx: RunContext | None) -> Verdict:
        return Verdict.tripwire("bad output") if self.on == "output" else Verdict.allow()

    async def check_tool_call(self, call: ToolCall, ctx: RunContext | None) -> Verdict:
        return Verdict.tripwire("bad call") if self.on == "tool" else Verdict.allow()


class Limit(Guardrail):
    """Refuses big transfers, caps medium ones, and masks results."""

    name = "limit"

    async def check_tool_call(self, call: ToolCall, ctx: RunContext | None) -> Verdict:
        args = json.loads(call.arguments)
        if args["amount"] > 1000:
            return Verdict.refuse("transfers over 1000 need a human")
        if args["amount"] > 100:
            return Verdict.rewrite(json.dumps({**args, "amount": 100}))
        return Verdict.allow()

    async def check_tool_result(self, call: ToolCall, result: ToolMessage, ctx: RunContext | None) -> Verdict:
        return Verdict.rewrite(result.content.replace("bob", "b**")) if "bob" in result.content else Verdict.allow()


def test_instructions_join_the_system_prompt(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"], system="You are a bank.", guardrails=[Redact()])
    agent.run("hi")
    assert agent.provider.requests[0].messages[0] == SystemMessage("You are a bank.\n\nNever reveal account numbers.")


def test_input_rewrite_is_what_is_sent_and_stored(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"], guardrails=[Redact()])
    result = agent.run("my account is 1234-5678")
    assert agent.provider.requests[0].messages[-1] == UserMessage("my account is [ACCOUNT]")
    assert result.messages[0] == UserMessage("my account is [ACCOUNT]")


def test_input_tripwire_means_no_model_and_no_tool_call(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("transfer", {"amount": 1, "to": "x"}))], tools=[transfer],
                           guardrails=[Tripwire("input")])
    with pytest.raises(GuardrailTripwireError) as info:
        agent.run("hi")
    assert info.value.guardrail == "tripwire"
    assert agent.provider.requests == []
    assert ran == []


def test_output_rewrite_replaces_the_stored_answer(scripted_agent: Any) -> None:
    agent = scripted_agent(["the secret is out"], guardrails=[Redact()])
    result = agent.run("tell me")
    assert result.text == "the [redacted] is out"
    assert result.output == "the [redacted] is out"
    assert result.messages[-1].content == "the [redacted] is out"


def test_output_rewrite_of_structured_output_is_parsed_again(scripted_agent: Any) -> None:
    @attrs.frozen
    class Note:
        text: str

    agent = scripted_agent(['{"text": "a secret"}'], output_type=Note, guardrails=[Redact()],
                           provider_options={"structured_output": True})
    result = agent.run("note")
    assert result.output == Note("a [redacted]")


def test_output_tripwire(scripted_agent: Any) -> None:
    agent = scripted_agent(["anything"], guardrails=[Tripwire("output")])
    with pytest.raises(GuardrailTripwireError, match="bad output"):
        agent.run("hi")


def test_tool_guardrails_refuse_rewrite_and_mask(scripted_agent: Any) -> None:
    script = [
        tool_calls(("transfer", {"amount": 5000, "to": "eve"}), ("transfer", {"amount": 500, "to": "bob"})),
        "done",
    ]
    agent = scripted_agent(script, tools=[transfer], guardrails=[Limit()])
    result = agent.run("pay")
    assert ran == [{"amount": 100, "to": "bob"}]
    refused, capped = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert refused.is_error and "transfers over 1000 need a human" in refused.content
    assert capped.content == "sent 100 to b**"


def test_tool_tripwire_stops_the_run(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("transfer", {"amount": 1, "to": "x"}))], tools=[transfer],
                           guardrails=[Tripwire("tool")])
    with pytest.raises(GuardrailTripwireError, match="bad call"):
        agent.run("pay")
    assert ran == []


def test_guardrails_by_registered_name(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"], guardrails=[{"name": "instruction", "text": "Be kind."}])
    agent.run("hi")
    assert agent.provider.requests[0].messages[0] == SystemMessage("Be kind.")
