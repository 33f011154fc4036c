"""Registers a tool named like agentkit-demo-plugin's: a name clash."""

from typing import Any

import agentkit


@agentkit.hookimpl
def register_tools(registry: Any) -> None:
    def shout(text: str) -> str:
        """Shout the text, very loudly."""
        return text.upper() + "!!!"

    registry.add(shout)
