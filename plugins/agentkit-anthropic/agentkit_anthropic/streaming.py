"""Assembling a streamed message: the Messages API's server-sent events in, agentkit events out.

A stream is ``message_start``, then for each content block ``content_block_start``, its
``content_block_delta`` events and ``content_block_stop``, then ``message_delta`` (the stop
reason and the final usage) and ``message_stop``. ``ping`` events may come at any point, and
an ``error`` event may replace the rest of the stream (an overloaded API, mid-answer).

Deltas: ``text_delta`` becomes :class:`~agentkit.TextDelta`, ``thinking_delta``
:class:`~agentkit.ReasoningDelta`, ``input_json_delta`` (a tool call's arguments, in pieces)
:class:`~agentkit.ToolCallDelta`; ``signature_delta`` completes a thinking block's signature,
which is kept with the block (not shown) so the block can be sent back unchanged. Event types
the API adds later are skipped, as its versioning policy asks.

The stream is complete when ``message_stop`` arrived; anything short of that is an
:class:`~agentkit.errors.IncompleteStreamError`, never a short answer. A tool call whose
arguments are not valid JSON when its block stops is kept as the text the model sent: the
loop answers it with an error, as it does for any provider.
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
from agentkit.messages import AssistantMessage, ReasoningBlock, ToolCall, Usage

from .wire import PROVIDER, error_for, finish_reason_of, usage_from_wire

__all__ = ["StreamAssembler"]


@attrs.define
class _Block:
    kind: str
    parts: list[str] = attrs.field(factory=list)
    signature: list[str] = attrs.field(factory=list)
    data: str | None = None  # redacted thinking
    call_id: str = ""
    name: str = ""
    call_index: int = -1


class StreamAssembler:
    """Feed it each event with :meth:`feed`; :meth:`response` builds the result."""

    def __init__(self, *, provider: str, model: str, env_var: str | None = None) -> None:
        self.provider = provider
        self.model = model
        self.env_var = env_var
        self.started = False  # saw message_start
        self.done = False  # saw message_stop
        self.stop_reason: str | None = None
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}
        self._calls = 0

    def feed(self, event: str | None, data: str) -> list[ModelStreamEvent]:
        """Take one server-sent event (its name and data); return the agentkit events it carries."""
        try:
            payload = json.loads(data)
        except ValueError:
            raise ProviderError(
                "the stream carried an event that is not JSON", provider=self.provider, model=self.model, body=data
            ) from None
        if not isinstance(payload, dict):
            raise ProviderError(
                "the stream carried an event that is not an object", provider=self.provider, model=self.model, body=data
            )
        kind = payload.get("type") or event
        handler = _HANDLERS.get(str(kind))
        return handler(self, payload) if handler is not None else []

    # -- events ------------------------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        message = payload.get("message") or {}
        self.started = True
        if isinstance(message.get("model"), str) and message["model"]:
            self.model = message["model"]
        self._merge_usage(message.get("usage"))
        return []

    def _block_start(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        index = self._index(payload)
        raw = payload.get("content_block") or {}
        kind = str(raw.get("type") or "")
        block = _Block(kind)
        self._blocks[index] = block
        if kind == "text" and raw.get("text"):
            block.parts.append(raw["text"])
            return [TextDelta(raw["text"])]
        if kind == "thinking":
            if raw.get("signature"):
                block.signature.append(raw["signature"])
            if raw.get("thinking"):
                block.parts.append(raw["thinking"])
                return [ReasoningDelta(raw["thinking"])]
        elif kind == "redacted_thinking":
            block.data = str(raw.get("data") or "")
        elif kind == "tool_use":
            block.call_id, block.name = str(raw.get("id") or ""), str(raw.get("name") or "")
            block.call_index, self._calls = self._calls, self._calls + 1
            events: list[ModelStreamEvent] = [ToolCallStarted(index=block.call_index, id=block.call_id, name=block.name)]
            if raw.get("input"):  # a server that sends the input whole, in the start event
                arguments = json.dumps(raw["input"], ensure_ascii=False)
                block.parts.append(arguments)
                events.append(ToolCallDelta(index=block.call_index, id=block.call_id, arguments=arguments))
            return events
        return []

    def _block_delta(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        index = self._index(payload)
        block = self._blocks.get(index)
        if block is None:
            raise ProviderError(
                f"the stream sent a delta for content block {index}, which never started",
                provider=self.provider,
                model=self.model,
            )
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            block.parts.append(text)
            return [TextDelta(text)] if text else []
        if kind == "thinking_delta":
            text = str(delta.get("thinking") or "")
            block.parts.append(text)
            return [ReasoningDelta(text)] if text else []
        if kind == "signature_delta":
            block.signature.append(str(delta.get("signature") or ""))
            return []
        if kind == "input_json_delta":
            piece = str(delta.get("partial_json") or "")
            block.parts.append(piece)
            return [ToolCallDelta(index=block.call_index, id=block.call_id, arguments=piece)] if piece else []
        return []  # citations_delta and types added later

    def _block_stop(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        self._index(payload)
        return []

    def _message_delta(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        delta = payload.get("delta") or {}
        if delta.get("stop_reason"):
            self.stop_reason = str(delta["stop_reason"])
        self._merge_usage(payload.get("usage"))
        return []

    def _message_stop(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        self.done = True
        return []

    def _error(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        raise error_for(0, payload, provider=self.provider, model=self.model, env_var=self.env_var)

    def _ping(self, payload: dict[str, Any]) -> list[ModelStreamEvent]:
        return []

    # -- helpers -----------------------------------------------------------------------------

    def _index(self, payload: dict[str, Any]) -> int:
        index = payload.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ProviderError(
                f"a {payload.get('type')} event without a block index",
                provider=self.provider,
                model=self.model,
                body=json.dumps(payload)[:300],
            )
        return index

    def _merge_usage(self, usage: Any) -> None:
        # message_delta's usage is cumulative: later counts replace earlier ones
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    @property
    def usage(self) -> Usage:
        return usage_from_wire(self._usage) if self._usage else Usage(requests=1)

    def response(self) -> ModelResponse:
        """The whole answer. Raises IncompleteStreamError if ``message_stop`` did not arrive."""
        if not self.done:
            raise IncompleteStreamError(
                "the stream ended before message_stop", provider=self.provider, model=self.model
            )
        if not self.started:
            raise ProviderError("the stream never sent message_start", provider=self.provider, model=self.model)
        text: list[str] = []
        reasoning: list[ReasoningBlock] = []
        calls: list[ToolCall] = []
        for _, block in sorted(self._blocks.items()):
            if block.kind == "text":
                text.append("".join(block.parts))
            elif block.kind == "thinking":
                reasoning.append(
                    ReasoningBlock(PROVIDER, text="".join(block.parts), signature="".join(block.signature) or None)
                )
            elif block.kind == "redacted_thinking":
                reasoning.append(ReasoningBlock(PROVIDER, data=block.data or ""))
            elif block.kind == "tool_use":
                calls.append(ToolCall(block.call_id, block.name, "".join(block.parts) or "{}"))
        usage = self.usage
        finish = finish_reason_of(self.stop_reason)
        message = AssistantMessage(
            content="".join(text),
            tool_calls=tuple(calls),
            reasoning="".join(r.text for r in reasoning) or None,
            model=self.model,
            usage=usage,
            finish_reason=finish,
            reasoning_blocks=reasoning or None,
        )
        return ModelResponse(message)


_HANDLERS = {
    "message_start": StreamAssembler._message_start,
    "content_block_start": StreamAssembler._block_start,
    "content_block_delta": StreamAssembler._block_delta,
    "content_block_stop": StreamAssembler._block_stop,
    "message_delta": StreamAssembler._message_delta,
    "message_stop": StreamAssembler._message_stop,
    "error": StreamAssembler._error,
    "ping": StreamAssembler._ping,
}
