"""Stream events, model responses and run results.

A provider's stream yields :data:`ModelStreamEvent` values and ends with a
:class:`ModelResponse`. A run's stream (``agent.stream()``) yields every
:data:`StreamEvent`: the provider's deltas, then :class:`TurnCompleted` for each model turn,
:class:`ToolProgress` while a tool reports progress, :class:`ToolCallResult` for each tool
result, and :class:`RunCompleted` last.
Every event has a ``type`` tag, which is how it is written as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

import attrs

from .messages import AssistantMessage, Message, ToolCall, ToolMessage, Usage

__all__ = [
    "ModelResponse",
    "ModelStreamEvent",
    "ReasoningDelta",
    "RunCompleted",
    "RunResult",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallResult",
    "ToolCallStarted",
    "ToolProgress",
    "TurnCompleted",
]


@attrs.frozen
class TextDelta:
    """A piece of the answer's text."""

    text: str
    type: Literal["text_delta"] = attrs.field(default="text_delta", init=False)


@attrs.frozen
class ReasoningDelta:
    """A piece of the model's reasoning, where the provider exposes it."""

    text: str
    type: Literal["reasoning_delta"] = attrs.field(default="reasoning_delta", init=False)


@attrs.frozen
class ToolCallStarted:
    """The model began a tool call: ``index`` orders the calls of one turn."""

    index: int
    id: str
    name: str
    type: Literal["tool_call_started"] = attrs.field(default="tool_call_started", init=False)


@attrs.frozen
class ToolCallDelta:
    """A piece of a tool call's JSON arguments."""

    index: int
    id: str
    arguments: str
    type: Literal["tool_call_delta"] = attrs.field(default="tool_call_delta", init=False)


_NO_USAGE = Usage()


@attrs.frozen
class ModelResponse:
    """One whole model answer: the assistant message, and whether a cache replayed it.

    The message carries the model that wrote it, the call's usage and the finish reason;
    :attr:`usage`, :attr:`model` and :attr:`finish_reason` read them from there.
    """

    message: AssistantMessage
    cached: bool = False
    type: Literal["model_response"] = attrs.field(default="model_response", init=False)

    @property
    def usage(self) -> Usage:
        """The call's usage (the message's; an empty :class:`Usage` when it has none)."""
        usage = self.message.usage
        return _NO_USAGE if usage is None else usage

    @property
    def model(self) -> str | None:
        """The model that answered (the message's)."""
        return self.message.model

    @property
    def finish_reason(self) -> str | None:
        """Why the answer ended (the message's): ``"stop"``, ``"tool_calls"``, ``"length"``, ..."""
        return self.message.finish_reason

    def stream_events(self) -> list[ModelStreamEvent]:
        """The deltas a stream of this answer would have carried: its reasoning, its text, then
        each tool call (started, and its arguments when it has any). For an answer that came in
        one piece (``complete()``, a cache, a hook) where a stream is wanted."""
        message = self.message
        events: list[ModelStreamEvent] = []
        if message.reasoning:
            events.append(ReasoningDelta(message.reasoning))
        if message.content:
            events.append(TextDelta(message.content))
        for index, call in enumerate(message.tool_calls):
            events.append(ToolCallStarted(index=index, id=call.id, name=call.name))
            if call.arguments:
                events.append(ToolCallDelta(index=index, id=call.id, arguments=call.arguments))
        return events


@attrs.frozen
class ToolCallResult:
    """A tool call was answered (by the tool, a hook, or an error)."""

    call: ToolCall
    result: ToolMessage
    type: Literal["tool_result"] = attrs.field(default="tool_result", init=False)


@attrs.frozen
class ToolProgress:
    """A running tool reported progress (``RunContext.report_progress``, or an MCP server's
    progress notifications): ``progress`` so far, out of ``total`` when known, and a message."""

    call_id: str
    name: str
    progress: float
    total: float | None = None
    message: str | None = None
    type: Literal["tool_progress"] = attrs.field(default="tool_progress", init=False)


@attrs.frozen
class TurnCompleted:
    """A model turn ended: its response (text, tool calls, usage)."""

    response: ModelResponse
    turn: int = 0
    type: Literal["turn_completed"] = attrs.field(default="turn_completed", init=False)

    @property
    def message(self) -> AssistantMessage:
        return self.response.message


def _to_messages(value: Iterable[Message]) -> tuple[Message, ...]:
    return tuple(value)


def _to_prior(value: Iterable[Message] | None) -> tuple[Message, ...] | None:
    return None if value is None else (tuple(value) or None)


@attrs.frozen
class RunResult:
    """What a run produced.

    ``messages`` are this run's new messages (the user's input included); ``usage`` is
    summed over every model call; ``output`` is the typed structured output, or the text.
    ``finish_reason`` is the last model call's (``"stop"``; ``"length"`` when the answer was cut
    by the output token limit). ``prior_messages`` is the history the run was given (``None``
    when it had none); :attr:`history` is that history followed by ``messages``: the whole
    conversation, ready for the next run's ``history=``.
    """

    text: str
    messages: tuple[Message, ...] = attrs.field(converter=_to_messages)
    usage: Usage = attrs.field(factory=Usage)
    output: Any = None
    turns: int = 0
    stopped: bool = False
    run_id: str | None = None
    finish_reason: str | None = None
    prior_messages: tuple[Message, ...] | None = attrs.field(default=None, converter=_to_prior, repr=False)

    @property
    def history(self) -> tuple[Message, ...]:
        """Every message of the conversation: the history the run was given, then the run's
        own. ``agent.run("Now do X", history=result.history)`` continues it."""
        return self.messages if self.prior_messages is None else (*self.prior_messages, *self.messages)


@attrs.frozen
class RunCompleted:
    """The run ended; ``result`` is what ``agent.run()`` returns."""

    result: RunResult
    type: Literal["run_completed"] = attrs.field(default="run_completed", init=False)


ModelStreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallStarted | ToolCallDelta
StreamEvent: TypeAlias = ModelStreamEvent | TurnCompleted | ToolProgress | ToolCallResult | RunCompleted
