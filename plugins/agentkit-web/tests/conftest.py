"""Test seams for web_fetch: a resolver we control and a transport that records every request.

Nothing here ever connects anywhere but 127.0.0.1: the recording transport forwards a request
to a real HTTP transport only when the URL's host is 127.0.0.1; for any other address it
answers itself (or fails the test), so "the request went to the checked address" is observable
without sending a packet off the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import httpx
import pytest

Canned = Callable[[httpx.Request], httpx.Response]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request; forwards only those addressed to 127.0.0.1."""

    def __init__(self, canned: Canned | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.canned = canned
        self._real = httpx.AsyncHTTPTransport(trust_env=False)

    @property
    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "127.0.0.1":
            return await self._real.handle_async_request(request)
        if self.canned is None:
            raise AssertionError(f"a test tried to connect to {request.url.host}; only 127.0.0.1 is allowed")
        return self.canned(request)

    async def aclose(self) -> None:
        await self._real.aclose()


class FakeResolver:
    """Answers from a table; a list of answers is used one per call (DNS that changes its mind)."""

    def __init__(self, table: Mapping[str, Iterable[str] | list[list[str]]] | None = None) -> None:
        self.table = dict(table or {})
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"fake resolver: unknown host {host}")
        answer = self.table[host]
        if answer and isinstance(next(iter(answer)), list):
            answers = list(answer)
            current = answers.pop(0) if len(answers) > 1 else answers[0]
            self.table[host] = answers
            return list(current)
        return list(answer)  # type: ignore[arg-type]


@pytest.fixture
async def recorder() -> RecordingTransport:
    transport = RecordingTransport()
    yield transport
    await transport.aclose()


@pytest.fixture
def resolver() -> FakeResolver:
    """A resolver that knows no names yet: set ``resolver.table[name] = [...]`` in the test."""
    return FakeResolver()
