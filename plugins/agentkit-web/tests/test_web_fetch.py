"""web_fetch against real HTTP servers on 127.0.0.1: pinning, redirects, credentials, caps, deadlines."""

from __future__ import annotations

import gzip
import itertools
import zlib

import httpx
import pytest

from agentkit.errors import ToolError
from agentkit.testing.servers import LoopbackServer, Pause, RecordedRequest, Reply
from agentkit_web.extract import extract
from agentkit_web.fetch import fetch
from agentkit_web.settings import WebSettings

HTML = (
    "<html><head><title>The &amp; Title</title><style>p{color:red}</style>"
    "<script>var secret = 1;</script></head><body><h1>Heading</h1>"
    "<p>Some <b>bold</b> text and a <a href='/next'>link</a>.</p></body></html>"
)


def html_reply(body: str = HTML, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body, {"content-type": "text/html; charset=utf-8", **(headers or {})})


def private(resolver, recorder, **kwargs) -> WebSettings:  # type: ignore[no-untyped-def]
    return WebSettings(resolver=resolver, transport=recorder, allow_private_hosts=True, **kwargs)


async def test_private_hosts_are_refused_by_default_without_a_request(recorder) -> None:
    with LoopbackServer([html_reply()]) as server:
        with pytest.raises(ToolError, match=r"loopback address \(allow_private_hosts is off\)"):
            await fetch(server.url + "/", WebSettings(transport=recorder))
        with pytest.raises(ToolError, match="loopback"):
            await fetch(server.url + "/", WebSettings())  # the real transport, same refusal
        assert server.requests == []
    assert recorder.requests == []


async def test_fetch_and_extract(recorder, resolver) -> None:
    with LoopbackServer([html_reply()]) as server:
        base = server.url
        page = await fetch(base + "/page", private(resolver, recorder))
    assert page.status == 200 and page.content_type == "text/html" and not page.truncated
    markdown = extract(page, "markdown")
    assert "# Heading" in markdown and "**bold**" in markdown
    assert f"[link]({base}/next)" in markdown
    assert "secret" not in markdown and "color" not in markdown
    text = extract(page, "text")
    assert "Heading" in text and "link" in text and "](" not in text and "**" not in text
    assert extract(page, "raw") == HTML


async def test_connection_goes_to_the_checked_address_not_a_new_lookup(recorder, resolver) -> None:
    """DNS that answers 127.0.0.1 for the check and something else afterwards changes nothing."""
    resolver.table["rebind.test"] = [["127.0.0.1"], ["10.66.66.66"]]
    with LoopbackServer([html_reply()]) as server:
        url = f"http://rebind.test:{server.port}/x"
        await fetch(url, private(resolver, recorder))
        assert server.requests[0].headers["host"] == f"rebind.test:{server.port}"
    assert resolver.calls == ["rebind.test"]
    (request,) = recorder.requests
    assert request.url.host == "127.0.0.1"  # the transport was told to connect to the checked IP


