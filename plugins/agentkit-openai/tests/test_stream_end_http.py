"""How a streamed answer ends: an empty stream is an error (as without streaming), and a complete
answer is not lost when the server keeps the connection open without sending ``[DONE]``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from _openai_helpers import SSE_HEADERS, chunk, collect, request, sse

import agentkit
from agentkit.errors import ProviderError
from agentkit.events import TextDelta
from agentkit.testing.servers import Reply, json_reply

USAGE = {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
NO_CHOICES = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": []}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test: lets a server that holds its connection open hang up."""
    event = threading.Event()
    yield event
    event.set()


def held_open(body: bytes, release: threading.Event) -> Iterator[bytes]:
    """Send ``body``, then keep the connection open (no more bytes) until released."""
    yield body
    release.wait(60)


# -- empty responses ----------------------------------------------------------------------------


async def test_an_empty_stream_is_an_error_like_an_empty_response(serve, make_provider) -> None:
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse(NO_CHOICES)])])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ProviderError, match="no choices") as streamed:
        await collect(provider, request())
    serve([json_reply({**NO_CHOICES, "object": "chat.completion", "usage": USAGE})])
    with pytest.raises(ProviderError, match="no choices") as whole:
        await provider.complete(request())
    assert type(streamed.value) is type(whole.value)


async def test_an_empty_stream_with_only_usage_is_an_error(serve, make_provider) -> None:
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse({**NO_CHOICES, "usage": USAGE})])])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ProviderError, match="no choices"):
        await collect(provider, request())


async def test_an_empty_answer_with_a_choice_is_still_an_answer(serve, make_provider) -> None:
    body = sse(chunk({"role": "assistant", "content": ""}), chunk({}, "stop"))
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[body])])
    provider = make_provider(server.url + "/v1")
    _events, response = await collect(provider, request())
    assert response.message.content == "" and response.message.finish_reason == "stop"


def test_an_empty_stream_is_not_stored(serve) -> None:
    server = serve([Reply(200, headers=SSE_HEADERS, chunks=[sse(NO_CHOICES)])])
    agent = agentkit.Agent(
        "openai/gpt-4o-mini", base_url=server.url + "/v1", api_key="x", storage="memory",
        provider_settings={"max_retries": 0},
    )
    session = agent.session("empty")
    with pytest.raises(ProviderError, match="no choices"):
        for _ in session.stream("Hello?"):
            pass
    assert session.history == []


# -- a server that does not hang up -----------------------------------------------------------------


async def test_a_complete_answer_without_done_ends_after_a_short_grace(serve, make_provider, release) -> None:
    body = sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "All "}),
        chunk({"content": "there."}),
        chunk({}, "stop"),
        {**NO_CHOICES, "usage": USAGE},
        done=False,
    )
    server = serve(lambda _request: Reply(200, headers=SSE_HEADERS, chunks=held_open(body, release)))
    provider = make_provider(server.url + "/v1", read_timeout=30.0, total_timeout=60.0)
    started = time.monotonic()
    events, response = await collect(provider, request())
    elapsed = time.monotonic() - started
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "All there."
    assert response.message.content == "All there." and response.message.finish_reason == "stop"
    assert response.usage.input_tokens == 9 and response.usage.output_tokens == 4
    assert elapsed < 15  # the short grace, not the 30 s read timeout
    assert len(server.requests) == 1


async def test_finish_without_the_asked_for_usage_or_done_still_ends(serve, make_provider, release) -> None:
    body = sse(chunk({"role": "assistant", "content": "Done."}), chunk({}, "stop"), done=False)
    server = serve(lambda _request: Reply(200, headers=SSE_HEADERS, chunks=held_open(body, release)))
    provider = make_provider(server.url + "/v1", read_timeout=30.0, total_timeout=60.0)
    started = time.monotonic()
    _events, response = await collect(provider, request())
    assert response.message.content == "Done." and response.usage.requests == 1
    assert time.monotonic() - started < 15


def test_a_held_open_stream_is_stored_by_the_run(serve, release) -> None:
    body = sse(chunk({"role": "assistant", "content": "Kept."}), chunk({}, "stop"), {**NO_CHOICES, "usage": USAGE},
               done=False)
    server = serve(lambda _request: Reply(200, headers=SSE_HEADERS, chunks=held_open(body, release)))
    agent = agentkit.Agent(
        "openai/gpt-4o-mini", base_url=server.url + "/v1", api_key="x", storage="memory",
        provider_settings={"read_timeout": 30.0},
    )
    session = agent.session("held")
    text = "".join(e.text for e in session.stream("Hello?") if isinstance(e, TextDelta))
    assert text == "Kept."
    assert [m.role for m in session.history] == ["user", "assistant"]
    assert session.history[-1].content == "Kept."


async def test_a_stream_without_finish_that_stalls_is_still_a_timeout(serve, make_provider, release) -> None:
    from agentkit.errors import ProviderTimeoutError

    body = sse(chunk({"role": "assistant", "content": "Half"}), done=False)
    server = serve(lambda _request: Reply(200, headers=SSE_HEADERS, chunks=held_open(body, release)))
    provider = make_provider(server.url + "/v1", read_timeout=1.0, max_retries=0)
    with pytest.raises(ProviderTimeoutError):
        await collect(provider, request())
