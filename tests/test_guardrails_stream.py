"""Output guardrails on a stream: no text reaches the caller before it has been checked.

The built-in word filter and PII redactor check a streamed answer a piece at a time; a
property test holds them to giving exactly what the whole answer's check gives, however the
text is cut into deltas. The loop tests follow the text through ``agent.stream()`` /
``agent.astream()``: every delta shown is checked, what is shown is what is stored, a
guardrail that needs the whole answer gets it whole, and an incremental one releases text
before the model has finished.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import (
    Agent,
    GuardrailError,
    GuardrailTripwireError,
    ModelResponse,
    RunAbortedError,
    RunCompleted,
    TextDelta,
    ToolCallDelta,
    ToolCallResult,
    TurnCompleted,
)
from agentkit.default_plugins.guardrails import BlockedWords, MaxInputLength, PiiRedactor, ToolAllowlist
from agentkit.guardrails import Guardrail, OutputCheck, Verdict, apply_output
from agentkit.messages import AssistantMessage
from agentkit.providers import Capabilities, ModelRequest, Provider
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool

# -- the built-ins, piece by piece == whole --------------------------------------------------------

# Text rich in what the checks look at: digits and their separators, word characters, "@" and
# dots, parentheses, and every kind of whitespace.
ALPHABET = st.sampled_from([*"ab xyz0123456789  -.()+@\n\t", "darn", "Darn it", "e.com", "4111", " 555"])
TEXTS = st.lists(ALPHABET, max_size=60).map("".join)


async def streamed(guardrails: list[Any], text: str, cuts: list[int]) -> tuple[str, list[str]]:
    """Feed ``text`` cut at ``cuts`` through an OutputCheck; the whole output and the pieces released."""
    check = OutputCheck(guardrails, None)
    pieces: list[str] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        if start < cut:
            pieces.append(await check.feed(text[start:cut]))
            start = cut
    pieces.append(await check.finish())
    return "".join(pieces), pieces


def cuts_of(text_strategy: Any) -> Any:
    return text_strategy.flatmap(
        lambda text: st.tuples(st.just(text), st.lists(st.integers(0, max(0, len(text))), max_size=20))
    )


GUARDRAILS = [
    PiiRedactor(),
    BlockedWords(words=["darn", "darn it", "x", "555", "c++"], action="mask"),
    BlockedWords(words=["darn", "ab"], action="mask", mask="[removed]"),
    [PiiRedactor(), BlockedWords(words=["email", "darn"], action="mask")],  # a chain: the mask sees [EMAIL]
]


@pytest.mark.parametrize("guardrails", GUARDRAILS, ids=["pii", "words", "words-fixed-mask", "chain"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cuts_of(TEXTS))
def test_checking_a_stream_piece_by_piece_gives_the_whole_texts_result(guardrails: Any, case: Any) -> None:
    chain = guardrails if isinstance(guardrails, list) else [guardrails]
    text, cuts = case
    whole = asyncio.run(apply_output(chain, text, None))
    out, _pieces = asyncio.run(streamed(chain, text, cuts))
    assert out == whole


@settings(max_examples=300, deadline=None)
@given(case=cuts_of(TEXTS))
def test_a_tripwire_trips_on_a_stream_exactly_when_it_trips_on_the_whole(case: Any) -> None:
    text, cuts = case
    chain = [PiiRedactor(action="tripwire"), BlockedWords(words=["darn it", "555"])]
    try:
        asyncio.run(apply_output(chain, text, None))
        tripped = False
    except GuardrailTripwireError:
        tripped = True
    if tripped:
        with pytest.raises(GuardrailTripwireError):
            asyncio.run(streamed(chain, text, cuts))
    else:
        asyncio.run(streamed(chain, text, cuts))


async def test_the_built_ins_release_all_but_the_last_word() -> None:
    answer = "Well, darn it, that went badly. Mail bob@example.com or call +1 (415) 555-2671 now."
    words = [w + " " for w in answer.split(" ")]
    _out, pieces = await streamed([BlockedWords(words=["darn"], action="mask")], answer, [])
    _out, pii = await streamed([PiiRedactor()], "".join(words), list(_offsets(words)))
    # one delta: all of it up to the last space far enough from the end ("darn" + 1) goes at once
    assert pieces == ["Well, **** it, that went badly. Mail bob@example.com or call +1 (415) ", "555-2671 now."]
    released = "".join(pii[:-1])
    assert released == "Well, darn it, that went badly. Mail [EMAIL] or call [PHONE] "
    assert pii[-1] == "now. "


def _offsets(words: list[str]) -> Any:
    total = 0
    for word in words:
        total += len(word)
        yield total


async def test_patterns_and_judges_hold_the_whole_answer() -> None:
    patterns = BlockedWords(patterns=[r"project\s+\w+"], action="mask")
    out, pieces = await streamed([patterns], "The Project  Falcon slipped. " * 3, [5, 10, 20, 40, 60])
    assert pieces[:-1] == ["", "", "", "", "", ""] and "Falcon" not in out
    assert BlockedWords(words=[" padded "]).output_boundary("a b c d e f g h") == 0


async def test_guardrails_that_do_not_check_answers_hold_nothing(plugin_host: Any) -> None:
    assert PiiRedactor(on=["input"]).output_boundary("call 555 1234 now") == len("call 555 1234 now")
    assert not OutputCheck([Guardrail(), MaxInputLength(max_chars=5), ToolAllowlist(deny=["x"])], None)
    guardrails = [{"name": "tool_allowlist", "deny": ["bash"]}, {"name": "pii_redactor", "on": ["input"]}]
    agent = Agent("scripted/x", provider=ScriptedProvider(["call 555 1234 now"]), guardrails=guardrails,
                  plugin_host=plugin_host)  # fmt: skip
    events, _result = await collect(agent)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["call", " 555", " 123", "4 no", "w"]


# -- through the loop -------------------------------------------------------------------------------


class Mask(Guardrail):
    """A custom whole-answer check (the default): it sees the answer once, whole."""

    name = "mask_secret"

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def check_output(self, text: str, ctx: Any) -> Verdict:
        self.seen.append(text)
        return Verdict.rewrite(text.replace("secret", "******")) if "secret" in text else Verdict.allow()


class Shout(Guardrail):
    """A custom incremental check: upper-cases the answer, a line at a time."""

    name = "shout"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def output_boundary(self, text: str) -> int:
        return text.rfind("\n") + 1

    async def check_output(self, text: str, ctx: Any) -> Verdict:
        self.seen.append(text)
        return Verdict.rewrite(text.upper())


async def collect(agent: Agent, prompt: str = "hi") -> tuple[list[Any], Any]:
    events = [event async for event in agent.astream(prompt)]
    assert isinstance(events[-1], RunCompleted)
    return events, events[-1].result


def shown(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize(
    ("guardrail", "answer", "expected"),
    [
        ({"name": "blocked_words", "words": ["darn"], "action": "mask"}, "Well, darn it, that went badly.",
         "Well, **** it, that went badly."),
        ("pii_redactor", "Write to ann@example.org or call 020 7946 0958 today.",
         "Write to [EMAIL] or call [PHONE] today."),
    ],
    ids=["blocked_words", "pii_redactor"],
)  # fmt: skip
async def test_a_stream_shows_only_checked_text_and_stores_what_it_showed(
    plugin_host: Any, guardrail: Any, answer: str, expected: str
) -> None:
    agent = Agent("scripted/x", provider=ScriptedProvider([answer]), guardrails=[guardrail], plugin_host=plugin_host)
    events, result = await collect(agent)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == expected == result.text == result.messages[-1].content
    assert len(deltas) > 2  # released a piece at a time, not in one lump at the end
    turn = next(e for e in events if isinstance(e, TurnCompleted))
    assert turn.response.message.content == expected


def test_the_sync_stream_too(plugin_host: Any) -> None:
    agent = Agent(
        "scripted/x",
        provider=ScriptedProvider(["Well, darn it."]),
        guardrails=[{"name": "blocked_words", "words": ["darn"], "action": "mask"}],
        plugin_host=plugin_host,
    )
    assert "".join(e.text for e in agent.stream("hi") if isinstance(e, TextDelta)) == "Well, **** it."


async def test_a_whole_answer_guardrail_sees_it_once_and_it_is_shown_in_one_piece(plugin_host: Any) -> None:
    mask = Mask()
    agent = Agent("scripted/x", provider=ScriptedProvider(["the secret is out"]), guardrails=[mask],
                  plugin_host=plugin_host)  # fmt: skip
    events, result = await collect(agent)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["the ****** is out"]
    assert mask.seen == ["the secret is out"]
    assert result.text == "the ****** is out"


async def test_guardrails_chain_on_a_stream_each_seeing_what_the_previous_released(plugin_host: Any) -> None:
    shout, mask = Shout(), Mask()
    answer = "line one\nsecret two\nthree"
    agent = Agent("scripted/x", provider=ScriptedProvider([answer]), guardrails=[shout, mask], plugin_host=plugin_host)
    events, result = await collect(agent)
    assert shout.seen == ["line one\n", "secret two\n", "three"]
    assert mask.seen == ["LINE ONE\nSECRET TWO\nTHREE"]  # "secret" was upper-cased before the mask saw it
    assert shown(events) == result.text == "LINE ONE\nSECRET TWO\nTHREE"


class Gated(Provider):
    """Streams ``pieces``; waits for ``go`` before the last one, so a test can see what came first."""

    name = "gated"
    capabilities = Capabilities(streaming=True)

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.go = asyncio.Event()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise AssertionError("streaming only")

    async def stream(self, request: ModelRequest) -> AsyncIterator[Any]:
        for piece in self.pieces[:-1]:
            yield TextDelta(piece)
        await self.go.wait()
        yield TextDelta(self.pieces[-1])
        text = "".join(self.pieces)
        yield ModelResponse(message=AssistantMessage(text, finish_reason="stop"))


@pytest.mark.parametrize(
    "guardrail", [{"name": "blocked_words", "words": ["darn"], "action": "mask"}, "pii_redactor", Shout()],
    ids=["blocked_words", "pii_redactor", "custom-incremental"],
)  # fmt: skip
async def test_incremental_guardrails_release_text_before_the_model_is_done(plugin_host: Any, guardrail: Any) -> None:
    provider = Gated(["Dear ann, ", "darn, the call ", "went badly.\n", "Bye"])
    agent = Agent("gated/x", provider=provider, guardrails=[guardrail], plugin_host=plugin_host)
    early: list[str] = []
    async with asyncio.timeout(30):
        async for event in agent.astream("hi"):
            if isinstance(event, TextDelta) and not provider.go.is_set():
                early.append(event.text)
                provider.go.set()
    assert early and "darn" not in "".join(early)


async def test_a_whole_answer_guardrail_holds_everything_until_the_model_is_done(plugin_host: Any) -> None:
    provider = Gated(["the ", "secret ", "is ", "out"])
    agent = Agent("gated/x", provider=provider, guardrails=[Mask()], plugin_host=plugin_host)
    stream = agent.astream("hi")
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.2)
    assert not first.done()  # nothing shown while the model is still writing
    provider.go.set()
    async with asyncio.timeout(30):
        event = await first
        assert isinstance(event, TextDelta) and event.text == "the ****** is out"
        async for _ in stream:
            pass


async def test_text_written_beside_tool_calls_is_checked_too(plugin_host: Any) -> None:
    @tool
    def lookup(q: str) -> str:
        """Looks up."""
        return "found"

    script = [tool_calls(("lookup", {"q": "x"}), text="Let me look up the secret."), "The secret is 42."]
    agent = Agent("scripted/x", provider=ScriptedProvider(script), tools=[lookup], guardrails=[Mask()],
                  plugin_host=plugin_host)  # fmt: skip
    events, result = await collect(agent)
    assert "secret" not in shown(events)
    assert shown(events) == "Let me look up the ******.The ****** is 42."
    assert result.messages[1].content == "Let me look up the ******."
    assert result.text == "The ****** is 42."
    # the same messages as a run that does not stream
    again = Agent("scripted/x", provider=ScriptedProvider(script), tools=[lookup], guardrails=[Mask()],
                  plugin_host=plugin_host)  # fmt: skip
    assert (await again.arun("hi")).messages == result.messages


async def test_a_tripwire_mid_stream_stops_it_and_nothing_unchecked_was_shown(plugin_host: Any) -> None:
    answer = "All fine here. Then darn it all went wrong, and more text follows for a while."
    agent = Agent("scripted/x", provider=ScriptedProvider([answer]),
                  guardrails=[{"name": "blocked_words", "words": ["darn it"]}], plugin_host=plugin_host)  # fmt: skip
    seen: list[str] = []
    with pytest.raises(GuardrailTripwireError, match="blocked word 'darn it'"):
        async for event in agent.astream("hi"):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert "".join(seen) == "All fine here. Then "


async def test_an_aborted_streams_partial_text_is_the_checked_text(plugin_host: Any) -> None:
    provider = Gated(["my mail is bob@example.com ", "and more ", "and more ", "end"])
    agent = Agent("gated/x", provider=provider, guardrails=["pii_redactor"], plugin_host=plugin_host)
    with pytest.raises(RunAbortedError) as info:
        async with asyncio.timeout(30):
            async for event in agent.astream("hi"):
                if isinstance(event, TextDelta):
                    agent.abort()
    assert "bob@" not in info.value.partial.text
    assert info.value.partial.text.startswith("my mail is [EMAIL]")


async def test_structured_answers_through_the_final_answer_tool_are_checked_before_they_are_shown(
    plugin_host: Any,
) -> None:
    @attrs.frozen
    class Note:
        text: str

    answer = AssistantMessage(
        "", tool_calls=(tool_calls(("final_answer", {"text": "a secret note"})).tool_calls), finish_reason="tool_calls"
    )
    agent = Agent("scripted/x", provider=ScriptedProvider([answer]), output_type=Note, guardrails=[Mask()],
                  plugin_host=plugin_host)  # fmt: skip
    events, result = await collect(agent)
    arguments = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert json.loads(arguments) == {"text": "a ****** note"}
    assert result.output == Note("a ****** note")
    turn = next(e for e in events if isinstance(e, TurnCompleted))
    assert "secret" not in turn.response.message.tool_calls[0].arguments
    assert not [e for e in events if isinstance(e, ToolCallResult) and "secret" in e.call.arguments]


async def test_a_guardrail_that_raises_on_a_stream_is_a_guardrail_error(plugin_host: Any) -> None:
    class Broken(Guardrail):
        name = "broken"

        async def check_output(self, text: str, ctx: Any) -> Verdict:
            raise KeyError("no such policy")

    agent = Agent("scripted/x", provider=ScriptedProvider(["hello"]), guardrails=[Broken()], plugin_host=plugin_host)
    with pytest.raises(GuardrailError, match=r"guardrail 'broken' failed in check_output\(\): KeyError") as info:
        async for event in agent.astream("hi"):
            assert not isinstance(event, TextDelta)
    assert info.value.guardrail == "broken"


async def test_a_bad_boundary_is_a_guardrail_error(plugin_host: Any) -> None:
    class Vague(Guardrail):
        name = "vague"

        def output_boundary(self, text: str) -> Any:
            return "somewhere"

        async def check_output(self, text: str, ctx: Any) -> Verdict:
            return Verdict.allow()

    agent = Agent("scripted/x", provider=ScriptedProvider(["hello"]), guardrails=[Vague()], plugin_host=plugin_host)
    with pytest.raises(GuardrailError, match=r"output_boundary\(\) returned str"):
        async for _ in agent.astream("hi"):
            pass
