"""Provider requests skip httpx's client layer (agentkit/_direct.py): what they send must stay
what httpx's client sends, in async and sync runs, through a proxy the environment names, and
with httpx's errors.

Against loopback servers the tests start; the HTTP client itself is not patched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agentkit._sync import run_sync
from agentkit.errors import ProviderConnectionError
from agentkit.http import HttpClient, HttpSettings
from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply, json_reply

FAST = HttpSettings(max_retries=0)
HEADERS = {"authorization": "Bearer sk-direct-0123456789", "x-trace": "t-1"}
BODIES = [{"model": "m", "messages": [{"role": "user", "content": "pång ✓"}]}, {"n": [1, 2.5, None, True]}]


def cookie_then_json(request: RecordedRequest) -> Reply:
    """The first answer sets a cookie, which later requests must carry back (as httpx does)."""
    if "cookie" not in request.headers:
        return json_reply({"ok": 1}, headers={"set-cookie": "lb=node-7; Path=/"})
    return json_reply({"ok": 2})


def client(url: str, *, httpx_layer: bool = False) -> HttpClient:
    # A transport of the caller's choosing is used through httpx's client, the reference here.
    transport = httpx.AsyncHTTPTransport() if httpx_layer else None
    return HttpClient(provider="openai", base_url=url, headers=HEADERS, settings=FAST, transport=transport)


async def exchange(http: HttpClient) -> list[Any]:
    try:
        return [await http.request_json("POST", "/chat/completions", json_body=body) for body in BODIES * 2]
    finally:
        await http.aclose()


def test_direct_requests_are_byte_for_byte_what_httpx_sends() -> None:
    sent: dict[str, list[Any]] = {}
    with LoopbackServer(cookie_then_json) as server:
        for mode in ("httpx", "async", "sync"):
            done = len(server.requests)
            http = client(server.url + "/v1", httpx_layer=mode == "httpx")
            if mode == "sync":  # a synchronous run's loop: blocking I/O, the same direct sending
                answers = run_sync(lambda http=http: exchange(http))  # type: ignore[misc]
            else:
                answers = asyncio.run(exchange(http))
            assert answers == [{"ok": 1}, {"ok": 2}, {"ok": 2}, {"ok": 2}]
            sent[mode] = [(r.method, r.path, r.headers, r.body) for r in server.requests[done:]]
    assert sent["async"] == sent["httpx"]
    assert sent["sync"] == sent["httpx"]
    (_, path, headers, body), (_, _, later, _), *_ = sent["async"]
    assert path == "/v1/chat/completions" and "cookie" not in headers and later["cookie"] == "lb=node-7"
    assert "pång ✓".encode() in body  # UTF-8, not escaped, as httpx encodes JSON


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_requests_go_through_the_proxy_the_environment_names(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Direct sending must not skip the proxy httpx would have used (``HTTP_PROXY``)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with LoopbackServer([json_reply({"via": "proxy"})] * 4) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        # Nothing listens on the discard port: only the proxy can have answered.
        http = client("http://127.0.0.1:9/v1")
        answers = run_sync(lambda: exchange(http)) if mode == "sync" else asyncio.run(exchange(http))
        assert answers == [{"via": "proxy"}] * 4
        assert [r.path for r in proxy.requests] == ["http://127.0.0.1:9/v1/chat/completions"] * 4


def test_a_refused_connection_is_a_connection_error_naming_the_server() -> None:
    with LoopbackServer([]) as server:
        url = server.url  # a port that was just free, closed again below
    with pytest.raises(ProviderConnectionError) as info:
        asyncio.run(exchange(client(url + "/v1")))
    assert url in str(info.value) and "ConnectError" in str(info.value)
    assert "sk-direct" not in str(info.value)
