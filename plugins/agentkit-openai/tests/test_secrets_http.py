"""Secrets are taken out of error text only: answers are never touched, whatever the key looks like.

Against real HTTP servers on 127.0.0.1: the fake OpenAI server for whole runs, a scripted
loopback server for errors that echo what they were sent.
"""

from __future__ import annotations

import json

import pytest
from _openai_helpers import SSE_HEADERS, chunk, request, sse

import agentkit
from agentkit.errors import AuthenticationError, BadRequestError, ProviderError, ServerError
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply
from agentkit.testing.servers import Reply, json_reply

ANSWER = "The box of six wax foxes."
LONG_KEY = "sk-proj-VERYSECRETkey1234567890"
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


@pytest.fixture(scope="module")
def fake() -> FakeOpenAIServer:
    with FakeOpenAIServer() as server:
        yield server


@pytest.mark.parametrize("key", ["x", "e", "k", "o", LONG_KEY])
@pytest.mark.parametrize("streaming", [False, True])
def test_answers_and_usage_reach_the_session_untouched(fake, key: str, streaming: bool) -> None:
    # "x" is inside the answer, "e" inside the JSON keys, "k" inside "tokens": none may be touched.
    # A long key inside the answer is the model's text: an answer is not an error message.
    text = ANSWER if key != LONG_KEY else f"{ANSWER} Your key starts with {LONG_KEY}."
    fake.reset([FakeReply(text=text, usage=USAGE)])
    agent = agentkit.Agent("openai/gpt-4o-mini", base_url=fake.base_url, api_key=key, storage="memory")
    session = agent.session("s1")
    if streaming:
        deltas = [e.text for e in session.stream("Say it.") if isinstance(e, agentkit.TextDelta)]
        assert "".join(deltas) == text
        stored = session.history
    else:
        result = session.run("Say it.")
        assert result.text == text
        assert result.usage.input_tokens == 11 and result.usage.output_tokens == 7
        stored = session.history
    assert stored[-1].content == text
    assert stored[-1].usage is not None and stored[-1].usage.output_tokens == 7
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"


async def test_a_key_in_a_custom_header_is_redacted_in_errors(serve, make_provider) -> None:
    azure_key = "azure-0123456789abcdef0123"
    body = {"error": {"message": f"Access denied due to invalid subscription key {azure_key}.", "code": "401"}}
    server = serve([json_reply(body, status=401)])
    provider = make_provider(server.url + "/v1", api_key="", headers={"api-key": azure_key})
    with pytest.raises(AuthenticationError) as info:
        await provider.complete(request())
    assert server.requests[0].headers["api-key"] == azure_key  # sent as given
    err = info.value
    for text in (str(err), repr(err), err.body or "", err.hint or ""):
        assert azure_key not in text
    assert "<redacted>" in str(err)


async def test_a_token_header_of_any_name_is_redacted_in_errors(serve, make_provider) -> None:
    token = "tok-0123456789abcdef0123"
    server = serve([Reply(400, f"bad token {token}".encode())])
    provider = make_provider(server.url + "/v1", headers={"X-Gateway-Token": token})
    with pytest.raises(BadRequestError) as info:
        await provider.complete(request())
    assert token not in str(info.value) and "<redacted>" in str(info.value)


async def test_a_key_echoed_in_a_stream_error_is_redacted(serve, make_provider) -> None:
    error = {"error": {"message": f"upstream refused key {LONG_KEY}", "type": "server_error"}}
    body = sse(chunk({"role": "assistant", "content": ""}), json.dumps(error), done=False)
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1", api_key=LONG_KEY, max_retries=0)
    with pytest.raises(ServerError) as info:
        async for _ in provider.stream(request()):
            pass
    assert LONG_KEY not in str(info.value) and "<redacted>" in str(info.value)


async def test_a_key_echoed_in_a_bad_200_body_is_redacted(serve, make_provider) -> None:
    server = serve([Reply(200, f"<html>proxy says: key {LONG_KEY} unknown</html>".encode())])
    provider = make_provider(server.url + "/v1", api_key=LONG_KEY)
    with pytest.raises(ProviderError) as info:
        await provider.complete(request())
    assert LONG_KEY not in str(info.value) and "not JSON" in str(info.value)
