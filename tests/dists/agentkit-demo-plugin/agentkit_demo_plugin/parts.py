"""The demo plugin's tool, provider and store."""

from __future__ import annotations

from typing import Any

import agentkit


@agentkit.tool
def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: What to say.
    """
    return text.upper()


class EchoProvider(agentkit.Provider):
    name = "demo"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, **settings: Any) -> None:
        self.settings = settings

    async def complete(self, request: agentkit.ModelRequest) -> agentkit.ModelResponse:
        last = [m for m in request.messages if isinstance(m, agentkit.UserMessage)][-1]
        return agentkit.ModelResponse(agentkit.AssistantMessage("echo: " + last.text, model=request.model))


class DictStore:
    def __init__(self, **settings: Any) -> None:
        self.sessions: dict[str, list[Any]] = {}

    async def append(self, session_id: str, messages: list[Any]) -> None:
        self.sessions.setdefault(session_id, []).extend(messages)

    async def load(self, session_id: str) -> list[Any]:
        return list(self.sessions.get(session_id, []))
