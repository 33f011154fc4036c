"""How long each model call took: the loop records it on the answer (``AssistantMessage.duration``),
sessions store it, the session format carries it, and it is neither content (equality) nor part of
the response cache's key. Against the fake OpenAI-compatible server on 127.0.0.1, which answers
after a pause."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agentkit import Agent, AssistantMessage, ModelRequest, UserMessage
from agentkit.cache import cache_key
from agentkit.serialization import from_dict, to_dict
from agentkit.stores import close_shared_stores, open_store
from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call
from agentkit.tools import tool

PAUSE = 0.3


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


def slow(item: Any) -> Any:
    def answer(_body: dict[str, Any]) -> Any:
        time.sleep(PAUSE)
        return item

    return answer


def durations(messages: Any) -> list[float | None]:
    return [m.duration for m in messages if isinstance(m, AssistantMessage)]


def test_every_model_call_records_how_long_it_took(tmp_path: Path) -> None:
    with FakeOpenAIServer([slow(tool_call("ping")), slow("pong it is")]) as server:
        agent = Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", tools=[ping],
                      storage=f"sqlite:{tmp_path / 's.db'}")  # fmt: skip
        result = agent.session("timed").run("ping?")
        server.reset([slow("streamed")])
        streamed = list(agent.stream("again"))
    took = durations(result.messages)
    assert len(took) == 2 and all(d is not None and PAUSE <= d < PAUSE + 10 for d in took), took
    final = streamed[-1].result  # type: ignore[union-attr]
    assert durations(final.messages)[0] >= PAUSE  # type: ignore[operator]

    async def stored() -> list[Any]:
        store = open_store(f"sqlite:{tmp_path / 's.db'}")
        try:
            return await store.read_messages("timed")
        finally:
            await store.aclose()

    assert durations(asyncio.run(stored())) == took  # the store keeps them exactly
    close_shared_stores()


def test_duration_is_a_record_not_content() -> None:
    timed = AssistantMessage("hi", model="m", duration=1.25)
    assert to_dict(timed)["duration"] == 1.25
    assert "duration" not in to_dict(AssistantMessage("hi", model="m"))
    back = from_dict(to_dict(timed), AssistantMessage)
    assert back.duration == 1.25
    assert timed == AssistantMessage("hi", model="m", duration=9.0) == AssistantMessage("hi", model="m")
    assert hash(timed) == hash(AssistantMessage("hi", model="m"))


def test_how_long_earlier_answers_took_is_not_part_of_the_cache_key() -> None:
    def request(duration: float | None) -> ModelRequest:
        answer = AssistantMessage("hello", model="m", duration=duration)
        return ModelRequest(model="m", messages=[UserMessage("hi"), answer, UserMessage("and?")])

    assert cache_key(request(0.5), "openai") == cache_key(request(3.0), "openai") == cache_key(request(None), "openai")
    other = ModelRequest(model="m", messages=[UserMessage("hi"), AssistantMessage("bye", model="m"), UserMessage("and?")])
    assert cache_key(other, "openai") != cache_key(request(None), "openai")
