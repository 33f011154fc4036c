"""Helpers shared by agentkit-openai's tests: SSE builders, requests, fast settings."""

from __future__ import annotations

import json
from typing import Any

from agentkit.events import ModelResponse
from agentkit.messages import UserMessage
from agentkit.providers import ModelRequest

#: Every variable a profile reads, cleared for each test so the machine's own keys never leak in.
KEY_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "ANTHROPIC_API_KEY",
)

#: Fast retries so fault tests take milliseconds, not seconds.
FAST = {"backoff_base": 0.01, "backoff_max": 0.02, "total_timeout": 20.0, "read_timeout": 10.0}


def request(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(model=kwargs.pop("model", "gpt-4o-mini"), messages=[UserMessage(text)], **kwargs)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [choice],
        **extra,
    }


def sse(*events: dict[str, Any] | str, done: bool = True, newline: str = "\n") -> bytes:
    """SSE bytes for chunk objects (or raw ``data`` strings), ending in ``data: [DONE]``."""
    out = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        out.append(f"data: {data}{newline}{newline}")
    if done:
        out.append(f"data: [DONE]{newline}{newline}")
    return "".join(out).encode()


SSE_HEADERS = {"content-type": "text/event-stream"}


async def collect(provider: Any, req: ModelRequest) -> tuple[list[Any], ModelResponse]:
    """Every event of ``provider.stream(req)`` and the final response."""
    events = [event async for event in provider.stream(req)]
    assert isinstance(events[-1], ModelResponse)
    return events[:-1], events[-1]
