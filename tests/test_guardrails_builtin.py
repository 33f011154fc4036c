"""The built-in guardrails, each through the apply_* functions the loop calls."""

from __future__ import annotations

import asyncio
import json
import sys
import threading

import pytest

import agentkit.default_plugins.guardrails as builtin_guardrails
from agentkit.default_plugins.guardrails import PiiRedactor, luhn_ok
from agentkit.errors import ConfigError, GuardrailTripwireError
from agentkit.guardrails import (
    apply_input,
    apply_output,
    apply_tool_call,
    apply_tool_result,
    resolve_guardrails,
    system_instructions,
)
from agentkit.messages import SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.plugins import PluginHost
from agentkit.run_context import RunContext

#: Where test_approval_callback_by_import_path finds its callback.
APPROVED: list[str] = []


def approve_reads(call: ToolCall) -> bool:
    APPROVED.append(call.name)
    return call.name.startswith("read")


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost(entry_points=False, defaults=False)
    h.register(builtin_guardrails, name="agentkit.default_plugins.guardrails")
    return h


@pytest.fixture
def ctx() -> RunContext:
    return RunContext(agent=None, run_id="run-1", model="openai/gpt-4", session_id="s1")


def build(host: PluginHost, spec):
    return resolve_guardrails([spec], host=host)


def call(name: str, **arguments) -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=json.dumps(arguments))


# -- instruction ------------------------------------------------------------------------------------


def test_instruction(host: PluginHost) -> None:
    guardrails = build(host, {"name": "instruction", "text": "  Don't discuss politics.  "})
    assert system_instructions(guardrails) == "Don't discuss politics."
    with pytest.raises(ConfigError, match="text must be the instruction"):
        build(host, {"name": "instruction", "text": ""})
    with pytest.raises(ConfigError, match="missing 1 required positional argument: 'text'"):
        build(host, "instruction")


# -- blocked_words ----------------------------------------------------------------------------------


async def test_blocked_words_trips_on_whole_words_case_insensitively(
    host: PluginHost, ctx: RunContext
) -> None:
    guardrails = build(host, {"name": "blocked_words", "words": ["ass", "C++"]})
    history = [SystemMessage("You are a tutor."), UserMessage("Which class should I take?")]
    assert await apply_input(guardrails, history, ctx) == history  # "class" is not "ass"
    with pytest.raises(GuardrailTripwireError, match="the input contains the blocked word 'ass'") as info:
        await apply_input(guardrails, [UserMessage("You are an ASS.")], ctx)
    assert info.value.guardrail == "blocked_words"
    with pytest.raises(GuardrailTripwireError, match=r"blocked word 'C\+\+'"):
        await apply_output(guardrails, "Use c++ for that.", ctx)


async def test_blocked_words_mask_and_patterns(host: PluginHost, ctx: RunContext) -> None:
    stars = build(
        host, {"name": "blocked_words", "words": ["darn"], "patterns": [r"project\s+\w+"], "action": "mask"}
    )
    assert (
        await apply_output(stars, "Darn, Project  Falcon slipped.", ctx) == "****, *************** slipped."
    )
    fixed = build(host, {"name": "blocked_words", "words": ["darn"], "action": "mask", "mask": "[removed]"})
    assert await apply_output(fixed, "darn it, DARN", ctx) == "[removed] it, [removed]"


