"""A provider that answers from a script, so agents can be tested without a model.

::

    provider = ScriptedProvider([
        tool_calls(("add", {"a": 1, "b": 2})),   # first call: the model asks for a tool
        "The sum is 3.",                          # second call: a text answer
    ])
    agent = Agent("scripted/test", provider=provider, tools=[add])
    assert agent.run("1 + 2?").text == "The sum is 3."
    assert provider.requests[1].messages[-1].content == "3"

Each script item answers one model call: a :class:`~agentkit.ModelResponse`, an
:class:`~agentkit.AssistantMessage`, a string (a text answer), an exception (raised), or a
callable ``item(request)`` returning one of those (or an awaitable of one), for answers that
depend on the request. The provider records every :class:`~agentkit.ModelRequest` in
:attr:`ScriptedProvider.requests`. ``stream()`` sends text in small deltas and tool-call
arguments in pieces, like a real provider, so streaming code paths are exercised.

Like a real API, it rejects a request whose history has a tool call without its result (or
a result without its call), which makes "every call answered exactly once" testable.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeAlias

import attrs

from ..errors import BadRequestError, ProviderError
from ..events import (
    ModelResponse,
    ModelStreamEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
)
from ..messages import AssistantMessage, Message, ToolCall, ToolMessage, Usage, UserMessage
from ..providers import Capabilities, ModelRequest, Provider

__all__ = ["ScriptItem", "ScriptedProvider", "tool_call", "tool_calls"]

ScriptItem: TypeAlias = ModelResponse | AssistantMessage | str | BaseException | Callable[[ModelRequest], Any]

#: Sizes of the pieces ``stream()`` cuts text and tool arguments into.
TEXT_PIECE = 4
ARGUMENTS_PIECE = 8


def tool_call(name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str | None = None) -> ToolCall:
    """A :class:`~agentkit.ToolCall`; ``arguments`` may be a dict (sent as JSON) or raw text."""
    text = arguments if isinstance(arguments, str) else json.dumps(dict(arguments or {}))
    return ToolCall(id=id or f"call_{name}", name=name, arguments=text)


def tool_calls(*calls: ToolCall | tuple[Any, ...], text: str = "") -> AssistantMessage:
    """An assistant answer asking for tools: ``tool_calls(("add", {"a": 1}), ("now", {}))``.

    Calls given as ``(name, arguments)`` get ids ``call_1``, ``call_2``, ... in order.
    """
    made = []
    for i, call in enumerate(calls, 1):
        if isinstance(call, ToolCall):
            made.append(call)
        else:
            name, *rest = call
            made.append(tool_call(name, rest[0] if rest else None, id=f"call_{i}"))
    return AssistantMessage(content=text, tool_calls=tuple(made), finish_reason="tool_calls")


class ScriptedProvider(Provider):
    """Answers model calls from ``script``, in order; records each request.

    ``capabilities`` (or the keyword shortcuts ``structured_output=``, ``streaming=``)
    says what the provider claims to support, so the loop's strategies can be tested;
    ``context_window`` is what :meth:`context_window` reports. ``repeat_last=True`` answers
    every call past the end of the script with its last item.
    """

    name = "scripted"

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        capabilities: Capabilities | None = None,
        structured_output: bool | None = None,
        streaming: bool | None = None,
        context_window: int | None = None,
        repeat_last: bool = False,
        check_history: bool = True,
        name: str | None = None,
    ) -> None:
        self.script: list[ScriptItem] = list(script)
        caps = capabilities or Capabilities(vision=True)
        if structured_output is not None:
            caps = attrs.evolve(caps, structured_output=structured_output)
        if streaming is not None:
            caps = attrs.evolve(caps, streaming=streaming)
        self.capabilities = caps
        if name is not None:
            self.name = name
        self.repeat_last = repeat_last
        self.check_history = check_history
        self._window = context_window
        self._lock = threading.Lock()
        self._next = 0
        self.requests: list[ModelRequest] = []
        self.closed = 0

    def __repr__(self) -> str:
        return f"ScriptedProvider(items={len(self.script)}, answered={self._next})"

    # -- script -------------------------------------------------------------------------------

    def add(self, *items: ScriptItem) -> None:
        """Append answers to the script."""
        with self._lock:
            self.script.extend(items)

    @property
    def remaining(self) -> int:
        """Script items not used yet."""
        return max(0, len(self.script) - self._next)

    def _take(self, request: ModelRequest) -> ScriptItem:
        with self._lock:
            if self.check_history:
                _check_history(request, self.name)
            self.requests.append(request)
            if self._next < len(self.script):
                item = self.script[self._next]
                self._next += 1
                return item
            if self.repeat_last and self.script:
                return self.script[-1]
        raise ProviderError(
            f"the script is used up: {len(self.script)} answer(s) for {len(self.requests)} model call(s)",
            provider=self.name,
            model=request.model,
            hint="add more items to ScriptedProvider(script=[...])",
        )

    async def _answer(self, request: ModelRequest) -> ModelResponse:
        item: Any = self._take(request)
        if callable(item) and not isinstance(item, BaseException | type):
            item = item(request)
            if inspect.isawaitable(item):
                item = await item
        if isinstance(item, BaseException):
            raise item
        return _response(item, request)

    # -- Provider -----------------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return await self._answer(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        response = await self._answer(request)
        message = response.message
        for piece in _pieces(message.reasoning or "", TEXT_PIECE):
            yield ReasoningDelta(piece)
        for piece in _pieces(message.content, TEXT_PIECE):
            yield TextDelta(piece)
        for index, call in enumerate(message.tool_calls):
            yield ToolCallStarted(index=index, id=call.id, name=call.name)
            for piece in _pieces(call.arguments, ARGUMENTS_PIECE):
                yield ToolCallDelta(index=index, id=call.id, arguments=piece)
        yield response

    async def context_window(self, model: str) -> int | None:
        return self._window

    async def aclose(self) -> None:
        self.closed += 1


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _response(item: Any, request: ModelRequest) -> ModelResponse:
    if isinstance(item, str):
        item = AssistantMessage(content=item)
    if isinstance(item, AssistantMessage):
        finish = item.finish_reason or ("tool_calls" if item.tool_calls else "stop")
        usage = item.usage or _estimate_usage(request, item)
        message = attrs.evolve(item, model=item.model or request.model, usage=usage, finish_reason=finish)
        return ModelResponse(message)
    if isinstance(item, ModelResponse):
        return item
    raise TypeError(
        f"ScriptedProvider cannot answer with {type(item).__name__}; script items are ModelResponse, "
        "AssistantMessage, str, an exception, or a callable(request) returning one of those"
    )


def _estimate_usage(request: ModelRequest, message: AssistantMessage) -> Usage:
    """A deterministic stand-in for token counts: about four characters a token."""
    seen = sum(len(_text_of(m)) for m in request.messages)
    written = len(message.content) + sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
    return Usage(input_tokens=max(1, seen // 4), output_tokens=max(1, written // 4), requests=1)


def _text_of(message: Message) -> str:
    if isinstance(message, UserMessage):
        return message.text
    if isinstance(message, AssistantMessage):
        return message.content + "".join(c.arguments for c in message.tool_calls)
    return message.content


def _check_history(request: ModelRequest, provider: str) -> None:
    """Reject a history where a tool call lacks its result or a result lacks its call."""
    pending: dict[str, str] = {}

    def unanswered() -> BadRequestError:
        return BadRequestError(
            f"tool call(s) without a result: {', '.join(sorted(pending))}", provider=provider, model=request.model
        )

    for message in request.messages:
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in pending:
                raise BadRequestError(
                    f"tool result {message.tool_call_id!r} ({message.name}) answers no pending tool call",
                    provider=provider,
                    model=request.model,
                )
            del pending[message.tool_call_id]
            continue
        if pending:
            raise unanswered()
        if isinstance(message, AssistantMessage):
            pending = {c.id: c.name for c in message.tool_calls}
    if pending:
        raise unanswered()
