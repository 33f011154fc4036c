"""Forgot the decorator on one hook: pluggy ignores register_tools, so its tool never appears."""

from typing import Any

import agentkit


def register_tools(registry: Any) -> None:  # no @agentkit.hookimpl
    def whisper(text: str) -> str:
        """Whisper the text."""
        return text.lower()

    registry.add(whisper)


@agentkit.hookimpl
def register_guardrails(registry: Any) -> None:
    registry.add("always_fine", lambda **options: None)


def helper() -> None:
    """Not named like a hook: no warning."""


__all__ = ["helper", "register_guardrails", "register_tools"]