async def test_blocked_words_stages(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(host, {"name": "blocked_words", "words": ["secret"], "on": ["output", "tool_result"]})
    assert await apply_input(guardrails, [UserMessage("tell me the secret")], ctx) == [
        UserMessage("tell me the secret")
    ]
    result = ToolMessage(tool_call_id="call_read", name="read", content="the secret is 42")
    with pytest.raises(GuardrailTripwireError, match="the tool result contains the blocked word"):
        await apply_tool_result(guardrails, call("read"), result, ctx)


def test_blocked_words_bad_options(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match="give the words and/or patterns"):
        build(host, "blocked_words")
    with pytest.raises(ConfigError, match=r"pattern '\(unclosed' is not a valid regular expression"):
        build(host, {"name": "blocked_words", "patterns": ["(unclosed"]})
    with pytest.raises(
        ConfigError, match="action='block' is not supported; use one of tripwire, mask, rewrite"
    ):
        build(host, {"name": "blocked_words", "words": ["x"], "action": "block"})
    with pytest.raises(ConfigError, match="words must be a list of non-empty strings"):
        build(host, {"name": "blocked_words", "words": ["x", 3]})


# -- max_input_length -------------------------------------------------------------------------------


async def test_max_input_length_characters(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(host, {"name": "max_input_length", "max_chars": 20})
    assert await apply_input(guardrails, [UserMessage("short")], ctx) == [UserMessage("short")]
    with pytest.raises(GuardrailTripwireError, match="the input is 21 characters; the limit is 20"):
        await apply_input(guardrails, [UserMessage("x" * 21)], ctx)


async def test_max_input_length_tokens_with_the_runs_model(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(host, {"name": "max_input_length", "max_tokens": 5})
    # "tiktoken is great!" is 6 tokens in cl100k_base (gpt-4).
    with pytest.raises(GuardrailTripwireError, match="the input is 6 tokens; the limit is 5"):
        await apply_input(guardrails, [UserMessage("tiktoken is great!")], ctx)
    assert await apply_input(guardrails, [UserMessage("hello there")], ctx) == [UserMessage("hello there")]


def test_max_input_length_needs_a_limit(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match="give max_chars and/or max_tokens"):
        build(host, "max_input_length")
    with pytest.raises(ConfigError, match="max_chars must be a whole number >= 1; got 0"):
        build(host, {"name": "max_input_length", "max_chars": 0})


# -- pii_redactor -----------------------------------------------------------------------------------


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005") and luhn_ok("5555555555554444")
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail bob.smith+news@mail.example.co.uk now.", "Mail [EMAIL] now."),
        ("Call +1 (415) 555-2671 or 020 7946 0958.", "Call [PHONE] or [PHONE]."),
        ("Call +44 20 7946 0958, or 415.555.2671!", "Call [PHONE], or [PHONE]!"),
        ("My number: 4155552671", "My number: [PHONE]"),
        ("Card 4111 1111 1111 1111 expires 12/27", "Card [CARD] expires 12/27"),
        ("Amex 3782-822463-10005 please", "Amex [CARD] please"),
        ("Card 4111111111111111.", "Card [CARD]."),
    ],
)
def test_pii_is_redacted(text: str, expected: str) -> None:
    assert PiiRedactor().redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Meeting on 2024-05-13 at 10:30, room 12.",
        "Server 192.168.100.200 is down.",
        "Order 123456 costs $1,234.56.",
        "Not a card: 4111 1111 1111 1112",  # fails the Luhn check, too long for a phone number
        "version 1.22.3 and issue #4521",
        "user@localhost is not an address with a domain",
    ],
)
def test_pii_redactor_leaves_other_numbers_alone(text: str) -> None:
    assert PiiRedactor().redact(text) == (text, {})


async def test_pii_redactor_rewrites_input_output_and_tool_results(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(host, "pii_redactor")
    out = await apply_input(guardrails, [UserMessage("I'm ann@example.org, call 415-555-2671")], ctx)
    assert out == [UserMessage("I'm [EMAIL], call [PHONE]")]
    assert await apply_output(guardrails, "Charged 5555 5555 5555 4444.", ctx) == "Charged [CARD]."
    result = ToolMessage(tool_call_id="call_lookup", name="lookup", content='{"email": "ann@example.org"}')
    redacted = await apply_tool_result(guardrails, call("lookup"), result, ctx)
    assert redacted.content == '{"email": "[EMAIL]"}' and json.loads(redacted.content)


async def test_pii_redactor_tripwire_and_kinds(host: PluginHost, ctx: RunContext) -> None:
    emails_only = build(
        host, {"name": "pii_redactor", "kinds": ["email"], "action": "tripwire", "on": "input"}
    )
    assert await apply_input(emails_only, [UserMessage("call 415-555-2671")], ctx) == [
        UserMessage("call 415-555-2671")
    ]
    assert await apply_output(emails_only, "ann@example.org", ctx) == "ann@example.org"  # output not checked
    with pytest.raises(GuardrailTripwireError) as info:
        await apply_input(emails_only, [UserMessage("write to ann@example.org and bo@example.org")], ctx)
    assert "personal data (2 email addresses)" in str(info.value)
    assert "ann@example.org" not in str(info.value)
    with pytest.raises(ConfigError, match="kinds='ssn' is not a kind of PII"):
        build(host, {"name": "pii_redactor", "kinds": ["ssn"]})


# -- tool_allowlist ---------------------------------------------------------------------------------


async def test_tool_allowlist(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(
        host, {"name": "tool_allowlist", "allow": ["read_*", "search"], "deny": ["read_secrets"]}
    )
    assert await apply_tool_call(guardrails, call("read_file", path="a.txt"), ctx) == call(
        "read_file", path="a.txt"
    )
    refused = await apply_tool_call(guardrails, call("delete_file", path="a.txt"), ctx)
    assert isinstance(refused, ToolMessage) and refused.is_error
    assert "'delete_file' is not allowed here (allowed tools: read_*, search)" in refused.content
    denied = await apply_tool_call(guardrails, call("read_secrets"), ctx)
    assert isinstance(denied, ToolMessage) and "'read_secrets' is not allowed here" in denied.content


async def test_tool_allowlist_deny_only(host: PluginHost, ctx: RunContext) -> None:
    guardrails = build(host, {"name": "tool_allowlist", "deny": ["bash"]})
    assert isinstance(await apply_tool_call(guardrails, call("read_file"), ctx), ToolCall)
    assert isinstance(await apply_tool_call(guardrails, call("bash"), ctx), ToolMessage)
    with pytest.raises(ConfigError, match="give the tools to allow and/or to deny"):
        build(host, "tool_allowlist")


# -- approval ---------------------------------------------------------------------------------------


async def test_approval_sync_callback_runs_in_a_thread(host: PluginHost, ctx: RunContext) -> None:
    asked: list[tuple[str, bool]] = []

    def ask(c: ToolCall) -> bool:
        asked.append((c.name, threading.current_thread() is threading.main_thread()))
        return json.loads(c.arguments).get("path") != "/etc/passwd"

    guardrails = resolve_guardrails([builtin_guardrails.Approval(tools=["write_*"], callback=ask)], host=host)
    assert isinstance(await apply_tool_call(guardrails, call("read_file"), ctx), ToolCall)  # not asked
    assert isinstance(await apply_tool_call(guardrails, call("write_file", path="notes.txt"), ctx), ToolCall)
    denied = await apply_tool_call(guardrails, call("write_file", path="/etc/passwd"), ctx)
    assert isinstance(denied, ToolMessage) and denied.is_error
    assert "the user did not approve running tool 'write_file'" in denied.content
    assert asked == [("write_file", False), ("write_file", False)]


async def test_approval_async_callback(ctx: RunContext) -> None:
    async def ask(c: ToolCall) -> bool:
        await asyncio.sleep(0)
        return False

    guardrails = [builtin_guardrails.Approval(callback=ask)]
    assert isinstance(await apply_tool_call(guardrails, call("anything"), ctx), ToolMessage)


async def test_approval_callback_that_raises_refuses(
    ctx: RunContext, caplog: pytest.LogCaptureFixture
) -> None:
    def ask(c: ToolCall) -> bool:
        raise ConnectionError("approval service down")

    refused = await apply_tool_call([builtin_guardrails.Approval(callback=ask)], call("deploy"), ctx)
    assert isinstance(refused, ToolMessage) and "could not be obtained" in refused.content
    assert "approval service down" in caplog.text


async def test_approval_callback_by_import_path(host: PluginHost, ctx: RunContext, monkeypatch) -> None:
    module = sys.modules[__name__]
    monkeypatch.setitem(sys.modules, "approval_callbacks_for_test", module)
    guardrails = build(host, {"name": "approval", "callback": "approval_callbacks_for_test:approve_reads"})
    APPROVED.clear()
    assert isinstance(await apply_tool_call(guardrails, call("read_file"), ctx), ToolCall)
    assert isinstance(await apply_tool_call(guardrails, call("rm"), ctx), ToolMessage)
    assert APPROVED == ["read_file", "rm"]
    with pytest.raises(ConfigError, match="cannot import the approval callback 'nowhere_xyz:f'"):
        build(host, {"name": "approval", "callback": "nowhere_xyz:f"})
    with pytest.raises(ConfigError, match="must be 'console', a callable, or an import path"):
        build(host, {"name": "approval", "callback": "just_a_word"})


async def test_console_approval_without_a_terminal_denies(host: PluginHost, ctx: RunContext) -> None:
    # pytest replaces stdin with something that is not a terminal.
    guardrails = build(host, "approval")
    assert isinstance(await apply_tool_call(guardrails, call("bash", command="ls"), ctx), ToolMessage)
