"""End to end through the public Agent API against the fake OpenAI server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json

import attrs
import pytest

import agentkit
from agentkit.errors import AuthenticationError, IncompleteStreamError
from agentkit.events import RunCompleted, TextDelta, ToolCallResult, ToolCallStarted, TurnCompleted
from agentkit.messages import AssistantMessage, ToolMessage, UserMessage
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call
from agentkit.testing.servers import Cut, Reply

FAST = {"backoff_base": 0.01, "backoff_max": 0.02}


@pytest.fixture(scope="module")
def fake() -> FakeOpenAIServer:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def weather(calls: list[str]) -> agentkit.Tool:
    @agentkit.tool
    def get_weather(city: str) -> str:
        """The weather of a city."""
        calls.append(city)
        return f"sunny in {city}"

    return get_weather


def agent_for(server: FakeOpenAIServer, **kwargs) -> agentkit.Agent:
    kwargs.setdefault("provider_settings", FAST)
    return agentkit.Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", **kwargs)


def test_run_with_a_tool_round_trip(fake, weather, calls) -> None:
    fake.reset([tool_call("get_weather", {"city": "Paris"}), "It is sunny in Paris."])
    result = agent_for(fake, tools=[weather], system="Be brief.").run("Weather in Paris?")
    assert result.text == "It is sunny in Paris."
    assert calls == ["Paris"]
    assert [type(m) for m in result.messages] == [
        UserMessage,
        AssistantMessage,
        ToolMessage,
        AssistantMessage,
    ]
    assert result.usage.requests == 2 and result.usage.input_tokens > 0
    first, second = fake.chat_requests
    assert first["model"] == "gpt-4o-mini" and first["messages"][0] == {
        "role": "system",
        "content": "Be brief.",
    }
    assert first["tools"][0]["function"]["name"] == "get_weather"
    call_id = second["messages"][-2]["tool_calls"][0]["id"]
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": call_id, "content": "sunny in Paris"}


def test_stream_with_a_tool_round_trip(fake, weather, calls) -> None:
    fake.reset([tool_call("get_weather", {"city": "Oslo"}), "Sunny in Oslo, all day long."])
    events = list(agent_for(fake, tools=[weather]).stream("Weather in Oslo?"))
    assert calls == ["Oslo"]
    assert any(isinstance(e, ToolCallStarted) and e.name == "get_weather" for e in events)
    assert any(isinstance(e, ToolCallResult) and e.result.content == "sunny in Oslo" for e in events)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Sunny in Oslo, all day long."
    assert sum(isinstance(e, TurnCompleted) for e in events) == 2
    assert isinstance(events[-1], RunCompleted) and events[-1].result.text == text
    assert all(r["stream"] is True for r in fake.chat_requests)


@attrs.frozen
class City:
    name: str
    country: str


def test_structured_output_through_response_format(fake) -> None:
    fake.reset([json.dumps({"name": "Paris", "country": "France"})])
    result = agent_for(fake, output_type=City).run("A city, please.")
    assert result.output == City("Paris", "France")
    response_format = fake.chat_requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert set(response_format["json_schema"]["schema"]["required"]) == {"name", "country"}


def test_tool_call_cut_by_the_length_limit_is_never_run(fake, weather, calls) -> None:
    fake.reset(
        [FakeReply(tool_calls=[tool_call("get_weather", '{"city": "Par')], finish_reason="length"), "Sorry."]
    )
    result = agent_for(fake, tools=[weather]).run("Weather?")
    assert calls == []
    tool_results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert tool_results and tool_results[0].is_error
    assert result.text == "Sorry."


def test_malformed_tool_arguments_become_an_error_result(fake, weather, calls) -> None:
    fake.reset(
        [tool_call("get_weather", "{city: Paris"), tool_call("get_weather", {"city": "Paris"}), "Sunny."]
    )
    result = agent_for(fake, tools=[weather]).run("Weather?")
    assert calls == ["Paris"]  # only the well-formed call ran
    first_result = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert first_result.is_error
    assert fake.chat_requests[1]["messages"][-1]["role"] == "tool"


def test_key_and_base_url_from_the_environment(fake, monkeypatch) -> None:
    fake.reset(["hello"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    assert agentkit.Agent("openai/gpt-4o-mini").run("hi").text == "hello"
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-from-env"


def test_missing_key_names_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AuthenticationError) as info:
        agentkit.Agent("openai/gpt-4o-mini").run("hi")
    assert "OPENAI_API_KEY" in str(info.value)


def test_a_profile_by_name(fake, monkeypatch) -> None:
    fake.reset(["from groq"])
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    agent = agentkit.Agent("groq/llama-3.1-8b-instant", base_url=fake.base_url)
    assert agent.run("hi").text == "from groq"
    assert fake.chat_requests[0]["model"] == "llama-3.1-8b-instant"
    assert fake.requests[-1].headers["authorization"] == "Bearer gsk-test"


def test_a_stream_cut_after_output_fails_the_run(fake) -> None:
    head = b'data: {"choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": null}]}\n\n'
    fake.reset([Reply(200, headers={"content-type": "text/event-stream"}, chunks=[head, Cut()])])
    with pytest.raises(IncompleteStreamError):
        list(agent_for(fake).stream("hi"))
    assert len(fake.chat_requests) == 1
