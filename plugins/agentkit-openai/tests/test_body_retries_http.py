"""A non-streaming answer whose body breaks before it reached the caller is sent again, like a stream.

The server answers 200, starts the JSON body, then cuts the connection (or stalls); the next
attempt gets the whole answer. Nothing was handed to the caller, so the retry is safe.
"""

from __future__ import annotations

import json

import pytest
from _openai_helpers import request

import agentkit
from agentkit.errors import IncompleteStreamError, ProviderTimeoutError
from agentkit.testing.servers import Cut, Pause, Reply, json_reply


def completion(text: str = "whole") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def truncated(data: dict) -> Reply:
    """200, half of the JSON body, then the connection is cut."""
    body = json.dumps(data).encode()
    return Reply(200, headers={"content-type": "application/json"}, chunks=[body[: len(body) // 2], Cut()])


RESET_AFTER_HEADERS = Reply(200, headers={"content-type": "application/json"}, chunks=[Cut()])


@pytest.mark.parametrize("fault", [truncated(completion()), RESET_AFTER_HEADERS], ids=["truncated", "reset"])
async def test_complete_retries_a_broken_body(serve, make_provider, fault: Reply) -> None:
    server = serve([fault, json_reply(completion("second try"))])
    provider = make_provider(server.url + "/v1")
    response = await provider.complete(request())
    assert response.message.content == "second try"
    assert len(server.requests) == 2


async def test_complete_retries_a_stalled_body(serve, make_provider) -> None:
    body = json.dumps(completion()).encode()
    stalled = Reply(200, headers={"content-type": "application/json"}, chunks=[body[:10], Pause(3.0), body[10:]])
    server = serve([stalled, json_reply(completion("after the stall"))])
    provider = make_provider(server.url + "/v1", read_timeout=0.5)
    response = await provider.complete(request())
    assert response.message.content == "after the stall"
    assert len(server.requests) == 2


async def test_a_body_that_keeps_breaking_fails_after_the_retries(serve, make_provider) -> None:
    server = serve([truncated(completion())])
    provider = make_provider(server.url + "/v1", max_retries=2)
    with pytest.raises(IncompleteStreamError):
        await provider.complete(request())
    assert len(server.requests) == 3


async def test_no_retry_when_retries_are_off(serve, make_provider) -> None:
    body = json.dumps(completion()).encode()
    server = serve([Reply(200, headers={"content-type": "application/json"}, chunks=[body[:10], Pause(3.0)])])
    provider = make_provider(server.url + "/v1", read_timeout=0.5, max_retries=0)
    with pytest.raises(ProviderTimeoutError):
        await provider.complete(request())
    assert len(server.requests) == 1


async def test_embeddings_and_models_retry_a_broken_body_too(serve, make_provider) -> None:
    vectors = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.5]}]}
    models = {"object": "list", "data": [{"id": "m1", "object": "model"}]}
    server = serve([truncated(vectors), json_reply(vectors), truncated(models), json_reply(models)])
    provider = make_provider(server.url + "/v1")
    assert await provider.embed("e", ["text"]) == [[0.5, 0.5]]
    assert [m.id for m in await provider.list_models()] == ["m1"]
    assert len(server.requests) == 4


def test_a_run_survives_a_broken_body(serve) -> None:
    server = serve([truncated(completion()), json_reply(completion("The answer."))])
    agent = agentkit.Agent(
        "openai/gpt-4o-mini",
        base_url=server.url + "/v1",
        api_key="x",
        provider_settings={"backoff_base": 0.01, "backoff_max": 0.02},
    )
    assert agent.run("Question?").text == "The answer."
    assert len(server.requests) == 2
