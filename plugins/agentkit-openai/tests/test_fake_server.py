"""agentkit.testing.fake_openai.FakeOpenAIServer, driven through the real provider."""

from __future__ import annotations

import json

import pytest
from _openai_helpers import request

from agentkit.errors import AuthenticationError, BadRequestError, RateLimitError
from agentkit.events import TextDelta, ToolCallStarted
from agentkit.messages import AssistantMessage
from agentkit.providers import ToolSpec
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call
from agentkit.testing.servers import Cut, Reply

WEATHER = ToolSpec("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})


@pytest.fixture(scope="module")
def fake() -> FakeOpenAIServer:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def script(fake: FakeOpenAIServer):
    """Reset the module's fake server to a new script."""

    def use(items=(), *, default=None, api_key=None):
        fake.api_key = api_key
        return fake.reset(items, default=default)

    return use


async def test_text_and_tool_calls_streamed_and_whole(script, make_provider) -> None:
    server = script(
        [
            [
                tool_call("get_weather", {"city": "Paris"}, id="c1"),
                tool_call("get_weather", {"city": "Oslo"}),
            ],
            "It is sunny.",
            tool_call("get_weather", {"city": "Rome"}),
            FakeReply(text="42", reasoning="thinking"),
        ]
    )
    provider = make_provider(server.base_url)
    events = [e async for e in provider.stream(request(tools=[WEATHER]))]
    response = events[-1]
    assert [c.name for c in response.message.tool_calls] == ["get_weather", "get_weather"]
    assert response.message.tool_calls[0].id == "c1"
    assert [json.loads(c.arguments)["city"] for c in response.message.tool_calls] == ["Paris", "Oslo"]
    assert sum(isinstance(e, ToolCallStarted) for e in events) == 2
    assert response.usage.input_tokens > 0  # the usage chunk came because include_usage was asked

    events = [e async for e in provider.stream(request())]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is sunny."
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1  # streamed in pieces

    whole = await provider.complete(request(tools=[WEATHER]))
    assert whole.message.tool_calls[0].name == "get_weather" and whole.finish_reason == "tool_calls"
    whole = await provider.complete(request())
    assert (whole.message.content, whole.message.reasoning) == ("42", "thinking")
    assert len(server.chat_requests) == 4 and server.chat_requests[0]["stream"] is True


async def test_callables_messages_and_raw_replies(script, make_provider) -> None:
    def echo(body: dict) -> str:
        return "echo: " + body["messages"][-1]["content"]

    server = script([echo, AssistantMessage("from a message"), Reply(200, headers={}, chunks=[Cut()])])
    provider = make_provider(server.base_url, max_retries=0)
    assert (await provider.complete(request("ping"))).message.content == "echo: ping"
    assert (await provider.complete(request())).message.content == "from a message"
    with pytest.raises(Exception):  # noqa: B017 - the raw Cut reply breaks the connection
        await provider.complete(request())


async def test_errors_exhaustion_and_default(script, make_provider) -> None:
    server = script(
        [
            FakeReply(
                status=429,
                error={"message": "slow down", "type": "rate_limit_error"},
                headers={"retry-after": "999"},
            )
        ]
    )
    provider = make_provider(server.base_url)
    with pytest.raises(RateLimitError) as info:
        await provider.complete(request())
    assert info.value.retry_after == 999
    with pytest.raises(BadRequestError, match="script is exhausted"):
        await provider.complete(request())
    script(default="always")
    assert (await provider.complete(request())).message.content == "always"
    assert (await provider.complete(request())).message.content == "always"


async def test_error_inside_the_stream(script, make_provider) -> None:
    server = script(
        [FakeReply(text="partial", error={"message": "boom", "type": "server_error"}, in_stream=True)]
    )
    provider = make_provider(server.base_url)
    with pytest.raises(Exception, match="boom"):
        async for _ in provider.stream(request()):
            pass


async def test_api_key_is_checked(script, make_provider) -> None:
    server = script(["hello"], api_key="sk-right")
    with pytest.raises(AuthenticationError):
        await make_provider(server.base_url, api_key="sk-wrong").complete(request())
    assert (
        await make_provider(server.base_url, api_key="sk-right").complete(request())
    ).message.content == "hello"


async def test_embeddings_are_deterministic_unit_vectors_and_models_listed(script, make_provider) -> None:
    server = script()
    provider = make_provider(server.base_url)
    first = await provider.embed("text-embedding-3-small", ["cat", "dog", "cat"])
    assert first[0] == first[2] and first[0] != first[1]
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-9 for v in first)
    assert len(first[0]) == server.embedding_dim
    assert server.embedding_requests[0]["input"] == ["cat", "dog", "cat"]
    assert [m.id for m in await provider.list_models()] == ["gpt-4o-mini", "text-embedding-3-small"]


def test_callable_script_answers_every_request() -> None:
    import httpx

    with FakeOpenAIServer(lambda body: f"n={len(body['messages'])}") as server:
        for n in (1, 2):
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}] * n}
            reply = httpx.post(server.base_url + "/chat/completions", json=body).json()
            assert reply["choices"][0]["message"]["content"] == f"n={n}"
        assert httpx.get(server.base_url + "/nope").status_code == 404
