"""Assembling a streamed Chat Completion: SSE ``data:`` payloads in, agentkit events out.

Chunks carry text deltas, reasoning deltas and tool-call deltas. Tool calls are assembled by
``index``: OpenAI sends the id and name only in a call's first delta, llama-cpp-python repeats
them in every delta, and some servers leave out ``index`` (then a new id starts a new call).
Usage arrives in a last chunk with no choices when ``stream_options.include_usage`` is set.

The stream is complete when ``[DONE]`` or a ``finish_reason`` arrived; anything short of that
is an :class:`~agentkit.errors.IncompleteStreamError`, never a short answer. A stream that never
carried a choice is an error, as a whole response without choices is. An ``error``
object inside the stream is raised as the provider's typed error.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from agentkit.errors import IncompleteStreamError, ProviderError
from agentkit.events import (
    ModelResponse,
    ModelStreamEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
)
from agentkit.messages import AssistantMessage, ToolCall, Usage

from .wire import arguments_text, error_from_payload, new_call_id, reasoning_of, text_of, usage_from_wire

__all__ = ["StreamAssembler"]


@attrs.define
class _Call:
    id: str
    name: str
    arguments: list[str] = attrs.field(factory=list)


class StreamAssembler:
    """Feed it each SSE ``data`` payload with :meth:`feed`; :meth:`response` builds the result."""

    def __init__(self, *, provider: str, model: str, env_var: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.env_var = env_var
        self.done = False  # saw [DONE]
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _Call] = {}
        self._by_id: dict[str, int] = {}
        self._last_index: int | None = None
        self._choices = 0  # chunks that carried the first choice

    @property
    def complete(self) -> bool:
        """Whether an end marker arrived (``[DONE]`` or a ``finish_reason``)."""
        return self.done or self.finish_reason is not None

    def feed(self, data: str) -> list[ModelStreamEvent]:
        """Take one event's data; return the agentkit events it carries."""
        if data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ProviderError(
                "the stream carried an event that is not JSON",
                provider=self.provider,
                model=self.model,
                body=data,
            ) from None
        if not isinstance(chunk, dict):
            raise ProviderError(
                "the stream carried an event that is not an object",
                provider=self.provider,
                model=self.model,
                body=data,
            )
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: dict[str, Any]) -> list[ModelStreamEvent]:
        if chunk.get("error") is not None:
            raise error_from_payload(chunk, provider=self.provider, model=self.model, env_var=self.env_var)
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        if chunk.get("usage"):
            self.usage = usage_from_wire(chunk["usage"])
        events: list[ModelStreamEvent] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
                continue  # n > 1 is not supported: keep the first choice
            self._choices += 1
            delta = choice.get("delta") or choice.get("message") or {}
            reasoning = reasoning_of(delta)
            if reasoning:
                self._reasoning.append(reasoning)
                events.append(ReasoningDelta(reasoning))
            text = text_of(delta.get("content")) or (delta.get("refusal") or "")
            if text:
                self._text.append(text)
                events.append(TextDelta(text))
            for raw in delta.get("tool_calls") or ():
                if isinstance(raw, dict):
                    events.extend(self._tool_delta(raw))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def _tool_delta(self, raw: dict[str, Any]) -> list[ModelStreamEvent]:
        function = raw.get("function") or {}
        call_id = raw.get("id") or None
        index = raw.get("index")
        if not isinstance(index, int):
            if call_id is not None and call_id in self._by_id:
                index = self._by_id[call_id]
            elif call_id is not None or self._last_index is None:
                index = max(self._calls, default=-1) + 1
            else:
                index = self._last_index
        self._last_index = index
        events: list[ModelStreamEvent] = []
        call = self._calls.get(index)
        if call is None:
            call = _Call(id=call_id or new_call_id(), name=function.get("name") or "")
            self._calls[index] = call
            self._by_id[call.id] = index
            events.append(ToolCallStarted(index=index, id=call.id, name=call.name))
        elif not call.name and function.get("name"):
            call.name = function["name"]  # a server that named the call after its first delta
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        if arguments:
            call.arguments.append(arguments)
            events.append(ToolCallDelta(index=index, id=call.id, arguments=arguments))
        return events

    def response(self) -> ModelResponse:
        """The whole answer. Raises IncompleteStreamError if no end marker arrived."""
        if not self.complete:
            raise IncompleteStreamError(
                "the stream ended without [DONE] or a finish_reason", provider=self.provider, model=self.model
            )
        if not self._choices:  # as parse_completion says of a whole response without choices
            raise ProviderError("the response has no choices", provider=self.provider, model=self.model)
        calls = tuple(
            ToolCall(id=c.id, name=c.name, arguments=arguments_text("".join(c.arguments)))
            for _, c in sorted(self._calls.items())
        )
        usage = self.usage or Usage(requests=1)
        message = AssistantMessage(
            content="".join(self._text),
            tool_calls=calls,
            reasoning="".join(self._reasoning) or None,
            model=self.model,
            usage=usage,
            finish_reason=self.finish_reason,
        )
        return ModelResponse(message)
