"""The run context: what hooks and tools see of the run they are part of."""

from __future__ import annotations

from typing import Any

import attrs

from .messages import Message, Usage

__all__ = ["RunContext"]


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
    _stop_requested: bool = attrs.field(default=False, alias="_stop_requested")

    def stop(self) -> None:
        """Finish the current turn cleanly, then end the run."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested
