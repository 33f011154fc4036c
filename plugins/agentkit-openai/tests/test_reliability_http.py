"""Retries, Retry-After, typed errors and secrets, against a real HTTP server with scripted faults."""

from __future__ import annotations

import email.utils
import logging
import time

import pytest
from _openai_helpers import SSE_HEADERS, chunk, request, sse

from agentkit.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
)
from agentkit.testing.servers import Reply, json_reply

SECRET = "sk-proj-VERYSECRETkey1234567890"


def completion(text: str = "ok") -> Reply:
    return json_reply(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        }
    )


def error(
    status: int, message: str, type_: str = "invalid_request_error", code: str | None = None, **headers: str
):
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return json_reply(body, status=status, headers={k.replace("_", "-"): v for k, v in headers.items()})


RATE = ("Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded")


async def test_429_with_retry_after_seconds_then_success(serve, make_provider) -> None:
    server = serve([error(429, *RATE, retry_after="1"), completion("after wait")])
    provider = make_provider(server.url + "/v1")
    started = time.monotonic()
    response = await provider.complete(request())
    assert response.message.content == "after wait"
    assert len(server.requests) == 2
    assert time.monotonic() - started >= 0.9  # honoured the server's wait, not the tiny backoff


async def test_429_with_retry_after_ms(serve, make_provider) -> None:
    server = serve([error(429, *RATE, retry_after_ms="150", retry_after="30"), completion()])
    provider = make_provider(server.url + "/v1")
    started = time.monotonic()
    await provider.complete(request())
    elapsed = time.monotonic() - started
    assert len(server.requests) == 2
    assert 0.14 <= elapsed < 5  # retry-after-ms wins over Retry-After


async def test_429_with_retry_after_http_date(serve, make_provider) -> None:
    when = email.utils.formatdate(time.time() + 1, usegmt=True)
    server = serve([error(429, *RATE, retry_after=when), completion()])
    provider = make_provider(server.url + "/v1")
    await provider.complete(request())
    assert len(server.requests) == 2


async def test_429_without_retry_after_backs_off_and_gives_up(serve, make_provider) -> None:
    server = serve([error(429, *RATE)])
    provider = make_provider(server.url + "/v1", max_retries=2)
    with pytest.raises(RateLimitError) as info:
        await provider.complete(request())
    assert len(server.requests) == 3
    assert info.value.status_code == 429 and "Rate limit reached" in str(info.value)


async def test_retry_after_longer_than_the_cap_raises_with_the_wait(serve, make_provider) -> None:
    server = serve([error(429, *RATE, retry_after="3600")])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(RateLimitError) as info:
        await provider.complete(request())
    assert info.value.retry_after == 3600
    assert len(server.requests) == 1


async def test_5xx_then_success(serve, make_provider) -> None:
    server = serve(
        [error(500, "The server had an error", "server_error"), Reply(502, "bad gateway"), completion("up")]
    )
    provider = make_provider(server.url + "/v1")
    response = await provider.complete(request())
    assert response.message.content == "up"
    assert len(server.requests) == 3


async def test_5xx_then_success_when_streaming(serve, make_provider) -> None:
    good = Reply(200, headers=SSE_HEADERS, chunks=[sse(chunk({"content": "up"}), chunk({}, "stop"))])
    server = serve([Reply(503, "unavailable"), good])
    provider = make_provider(server.url + "/v1")
    events = [e async for e in provider.stream(request())]
    assert events[-1].message.content == "up"
    assert len(server.requests) == 2


async def test_5xx_exhausted_is_a_server_error(serve, make_provider) -> None:
    server = serve([Reply(500, "oops")])
    provider = make_provider(server.url + "/v1", max_retries=1)
    with pytest.raises(ServerError):
        await provider.complete(request())
    assert len(server.requests) == 2


async def test_401_names_provider_and_variable_never_the_key(
    serve, make_provider, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    # a hostile server echoing the whole key back must not get it into our error either
    server = serve([error(401, f"Incorrect API key provided: {SECRET}.", code="invalid_api_key")])
    provider = make_provider(server.url + "/v1", api_key=None)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as info:
        await provider.complete(request())
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # the key was sent
    err = info.value
    assert "OPENAI_API_KEY" in str(err) and "openai" in str(err)
    assert err.env_var == "OPENAI_API_KEY" and err.status_code == 401
    assert len(server.requests) == 1  # never retried
    for text in (str(err), repr(err), err.hint or "", err.body or "", repr(provider), caplog.text):
        assert SECRET not in text
    assert "authorization" in caplog.text.lower()  # the debug log ran, with the header redacted


async def test_401_when_streaming(serve, make_provider) -> None:
    server = serve([error(401, "Incorrect API key provided", code="invalid_api_key")])
    provider = make_provider(server.url + "/v1", api_key=SECRET)
    with pytest.raises(AuthenticationError) as info:
        async for _ in provider.stream(request()):
            pass
    assert SECRET not in str(info.value)


async def test_400_context_length_is_its_own_type_and_not_retried(serve, make_provider) -> None:
    message = "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens."
    server = serve([error(400, message, code="context_length_exceeded")])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ContextLengthError) as info:
        await provider.complete(request())
    assert "maximum context length" in str(info.value)
    assert len(server.requests) == 1


async def test_other_400_is_a_bad_request_and_not_retried(serve, make_provider) -> None:
    server = serve([error(400, "Invalid value for 'temperature'")])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(BadRequestError, match="temperature"):
        await provider.complete(request(params={"temperature": 9}))
    assert len(server.requests) == 1


async def test_404_unknown_model(serve, make_provider) -> None:
    server = serve([error(404, "The model `gpt-9` does not exist", code="model_not_found")])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ModelNotFoundError) as info:
        await provider.complete(request(model="gpt-9"))
    assert info.value.model == "gpt-9"


async def test_connection_refused_is_a_connection_error(make_provider) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(ProviderConnectionError, match="cannot connect"):
        await provider.complete(request())


async def test_error_object_in_a_200_body_is_raised_typed(serve, make_provider) -> None:
    server = serve([json_reply({"error": {"message": "quota", "type": "insufficient_quota"}})])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(RateLimitError, match="quota"):
        await provider.complete(request())


async def test_a_body_that_is_not_json(serve, make_provider) -> None:
    server = serve([Reply(200, "<html>proxy login</html>", {"content-type": "text/html"})])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(Exception, match="not JSON") as info:
        await provider.complete(request())
    assert "proxy login" in str(info.value)


async def test_slow_first_byte_within_first_byte_timeout_is_not_a_read_timeout(serve, make_provider) -> None:
    def loading_model(_request):
        time.sleep(0.6)  # a local server loading its model before it answers
        return completion("loaded")

    server = serve(loading_model)
    provider = make_provider(server.url + "/v1", read_timeout=0.2, first_byte_timeout=5, max_retries=0)
    assert (await provider.complete(request())).message.content == "loaded"


async def test_first_byte_timeout(serve, make_provider) -> None:
    from agentkit.errors import ProviderTimeoutError

    def stuck(_request):
        time.sleep(1.0)
        return completion()

    server = serve(stuck)
    provider = make_provider(server.url + "/v1", first_byte_timeout=0.2, max_retries=0)
    with pytest.raises(ProviderTimeoutError, match="no response"):
        await provider.complete(request())
