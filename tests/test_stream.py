"""Streaming: the events of a run, and that streaming and non-streaming build the same messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from agentkit import (
    AssistantMessage,
    IncompleteStreamError,
    ModelRequest,
    ModelResponse,
    Provider,
    ReasoningDelta,
    RunCompleted,
    RunResult,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnCompleted,
    UserMessage,
)
from agentkit.agent import Agent
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def fail() -> str:
    """Always fails."""
    raise RuntimeError("broken")


@attrs.frozen
class Answer:
    city: str
    population: int


def _script() -> list[Any]:
    return [
        AssistantMessage(
            content="Let me add.",
            reasoning="The user wants a sum.",
            tool_calls=tool_calls(("add", {"a": 2, "b": 40}), ("fail", {})).tool_calls,
        ),
        "The answer is 42, and the other tool broke.",
    ]


def _same(a: RunResult, b: RunResult) -> None:
    assert a.messages == b.messages
    assert a.text == b.text
    assert a.output == b.output
    assert a.usage == b.usage
    assert a.turns == b.turns


@pytest.mark.parametrize(
    ("script", "options"),
    [
        (["plain text answer"], {}),
        (_script(), {"tools": [add, fail]}),
        ([tool_calls(("final_answer", {"city": "Oslo", "population": 700000}))], {"output_type": Answer}),
        (['{"city": "Oslo", "population": "many"}', '{"city": "Oslo", "population": 7}'], {"output_type": Answer,
                                                                                          "native": True}),
    ],
    ids=["text", "tools", "structured-tool", "structured-native-retry"],
)
async def test_streaming_and_not_give_the_same_messages(plugin_host: Any, script: list[Any], options: dict[str, Any]) -> None:
    options = dict(options)
    native = options.pop("native", False)
    plain = Agent("scripted/m", provider=ScriptedProvider(script, structured_output=native), **options)
    streamed = Agent("scripted/m", provider=ScriptedProvider(script, structured_output=native), **options)
    result = await plain.arun("question")
    events = [e async for e in streamed.astream("question")]
    final = events[-1]
    assert isinstance(final, RunCompleted)
    _same(result, final.result)
    assert plain.provider.requests == streamed.provider.requests


async def test_event_sequence_of_a_tool_run(scripted_agent: Any) -> None:
    agent = scripted_agent(_script(), tools=[add, fail])
    events = [e async for e in agent.astream("question")]
    kinds = [type(e).__name__ for e in events]
    # reasoning, text, then tool calls with their arguments in pieces
    first_turn_end = kinds.index("TurnCompleted")
    assert kinds[0] == "ReasoningDelta"
    assert "".join(e.text for e in events[:first_turn_end] if isinstance(e, ReasoningDelta)) == "The user wants a sum."
    assert "".join(e.text for e in events[:first_turn_end] if isinstance(e, TextDelta)) == "Let me add."
    started = [e for e in events[:first_turn_end] if isinstance(e, ToolCallStarted)]
    assert [(s.index, s.name) for s in started] == [(0, "add"), (1, "fail")]
    pieces = [e for e in events[:first_turn_end] if isinstance(e, ToolCallDelta) and e.index == 0]
    assert len(pieces) > 1
    assert "".join(p.arguments for p in pieces) == '{"a": 2, "b": 40}'
    # then tool results, the second turn's text, its end, and the result last
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert {r.result.content for r in results} == {"42", "Error: RuntimeError: broken"}
    turns = [e for e in events if isinstance(e, TurnCompleted)]
    assert [t.turn for t in turns] == [1, 2]
    assert kinds.index("ToolCallResult") > first_turn_end
    last_text = "".join(e.text for e in events[kinds.index("ToolCallResult"):] if isinstance(e, TextDelta))
    assert last_text == "The answer is 42, and the other tool broke."
    assert kinds[-1] == "RunCompleted" and kinds.count("RunCompleted") == 1


def test_sync_stream(scripted_agent: Any) -> None:
    agent = scripted_agent(["Hello world"])
    events = list(agent.stream("hi"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello world"
    assert isinstance(events[-1], RunCompleted) and events[-1].result.text == "Hello world"


async def test_provider_without_streaming_is_replayed_as_deltas(scripted_agent: Any) -> None:
    agent = scripted_agent(["whole answer"], provider_options={"streaming": False})
    events = [e async for e in agent.astream("hi")]
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("whole answer")]


class _StreamOnly(Provider):
    """A provider that implements only stream()."""

    name = "streamonly"

    def __init__(self, finish: bool = True) -> None:
        self.finish = finish

    async def stream(self, request: ModelRequest) -> AsyncIterator[Any]:
        yield TextDelta("par")
        yield TextDelta("tial")
        if self.finish:
            yield ModelResponse(AssistantMessage("partial", finish_reason="stop"))


async def test_stream_only_provider_serves_both_modes(plugin_host: Any) -> None:
    agent = Agent("streamonly/x", provider=_StreamOnly())
    assert (await agent.arun("hi")).text == "partial"
    events = [e async for e in agent.astream("hi")]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["par", "tial"]


async def test_stream_without_final_response_is_an_error(plugin_host: Any) -> None:
    agent = Agent("streamonly/x", provider=_StreamOnly(finish=False))
    with pytest.raises(IncompleteStreamError, match="streamonly/x: the stream ended without a final response"):
        async for _ in agent.astream("hi"):
            pass


async def test_on_event_sees_every_event_in_both_modes(scripted_agent: Any) -> None:
    seen: list[Any] = []
    agent = scripted_agent(_script() + _script(), tools=[add, fail], hooks={"on_event": lambda event: seen.append(event)})
    streamed = [e async for e in agent.astream("q")]
    assert seen == streamed
    seen.clear()
    await agent.arun("q")
    # no deltas without streaming; turns, tool results and the end are observed
    assert [type(e).__name__ for e in seen] == [
        "TurnCompleted", "ToolCallResult", "ToolCallResult", "TurnCompleted", "RunCompleted",
    ]


async def test_stream_errors_are_raised_to_the_consumer(scripted_agent: Any) -> None:
    agent = scripted_agent([RuntimeError("provider exploded")])
    with pytest.raises(RuntimeError, match="provider exploded"):
        async for _ in agent.astream("q"):
            pass


class _CompleteOnly(Provider):
    """A provider that implements only complete(): its answer calls a tool."""

    name = "completeonly"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        call = ToolCall("c1", "lookup", '{"q": "x"}')
        return ModelResponse(AssistantMessage("looking", tool_calls=[call], reasoning="hmm"))


async def test_an_answer_in_one_piece_streams_like_a_streamed_one() -> None:
    """Provider.stream() of a complete()-only provider, and the loop's replay of a cached or hook's
    answer, give the deltas of ModelResponse.stream_events(): reasoning, text, each tool call."""
    events = [e async for e in _CompleteOnly().stream(ModelRequest("m", [UserMessage("hi")]))]
    response = events.pop()
    assert isinstance(response, ModelResponse)
    assert events == response.stream_events() == [
        ReasoningDelta("hmm"),
        TextDelta("looking"),
        ToolCallStarted(index=0, id="c1", name="lookup"),
        ToolCallDelta(index=0, id="c1", arguments='{"q": "x"}'),
    ]
    no_arguments = ModelResponse(AssistantMessage(tool_calls=[ToolCall("c2", "now", "")]))
    assert no_arguments.stream_events() == [ToolCallStarted(index=0, id="c2", name="now")]
