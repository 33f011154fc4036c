"""End to end through the public API: ``Agent("ollama/<model>", base_url=server.url)``."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import pytest
from fake_ollama_server import FAST, Chat, FakeOllama

import agentkit
from agentkit.events import ReasoningDelta, RunCompleted, TextDelta, ToolCallResult, TurnCompleted
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.plugins import PluginHost

pytest.importorskip("agentkit.agent", reason="the Agent is not there yet")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 12


class Person(TypedDict):
    name: str
    age: int


def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: The city's name.
    """
    return f"11 degrees and rain in {city}"


@pytest.fixture
def host(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> PluginHost:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path))
    # Only this distribution's plugin besides the built-ins: other plugins are not under test here.
    return PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-ollama"})


@pytest.fixture
async def make_agent(ollama: FakeOllama, host: PluginHost) -> AsyncIterator[Any]:
    agents: list[Any] = []

    def make(**kw: Any) -> Any:
        agent = agentkit.Agent(
            "ollama/qwen3:8b", base_url=ollama.url, provider_settings=FAST, plugin_host=host, **kw
        )
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.aclose()


async def test_plain_answer(ollama: FakeOllama, make_agent: Any) -> None:
    ollama.script(Chat(content="Paris is the capital of France."))
    result = await make_agent(system="Be brief.").arun("Capital of France?")
    assert result.text == "Paris is the capital of France."
    assert result.usage.input_tokens == 26 and result.usage.requests == 1
    body = ollama.chat_requests()[0]
    assert body["model"] == "qwen3:8b"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][-1] == {"role": "user", "content": "Capital of France?"}


async def test_tool_round_trip(ollama: FakeOllama, make_agent: Any) -> None:
    def answer(body: dict[str, Any]) -> Chat:
        tool_message = body["messages"][-1]
        assert tool_message["role"] == "tool" and tool_message["tool_name"] == "get_weather"
        return Chat(content=f"Forecast: {tool_message['content']}.")

    ollama.script(Chat(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]), answer)
    result = await make_agent(tools=[get_weather]).arun("Weather in Paris?")
    assert result.text == "Forecast: 11 degrees and rain in Paris."
    assistant = next(m for m in result.messages if isinstance(m, AssistantMessage) and m.tool_calls)
    call = assistant.tool_calls[0]
    assert json.loads(call.arguments) == {"city": "Paris"}
    tool_result = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert tool_result.tool_call_id == call.id and not tool_result.is_error

    first, second = ollama.chat_requests()
    assert first["tools"][0]["function"]["name"] == "get_weather"
    sent_call = second["messages"][-2]["tool_calls"][0]
    assert sent_call["function"] == {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}
    assert second["messages"][-1]["tool_call_id"] == call.id


async def test_streaming(ollama: FakeOllama, make_agent: Any) -> None:
    ollama.script(Chat(content="Once upon a time, a llama.", thinking="A story, short."))
    events = [e async for e in make_agent().astream("Tell me a story")]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Once upon a time, a llama."
    assert sum(isinstance(e, TextDelta) for e in events) > 3
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "A story, short."
    assert any(isinstance(e, TurnCompleted) for e in events)
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].result.text == "Once upon a time, a llama."


async def test_streaming_with_a_tool(ollama: FakeOllama, make_agent: Any) -> None:
    ollama.script(
        Chat(tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}]),
        Chat(content="Rainy in Oslo."),
    )
    events = [e async for e in make_agent(tools=[get_weather]).astream("Weather in Oslo?")]
    results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [r.result.content for r in results] == ["11 degrees and rain in Oslo"]
    assert events[-1].result.text == "Rainy in Oslo."


async def test_structured_output(ollama: FakeOllama, make_agent: Any) -> None:
    ollama.script(Chat(content='{"name": "Ollama", "age": 22}'))
    result = await make_agent(output_type=Person).arun("Ollama is 22. Who is it?")
    assert result.output == {"name": "Ollama", "age": 22}
    schema = ollama.chat_requests()[0]["format"]
    assert schema["type"] == "object" and set(schema["properties"]) == {"name", "age"}


async def test_images(ollama: FakeOllama, make_agent: Any, tmp_path: Any) -> None:
    image = tmp_path / "pig.png"
    image.write_bytes(PNG)
    ollama.script(Chat(content="A pig."))
    result = await make_agent().arun("What is in this picture?", images=[str(image)])
    assert result.text == "A pig."
    user = ollama.chat_requests()[0]["messages"][-1]
    assert user["content"] == "What is in this picture?"
    assert [base64.b64decode(i) for i in user["images"]] == [PNG]


async def test_thinking_and_params(ollama: FakeOllama, make_agent: Any) -> None:
    ollama.script(Chat(thinking="Two and two make four.", content="4"))
    result = await make_agent(params={"think": True, "temperature": 0, "max_tokens": 64}).arun("2+2?")
    assert result.text == "4"
    final = next(m for m in result.messages if isinstance(m, AssistantMessage))
    assert final.reasoning == "Two and two make four."
    body = ollama.chat_requests()[0]
    assert body["think"] is True
    assert body["options"]["temperature"] == 0 and body["options"]["num_predict"] == 64


async def test_unknown_model_fails_with_the_pull_command(ollama: FakeOllama, host: PluginHost) -> None:
    agent = agentkit.Agent("ollama/llama9:1b", base_url=ollama.url, provider_settings=FAST, plugin_host=host)
    with pytest.raises(agentkit.ModelNotFoundError, match="ollama pull llama9:1b"):
        await agent.arun("hi")
    await agent.aclose()


async def test_configured_in_agentkit_toml(ollama: FakeOllama, host: PluginHost, tmp_path: Any) -> None:
    config = pytest.importorskip("agentkit.config")
    path = tmp_path / "agentkit.toml"
    path.write_text(
        f"""
[providers.ollama]
base_url = "{ollama.url}"
first_byte_timeout = 900
max_retries = 0

[providers.ollama.options]
num_ctx = 8192
temperature = 0.2
think = true
keep_alive = "30m"

[agents.local]
model = "ollama/qwen3:8b"
system = "You run locally."
""",
        encoding="utf-8",
    )
    agent = config.load_agent(path, "local", host=host, environ={"AGENTKIT_HOME": str(tmp_path)})
    ollama.script(Chat(content="configured"))
    try:
        assert (await agent.arun("hi")).text == "configured"
        assert agent.provider.settings.first_byte_timeout == 900
        assert await agent.provider.context_window("qwen3:8b") == 8192
    finally:
        await agent.aclose()
    body = ollama.chat_requests()[0]
    assert body["options"] == {"num_ctx": 8192, "temperature": 0.2}
    assert body["think"] is True and body["keep_alive"] == "30m"
    assert "POST /api/show" not in ollama.paths()  # num_ctx answers the context budget
