"""agentkit.http's timeouts (one watchdog timer per exchange), against a real loopback server.

The send and every read of the body are guarded by a single timer that is re-armed lazily, not
by an ``asyncio.timeout`` per chunk. These tests pin what that must keep: the first-byte, idle
and total limits, a cancellation from outside staying a CancelledError, the task's cancel count
left clean, and no timer left behind once a response is over, however it ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from agentkit.errors import IncompleteStreamError, ProviderError, ProviderTimeoutError
from agentkit.http import HttpClient, HttpSettings, aiter_sse
from agentkit.testing.servers import Cut, LoopbackServer, Pause, RecordedRequest, Reply

SSE = {"content-type": "text/event-stream"}


def event(n: int) -> bytes:
    return f"data: {n}\n\n".encode()


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[LoopbackServer, dict[str, Any]]]:
    slot: dict[str, Any] = {}

    def handle(request: RecordedRequest) -> Reply:
        return slot["handler"](request)

    with LoopbackServer(handle) as server:
        yield server, slot


@pytest.fixture
def serve(_server: tuple[LoopbackServer, dict[str, Any]]) -> Iterator[Callable[..., LoopbackServer]]:
    """``serve(reply_or_handler)``: what the shared server answers in this test."""
    server, slot = _server

    def use(reply: Reply | Callable[[RecordedRequest], Reply]) -> LoopbackServer:
        slot["handler"] = reply if callable(reply) else (lambda _request: reply)
        server.requests.clear()
        return server

    yield use
    slot.pop("handler", None)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., HttpClient]]:
    made: list[HttpClient] = []

    def make(server: LoopbackServer, **settings: Any) -> HttpClient:
        defaults: dict[str, Any] = {"max_retries": 0, "backoff_base": 0.01, "backoff_max": 0.02}
        client = HttpClient(
            provider="test", base_url=server.url, settings=HttpSettings(**{**defaults, **settings})
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def live_timers() -> list[asyncio.TimerHandle]:
    """Timers still pending on the running loop (cancelled ones wait in the heap until popped)."""
    loop = asyncio.get_running_loop()
    return [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]


async def read_all(client: HttpClient) -> list[bytes]:
    response = await client.open("POST", "/v1/x", json_body={"q": 1}, model="m")
    try:
        return [chunk async for chunk in response.aiter_bytes()]
    finally:
        await response.aclose()


# -- the limits -------------------------------------------------------------------------------


async def test_a_stall_after_some_chunks_raises_within_the_read_timeout(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), event(2), Pause(3.0), event(3)]))
    client = make_client(server, read_timeout=0.3, first_byte_timeout=5)
    response = await client.open("POST", "/v1/x", model="m")
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="stalled") as info:
        try:
            async for sse in aiter_sse(response.aiter_bytes()):
                seen.append(sse.data)
        finally:
            await response.aclose()
    elapsed = time.monotonic() - started
    assert seen == ["1", "2"]
    assert 0.25 <= elapsed < 1.5, elapsed
    assert info.value.provider == "test" and info.value.model == "m"
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]  # our cancel was taken back
    await asyncio.sleep(0.01)  # and the task runs on normally
    assert live_timers() == []


async def test_a_steady_trickle_longer_than_the_read_timeout_is_fine(serve, make_client) -> None:
    # 12 gaps of 0.1s: the whole body takes four read timeouts, no single gap comes near one,
    # so the watchdog fires early several times and must re-arm each time instead of cancelling.
    chunks: list[bytes | Pause] = []
    for n in range(12):
        chunks += [Pause(0.1), event(n)]
    server = serve(Reply(200, headers=SSE, chunks=chunks))
    client = make_client(server, read_timeout=0.3, first_byte_timeout=0.3)
    started = time.monotonic()
    body = b"".join(await read_all(client))
    assert body == b"".join(event(n) for n in range(12))
    assert time.monotonic() - started >= 1.0
    assert live_timers() == []


async def test_the_first_chunk_gets_the_first_byte_timeout_the_next_ones_the_read_timeout(
    serve, make_client
) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[Pause(0.6), event(1), event(2)]))
    client = make_client(server, read_timeout=0.2, first_byte_timeout=5)
    assert b"".join(await read_all(client)) == event(1) + event(2)  # 0.6s > read_timeout: still fine

    serve(Reply(200, headers=SSE, chunks=[Pause(3.0), event(1)]))
    client = make_client(server, read_timeout=5, first_byte_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="stalled"):
        await read_all(client)
    assert time.monotonic() - started < 1.5

    serve(Reply(200, headers=SSE, chunks=[event(1), Pause(0.6), event(2)]))
    client = make_client(server, read_timeout=0.2, first_byte_timeout=5)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="stalled"):
        await read_all(client)  # after the first chunk, the (shorter) read timeout applies
    assert time.monotonic() - started < 0.55

    # A long first-byte wait moves the timer far out; the read timeout after it must pull it back.
    serve(Reply(200, headers=SSE, chunks=[Pause(0.5), event(1), Pause(1.5), event(2)]))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="stalled"):
        await read_all(client)
    assert 0.65 <= time.monotonic() - started < 1.2
    assert live_timers() == []


async def test_a_trickle_hits_the_total_deadline(serve, make_client) -> None:
    chunks: list[bytes | Pause] = [event(0)]
    for n in range(1, 40):
        chunks += [Pause(0.1), event(n)]
    server = serve(Reply(200, headers=SSE, chunks=chunks))
    client = make_client(server, read_timeout=5, first_byte_timeout=5, total_timeout=0.7)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="deadline"):
        await read_all(client)
    assert 0.6 <= time.monotonic() - started < 1.5
    assert live_timers() == []


async def test_no_response_within_the_first_byte_timeout(serve, make_client) -> None:
    def slow(_request: RecordedRequest) -> Reply:
        time.sleep(1.5)
        return Reply(200, "late")

    server = serve(slow)
    client = make_client(server, read_timeout=5, first_byte_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match=r"no response from .* \(TimeoutError\)"):
        await client.open("GET", "/v1/x", model="m")
    assert time.monotonic() - started < 1.2
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    assert live_timers() == []


async def test_time_spent_by_the_consumer_between_chunks_is_not_a_stall(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), event(2), event(3)]))
    client = make_client(server, read_timeout=0.2, first_byte_timeout=0.2)
    response = await client.open("POST", "/v1/x", model="m")
    got = []
    try:
        async for chunk in response.aiter_bytes():
            got.append(chunk)
            await asyncio.sleep(0.4)  # longer than the read timeout, outside the read: never cancelled
    finally:
        await response.aclose()
    assert b"".join(got) == event(1) + event(2) + event(3)
    assert live_timers() == []


# -- cancellation from outside ------------------------------------------------------------------


async def test_an_outside_cancel_during_a_read_is_a_cancelled_error(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), Pause(3.0), event(2)]))
    client = make_client(server, read_timeout=0.5, first_byte_timeout=0.5)
    first = asyncio.Event()

    async def consume() -> None:
        response = await client.open("POST", "/v1/x", model="m")
        try:
            async for _chunk in response.aiter_bytes():
                first.set()
        finally:
            await response.aclose()

    task = asyncio.create_task(consume())
    await first.wait()
    await asyncio.sleep(0.1)  # the task is now blocked in the second read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    await asyncio.sleep(0.6)  # past the read timeout: nothing left to fire
    assert live_timers() == []


async def test_an_outside_timeout_around_the_read_wins(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), Pause(3.0), event(2)]))
    client = make_client(server, read_timeout=5, first_byte_timeout=5)
    with pytest.raises(TimeoutError):  # the caller's own timeout, not ProviderTimeoutError
        async with asyncio.timeout(0.3):
            await read_all(client)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    assert live_timers() == []


@pytest.mark.parametrize("watchdog_first", [True, False])
async def test_an_outside_cancel_together_with_the_watchdog_still_propagates(
    serve, make_client, watchdog_first: bool
) -> None:
    """The watchdog and an outside cancel land in the same loop iteration: CancelledError wins."""
    server = serve(Reply(200, headers=SSE, chunks=[event(1), Pause(3.0), event(2)]))
    client = make_client(server, read_timeout=0.2, first_byte_timeout=0.2)
    first = asyncio.Event()
    outcome: list[str] = []

    async def consume() -> None:
        response = await client.open("POST", "/v1/x", model="m")
        try:
            async for _chunk in response.aiter_bytes():
                first.set()
        except ProviderTimeoutError:
            outcome.append("timeout")
            raise
        finally:
            await response.aclose()

    task = asyncio.create_task(consume())
    await first.wait()
    loop = asyncio.get_running_loop()
    # The second read's watchdog is due within 0.2s; an outside cancel is due just after it (or
    # before); then the loop is blocked past both, so they run back to back before the task wakes.
    assert any(h.when() - loop.time() <= 0.2 for h in live_timers())
    loop.call_later(0.3 if watchdog_first else 0.05, task.cancel)
    time.sleep(0.5)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == []
    assert live_timers() == []


# -- nothing left behind ------------------------------------------------------------------------


async def test_no_timer_is_left_after_a_complete_response(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(n) for n in range(20)]))
    client = make_client(server)
    before = live_timers()
    for _ in range(3):
        assert len(b"".join(await read_all(client))) == len(b"".join(event(n) for n in range(20)))
        assert live_timers() == before
    serve(Reply(200, '{"ok": true}', {"content-type": "application/json"}))
    assert await client.request_json("GET", "/v1/x") == {"ok": True}
    assert live_timers() == before


async def test_no_timer_is_left_after_a_cut_or_an_early_stop(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), Cut()]))
    client = make_client(server)
    with pytest.raises(IncompleteStreamError):
        await read_all(client)
    assert live_timers() == []

    serve(Reply(200, headers=SSE, chunks=[event(1), Pause(3.0), event(2)]))
    response = await client.open("POST", "/v1/x", model="m")
    chunks = response.aiter_bytes()
    assert await anext(chunks) == event(1)
    await chunks.aclose()  # type: ignore[attr-defined]  # the consumer stops early
    await response.aclose()
    assert live_timers() == []

    response = await client.open("POST", "/v1/x", model="m")
    await response.aclose()  # opened, never read
    assert live_timers() == []


async def test_no_timer_is_left_after_an_error_status(serve, make_client) -> None:
    server = serve(Reply(500, "broken"))
    client = make_client(server, max_retries=1)
    with pytest.raises(Exception, match="server error"):
        await client.open("GET", "/v1/x", model="m")
    assert len(server.requests) == 2
    assert live_timers() == []


# -- what a stall says: which limit ran out, and the setting that moves it ----------------------


@pytest.mark.parametrize(
    ("chunks", "settings", "message", "setting"),
    [
        ([Pause(2.0), event(1)], {"read_timeout": 5, "first_byte_timeout": 0.3},
         "stalled: nothing within the first-byte timeout of 0.3s", "first_byte_timeout"),
        ([event(1), Pause(2.0), event(2)], {"read_timeout": 0.3, "first_byte_timeout": 5},
         r"stalled: nothing for 0.3s \(read_timeout\)", "read_timeout"),
        ([event(1), Pause(2.0), event(2)], {"read_timeout": 5, "first_byte_timeout": 5, "total_timeout": 0.4},
         "did not finish within the total deadline of 0.4s", "total_timeout"),
    ],
    ids=["first byte", "idle", "total"],
)
async def test_a_stall_names_the_limit_and_the_setting(
    serve, make_client, chunks: list[Any], settings: dict[str, float], message: str, setting: str
) -> None:
    server = serve(Reply(200, headers=SSE, chunks=chunks))
    with pytest.raises(ProviderTimeoutError, match=message) as info:
        await read_all(make_client(server, **settings))
    assert setting in (info.value.hint or "")


async def test_json_bodies_are_parsed_once_for_every_caller(serve, make_client) -> None:
    server = serve(Reply(200, '{"answer": 42}', headers={"content-type": "application/json"}))
    client = make_client(server)
    assert await client.request_json("GET", "/v1/x") == {"answer": 42}
    response = await client.open("GET", "/v1/x")
    try:
        assert await response.json() == {"answer": 42}
    finally:
        await response.aclose()
    serve(Reply(200, "<html>a login page</html>"))
    with pytest.raises(ProviderError, match="not JSON") as info:
        await client.request_json("GET", "/v1/x", model="m")
    assert info.value.body == "<html>a login page</html>" and info.value.model == "m"
    assert info.value.hint == f"is {server.url} a test server? (check base_url)"


# -- HttpClient.stream: a provider's events, resent while nothing reached the caller -------------


async def sse_numbers(response: Any) -> Any:
    async for sse in aiter_sse(response.aiter_bytes()):
        if sse.data == "secret-key-123456":
            raise ProviderError(f"the server said {sse.data}", provider="test")
        yield int(sse.data)


async def test_stream_resends_a_request_that_failed_before_anything_was_yielded(serve, make_client) -> None:
    answers = iter([Reply(200, headers=SSE, chunks=[Cut()]), Reply(200, headers=SSE, chunks=[event(1), event(2)])])
    server = serve(lambda _request: next(answers))
    client = make_client(server, max_retries=2)
    assert [n async for n in client.stream("POST", "/v1/x", sse_numbers, json_body={"q": 1})] == [1, 2]
    assert len(server.requests) == 2
    assert live_timers() == []


async def test_stream_never_resends_once_the_caller_has_an_item(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[event(1), Cut()]))
    client = make_client(server, max_retries=2)
    seen: list[int] = []
    with pytest.raises(IncompleteStreamError):
        async for n in client.stream("POST", "/v1/x", sse_numbers):
            seen.append(n)
    assert seen == [1] and len(server.requests) == 1


async def test_stream_redacts_what_the_reader_raises_and_stops_when_the_caller_does(serve, make_client) -> None:
    server = serve(Reply(200, headers=SSE, chunks=[b"data: secret-key-123456\n\n"]))
    client = HttpClient(
        provider="test", base_url=server.url, headers={"authorization": "secret-key-123456"},
        settings=HttpSettings(max_retries=0),
    )
    try:
        with pytest.raises(ProviderError) as info:
            async for _ in client.stream("POST", "/v1/x", sse_numbers):
                pass
        assert "secret-key-123456" not in str(info.value) and "<redacted>" in str(info.value)
        serve(Reply(200, headers=SSE, chunks=[event(1), Pause(30), event(2)]))
        started = time.monotonic()
        stream = client.stream("POST", "/v1/x", sse_numbers)
        assert await anext(stream) == 1
        await stream.aclose()  # the caller stops: the response is closed, no timer is left
        assert time.monotonic() - started < 5 and live_timers() == []
    finally:
        await client.aclose()
