"""Structured output from an OpenAI-style schema envelope, as users of the assistants design
wrote it: ``output_type={"name": ..., "schema": {...}, "strict": True}``.

Against a loopback OpenAI-compatible server: the envelope's name and strict flag must reach
the request body's ``response_format``, and the answer comes back as a dict.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentkit import Agent, RunCompleted
from agentkit.plugins import PluginHost, set_host
from agentkit.testing.fake_openai import FakeOpenAIServer

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}},
    "required": ["city", "temperature_c"],
    "additionalProperties": False,
}
ENVELOPE = {"name": "weather_report", "schema": SCHEMA, "strict": True}
ANSWER = {"city": "Oslo", "temperature_c": 21}


@pytest.fixture
def host() -> Iterator[PluginHost]:
    host = PluginHost()
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def agent_for(fake: FakeOpenAIServer, output_type: Any) -> Agent:
    return Agent("openai/gpt-4o-mini", base_url=fake.base_url, api_key="sk-test", output_type=output_type)


def sent_format(fake: FakeOpenAIServer) -> dict[str, Any]:
    response_format = fake.chat_requests[-1]["response_format"]
    assert response_format["type"] == "json_schema"
    return dict(response_format["json_schema"])


def test_the_envelope_puts_its_name_and_strict_flag_on_the_wire(
    host: PluginHost, fake: FakeOpenAIServer
) -> None:
    fake.reset([json.dumps(ANSWER)])
    result = agent_for(fake, ENVELOPE).run("Weather in Oslo?")
    assert result.output == ANSWER
    assert sent_format(fake) == {"name": "weather_report", "schema": SCHEMA, "strict": True}


def test_strict_false_is_sent_as_asked(host: PluginHost, fake: FakeOpenAIServer) -> None:
    fake.reset([json.dumps(ANSWER)])
    agent_for(fake, {**ENVELOPE, "strict": False}).run("Weather in Oslo?")
    sent = sent_format(fake)
    assert (sent["name"], sent["strict"]) == ("weather_report", False)


def test_async_and_streamed(host: PluginHost, fake: FakeOpenAIServer) -> None:
    fake.reset([json.dumps(ANSWER), json.dumps(ANSWER)])

    async def main() -> tuple[Any, Any]:
        async with agent_for(fake, ENVELOPE) as agent:
            result = await agent.arun("Weather in Oslo?")
            events = [e async for e in agent.astream("And now?")]
        return result, events[-1]

    result, last = asyncio.run(main())
    assert result.output == ANSWER
    assert isinstance(last, RunCompleted) and last.result.output == ANSWER
    assert all(b["response_format"]["json_schema"]["name"] == "weather_report" for b in fake.chat_requests)
    assert fake.chat_requests[-1]["stream"] is True


def test_an_answer_off_the_schema_is_sent_back_once_then_accepted(
    host: PluginHost, fake: FakeOpenAIServer
) -> None:
    fake.reset([json.dumps({"city": "Oslo"}), json.dumps(ANSWER)])
    result = agent_for(fake, ENVELOPE).run("Weather in Oslo?")
    assert result.output == ANSWER
    retry = fake.chat_requests[1]["messages"][-1]
    assert retry["role"] == "user" and "temperature_c" in retry["content"]