async def test_rebinding_to_private_after_a_public_check_still_goes_to_the_public_ip(
    recorder, resolver
) -> None:
    """The check saw a public address; a second answer of 127.0.0.1 is never used (or even asked for)."""
    recorder.canned = lambda request: httpx.Response(
        200, headers={"content-type": "text/plain"}, content=b"public"
    )
    resolver.table["flip.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    with LoopbackServer([html_reply()]) as server:
        page = await fetch(
            f"http://flip.test:{server.port}/", WebSettings(resolver=resolver, transport=recorder)
        )
        assert server.requests == []
    assert page.body == b"public"
    assert recorder.hosts == ["93.184.216.34"]  # answered by the recorder itself: no packet left the machine
    assert resolver.calls == ["flip.test"]


async def test_https_keeps_the_hostname_for_sni_and_host(resolver) -> None:
    seen: list[httpx.Request] = []

    class Capture(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, headers={"content-type": "text/plain"}, content=b"ok")

    resolver.table["secure.test"] = ["93.184.216.34"]
    await fetch("https://secure.test/a?b=1", WebSettings(resolver=resolver, transport=Capture()))
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34/a?b=1"
    assert request.headers["host"] == "secure.test"
    assert request.extensions["sni_hostname"] == "secure.test"


async def test_each_redirect_hop_is_checked_again(recorder, resolver) -> None:
    """A public page redirecting to a private one: the second hop is refused before connecting."""
    with LoopbackServer([html_reply()]) as inner:
        targets = [
            f"http://127.0.0.1:{inner.port}/admin",
            f"http://0x7f.1:{inner.port}/admin",
            f"http://[::ffff:127.0.0.1]:{inner.port}/admin",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/_",
        ]
        for target in targets:
            recorder.requests.clear()
            recorder.canned = lambda request, target=target: httpx.Response(302, headers={"location": target})
            resolver.table["public.test"] = ["93.184.216.34"]
            with pytest.raises(ToolError, match=r"refusing|cannot be fetched"):
                await fetch("http://public.test/start", WebSettings(resolver=resolver, transport=recorder))
            assert recorder.hosts == ["93.184.216.34"], target
        assert inner.requests == []


async def test_redirect_to_metadata_is_refused_even_with_private_hosts(recorder, resolver) -> None:
    with (
        LoopbackServer(
            [Reply(302, headers={"location": "http://169.254.169.254/latest/meta-data/iam"})]
        ) as server,
        pytest.raises(ToolError, match="cloud metadata"),
    ):
        await fetch(server.url + "/", private(resolver, recorder))
    assert recorder.hosts == ["127.0.0.1"]


async def test_redirects_are_followed_up_to_the_limit(recorder, resolver) -> None:
    def handler(request: RecordedRequest) -> Reply:
        step = int(request.path.strip("/") or 0)
        if step < 3:
            return Reply(302 if step % 2 else 301, headers={"location": f"/{step + 1}"})
        return Reply(200, "done", {"content-type": "text/plain"})

    with LoopbackServer(handler) as server:
        page = await fetch(server.url + "/0", private(resolver, recorder))
        assert page.body == b"done" and page.final_url == server.url + "/3"
        assert page.redirects == (server.url + "/0", server.url + "/1", server.url + "/2")
        with pytest.raises(ToolError, match=r"too many redirects \(more than 2\)"):
            await fetch(server.url + "/0", private(resolver, recorder, max_redirects=2))
    with LoopbackServer([Reply(302, headers={"location": "/loop"})]) as loop:
        with pytest.raises(ToolError, match="too many redirects"):
            await fetch(loop.url + "/loop", private(resolver, recorder))
        assert len(loop.requests) == 6


async def test_credentials_never_cross_origins(recorder, resolver) -> None:
    resolver.table["a.test"] = ["127.0.0.1"]
    resolver.table["b.test"] = ["127.0.0.1"]
    with LoopbackServer([Reply(200, "end", {"content-type": "text/plain"})]) as other:
        hops = iter(
            [
                Reply(302, headers={"location": "/same-origin", "set-cookie": "session=abc"}),
                Reply(302, headers={"location": f"http://b.test:{other.port}/elsewhere"}),
            ]
        )
        with LoopbackServer(lambda request: next(hops)) as first:
            settings = private(resolver, recorder, headers={"Authorization": "Bearer tok", "Cookie": "c=1"})
            await fetch(f"http://user:p%40ss@a.test:{first.port}/start", settings)
        start, same = first.requests
        assert start.headers["authorization"].startswith("Basic ")
        import base64

        assert base64.b64decode(start.headers["authorization"][6:]) == b"user:p@ss"
        assert same.headers["authorization"] == start.headers["authorization"]
        assert same.headers["cookie"] == "c=1"  # configured cookie only: Set-Cookie is never replayed
        (elsewhere,) = other.requests
        assert "authorization" not in elsewhere.headers and "cookie" not in elsewhere.headers
        assert elsewhere.headers["host"] == f"b.test:{other.port}"


async def test_credentials_stay_dropped_when_redirected_back(recorder, resolver) -> None:
    resolver.table["a.test"] = ["127.0.0.1"]
    resolver.table["b.test"] = ["127.0.0.1"]
    with LoopbackServer([Reply(200, "back", {"content-type": "text/plain"})]) as final:
        with (
            LoopbackServer([Reply(302, headers={"location": f"http://a.test:{final.port}/"})]) as detour,
            LoopbackServer([Reply(302, headers={"location": f"http://b.test:{detour.port}/"})]) as start,
        ):
            settings = private(resolver, recorder, headers={"Authorization": "Bearer tok"})
            await fetch(f"http://a.test:{start.port}/", settings)
        assert "authorization" in start.requests[0].headers
        assert "authorization" not in detour.requests[0].headers
        assert (
            "authorization" not in final.requests[0].headers
        )  # a.test again, but another port: another origin


def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(compressor.compress(block) for _ in range(size >> 20)) + compressor.flush()


async def test_gzip_bomb_is_capped_while_decoding(recorder, resolver) -> None:
    bomb = _gzip_bomb(100 << 20)  # 100 MB of zeros in ~450 KB
    assert len(bomb) < 1 << 20
    reply = Reply(200, bomb, {"content-type": "text/plain", "content-encoding": "gzip"})
    with LoopbackServer([reply]) as server:
        page = await fetch(server.url + "/", private(resolver, recorder, max_bytes=100_000))
    assert page.truncated and len(page.body) == 100_000


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip-multi"])
async def test_content_encodings(recorder, resolver, encoding: str) -> None:
    text = b"hello " * 1000
    if encoding == "gzip":
        body, header = gzip.compress(text), "gzip"
    elif encoding == "gzip-multi":
        body, header = gzip.compress(text[:3000]) + gzip.compress(text[3000:]), "gzip"
    elif encoding == "deflate":
        body, header = zlib.compress(text), "deflate"
    else:
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, header = raw.compress(text) + raw.flush(), "deflate"
    with LoopbackServer(
        [Reply(200, body, {"content-type": "text/plain", "content-encoding": header})]
    ) as server:
        page = await fetch(server.url + "/", private(resolver, recorder))
    assert page.body == text and not page.truncated


async def test_unknown_encoding_and_corrupt_gzip_are_errors(recorder, resolver) -> None:
    with (
        LoopbackServer(
            [Reply(200, b"xx", {"content-type": "text/plain", "content-encoding": "br"})]
        ) as server,
        pytest.raises(ToolError, match="content-encoding 'br'"),
    ):
        await fetch(server.url + "/", private(resolver, recorder))
    with (
        LoopbackServer(
            [
                Reply(
                    200,
                    b"\x1f\x8bnot gzip at all",
                    {"content-type": "text/plain", "content-encoding": "gzip"},
                )
            ]
        ) as server,
        pytest.raises(ToolError, match="corrupt"),
    ):
        await fetch(server.url + "/", private(resolver, recorder))


async def test_endless_body_is_cut_at_the_cap(recorder, resolver) -> None:
    endless = Reply(
        200, headers={"content-type": "text/plain"}, chunks=(b"x" * 65536 for _ in itertools.count())
    )
    with LoopbackServer([endless]) as server:
        page = await fetch(server.url + "/", private(resolver, recorder, max_bytes=500_000))
    assert page.truncated and len(page.body) == 500_000


async def test_slow_body_hits_the_total_deadline(recorder, resolver) -> None:
    slow = Reply(
        200,
        headers={"content-type": "text/plain"},
        chunks=itertools.chain.from_iterable((b"x", Pause(0.2)) for _ in range(1000)),
    )
    with (
        LoopbackServer([slow]) as server,
        pytest.raises(ToolError, match=r"longer than 1 s \(the total deadline\)"),
    ):
        await fetch(server.url + "/", private(resolver, recorder, timeout=1.0, read_timeout=5.0))


async def test_slow_resolver_hits_the_total_deadline(recorder) -> None:
    import asyncio

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return ["127.0.0.1"]

    with pytest.raises(ToolError, match="total deadline"):
        await fetch("http://slow.test/", WebSettings(resolver=slow, transport=recorder, timeout=0.3))
    assert recorder.requests == []


async def test_content_type_allow_list(recorder, resolver) -> None:
    with (
        LoopbackServer([Reply(200, b"\x89PNG....", {"content-type": "image/png"})]) as server,
        pytest.raises(ToolError, match="image/png, which web_fetch does not read"),
    ):
        await fetch(server.url + "/", private(resolver, recorder))
    with (
        LoopbackServer([Reply(200, b"\x00\x01binary")]) as server,
        pytest.raises(ToolError, match="looks binary"),
    ):
        await fetch(server.url + "/", private(resolver, recorder))
    with LoopbackServer([Reply(200, b'{"a": 1}', {"content-type": "application/ld+json"})]) as server:
        page = await fetch(server.url + "/", private(resolver, recorder))
        assert extract(page, "markdown") == '{"a": 1}'


async def test_http_errors_are_readable(recorder, resolver) -> None:
    with (
        LoopbackServer(
            [html_reply("<html><body><h1>Not here</h1><script>x()</script></body></html>", status=404)]
        ) as server,
        pytest.raises(ToolError, match=r"HTTP 404 Not Found from .*: Not here$"),
    ):
        await fetch(server.url + "/missing", private(resolver, recorder))


async def test_connection_refused_is_readable(resolver) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ToolError, match=r"could not connect to 127.0.0.1 \(Connection refused\)"):
        await fetch(f"http://127.0.0.1:{port}/", WebSettings(allow_private_hosts=True))


async def test_charset_from_meta(recorder, resolver) -> None:
    body = "<html><head><meta charset='iso-8859-1'></head><body>café</body></html>".encode("latin-1")
    with LoopbackServer([Reply(200, body, {"content-type": "text/html"})]) as server:
        page = await fetch(server.url + "/", private(resolver, recorder))
    assert "café" in extract(page, "text")
