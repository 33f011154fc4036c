"""The run context: what hooks and tools see of the run they are part of."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import attrs

from .messages import Message, ToolCall, Usage

__all__ = ["RunContext", "current_tool_call", "tool_call_scope"]

#: The tool call being run in this task (set by the loop around each tool).
_CURRENT_CALL: contextvars.ContextVar[ToolCall | None] = contextvars.ContextVar("agentkit_tool_call", default=None)


def current_tool_call() -> ToolCall | None:
    """The tool call the calling code runs in, if any (a tool or code it calls)."""
    return _CURRENT_CALL.get()


@contextlib.contextmanager
def tool_call_scope(call: ToolCall) -> Iterator[None]:
    """Run the body as tool call ``call`` (what :meth:`RunContext.report_progress` reports on).

    The loop does this around every tool; code that runs tools itself (such as an MCP server
    serving agentkit tools) does it too.
    """
    token = _CURRENT_CALL.set(call)
    try:
        yield
    finally:
        _CURRENT_CALL.reset(token)


@attrs.define(eq=False)
class RunContext:
    """State of one run, shared with hooks, guardrails and tools.

    A tool gets it by annotating a parameter with ``RunContext``; that parameter is hidden
    from the model. ``deps`` is whatever the caller passed as ``deps=`` to the run.
    """

    agent: Any
    run_id: str
    model: str
    messages: list[Message] = attrs.field(factory=list)
    usage: Usage = attrs.field(factory=Usage)
    turn: int = 0
    deps: Any = None
    session_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    #: Whether the run streams (``agent.stream()``): model calls then stream when the provider can.
    streaming: bool = False
    _stop_requested: bool = attrs.field(default=False, alias="_stop_requested")
    # How the run emits events (set by the loop); None outside a run.
    _emit: Callable[[Any], Awaitable[None]] | None = attrs.field(default=None, alias="_emit", repr=False)

    def stop(self) -> None:
        """Finish the current turn cleanly, then end the run."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def observed(self) -> bool:
        """Whether anyone watches this run's events (a stream, ``on_event`` hooks): a tool may
        skip work done only to report progress when nobody does."""
        return self._emit is not None

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """From inside a tool: tell the run's stream how far the tool got.

        The stream (``agent.stream()``, ``on_event`` hooks, the CLI) gets a
        :class:`~agentkit.ToolProgress` event naming the tool call. ``progress`` grows with the
        work done; ``total`` is its end when known. Outside a tool call it does nothing.
        Call it from the run's event loop (an ``async`` tool).
        """
        call = _CURRENT_CALL.get()
        emit = self._emit
        if call is None or emit is None:
            return
        from .events import ToolProgress

        await emit(ToolProgress(call.id, call.name, float(progress), None if total is None else float(total), message))
