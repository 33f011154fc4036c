"""The viewer over HTTP (urllib against the real server on 127.0.0.1), on a store filled by
real runs: what each page shows, search, paging, escaping, and the security headers."""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _ui_store import BIG, BIG_COUNT, PNG, SCRIPT
from agentkit_ui.server import UIServer, is_loopback


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def raw(
    server: UIServer, method: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def rows(html: str) -> list[str]:
    return re.findall(r'<div class="sid">([^<]*)</div>', html)


def test_the_list_shows_every_session_with_its_figures(viewer: UIServer) -> None:
    status, _, html = get(viewer.url)
    assert status == 200
    assert set(rows(html)) == {"weather-paris", "xss", "structured", "picture", "tour", BIG}
    tour = html[html.index('<div class="sid">tour</div>') :].split("</tr>")[0]
    assert '<td class="user">bob</td>' in tour and "openai/gpt-4o-mini" in tour
    assert '<td class="num turns">5</td>' in tour  # five model calls
    assert '<td class="num tokens" title="2,600 in, 260 out">2,860</td>' in tour
    assert '<td class="num cost">$0.000546</td>' in tour  # 2,600 x $0.15/M + 260 x $0.60/M


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("paris", {"weather-paris"}),  # the id and title
        ("mallory", {"xss"}),  # the user
        ("square", {"picture"}),  # words of an answer (the store's search)
        ("coldest", {"tour"}),
        ("no such words anywhere", set()),
    ],
)
def test_search_finds_sessions_by_their_fields_and_words(
    viewer: UIServer, query: str, found: set[str]
) -> None:
    _, _, html = get(viewer.url + "?" + urllib.parse.urlencode({"q": query}))
    assert set(rows(html)) == found
    if not found:
        assert "No session matches" in html


def test_a_session_page_shows_the_conversation_tool_calls_and_usage(viewer: UIServer) -> None:
    status, _, html = get(viewer.url + "session?id=weather-paris")
    assert status == 200
    assert "What&#x27;s the weather in Paris?" in html and "It is sunny in Paris, 21 °C." in html
    call = re.search(r'<details class="tool-call ok"[^>]*>(.*?)</details>', html, re.S)
    assert call is not None
    assert '<span class="tool-name">get_weather</span>' in call.group(1)
    assert "&quot;city&quot;: &quot;Paris&quot;" in call.group(1)  # arguments, indented JSON
    assert "&quot;sky&quot;: &quot;sunny&quot;" in call.group(1)  # its result, inside the call
    assert html.count('class="msg tool"') == 0  # the result is not shown a second time
    assert re.search(
        r'<div class="usage"><span class="model">gpt-4o-mini</span> · <span class="tokens-in">\d+ in', html
    )
    assert '<svg class="chart"' in html and html.count('<a class="bar"') == 2
    # how long each call took, as the loop recorded it: per call, in the chart, in all
    took = [float(s) for s in re.findall(r'<span class="duration"[^>]*>(\d+\.\d\d) s</span>', html)]
    assert len(took) == 2 and all(0 <= s < 30 for s in took)
    assert len(re.findall(r"output tokens, \d+\.\d\d s</title>", html)) == 2
    assert re.search(r"<dt>Model time</dt><dd>\d+\.\d\d s</dd>", html)


def test_structured_output_is_pretty_printed(viewer: UIServer) -> None:
    _, _, html = get(viewer.url + "session?id=structured")
    assert (
        '<pre class="json">{\n  &quot;name&quot;: &quot;Ada Lovelace&quot;,\n  &quot;born&quot;: 1815,'
        in html
    )


def test_images_are_shown_from_the_store(viewer: UIServer) -> None:
    _, _, html = get(viewer.url + "session?id=picture")
    src = re.search(r'<img class="image" src="([^"]+)"', html)
    assert src is not None
    with urllib.request.urlopen(viewer.url.rstrip("/") + src.group(1).replace("&amp;", "&")) as r:
        assert r.headers["Content-Type"] == "image/png"
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.read() == PNG
    assert get(viewer.url + "image?id=picture&m=0&p=7")[0] == 404


def test_what_a_model_wrote_is_text_never_markup(viewer: UIServer) -> None:
    _, _, html = get(viewer.url + "session?id=xss")
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=&quot;", "")  # only inside escaped text
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert SCRIPT not in html


def test_every_answer_forbids_scripts_and_framing(viewer: UIServer) -> None:
    for path in ("/", "/session?id=xss", "/static/style.css", "/nope", "/session?id=missing"):
        response = raw(viewer, "GET", path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_viewer_is_read_only(viewer: UIServer) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = raw(viewer, method, "/session?id=xss")
        assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"


def test_errors_name_what_is_missing(viewer: UIServer) -> None:
    status, _, html = get(viewer.url + "session?id=" + urllib.parse.quote("<b>gone</b>"))
    assert status == 404 and "no session &#x27;&lt;b&gt;gone&lt;/b&gt;&#x27; in the sqlite store" in html
    assert get(viewer.url + "session")[0] == 400
    assert get(viewer.url + "admin")[0] == 404


def test_a_10000_message_session_comes_a_page_at_a_time(viewer: UIServer) -> None:
    _, _, first = get(viewer.url + f"session?id={BIG}")
    assert len(first) < 400_000
    assert first.count('<li id="m') <= viewer.per_page
    assert f"messages 1&ndash;100 of {BIG_COUNT:,} · page 1 of 100" in first
    assert first.count('<a class="bar"') == 295  # 4,999 model calls, 17 to a bar
    assert "<dt>Model time</dt><dd>&ndash;</dd>" in first  # written without timings
    _, _, last = get(viewer.url + f"session?id={BIG}&page=100")
    assert f'id="m{BIG_COUNT - 1}"' in last and 'id="m9899"' not in last
    assert get(viewer.url + f"session?id={BIG}&page=100000")[2].count("page 100 of 100") == 2


def test_loopback_answers_only_requests_addressed_to_it(viewer: UIServer) -> None:
    assert raw(viewer, "GET", "/", {"Host": f"attacker.example:{viewer.port}"}).status == 421
    assert raw(viewer, "GET", "/", {"Host": f"localhost:{viewer.port}"}).status == 200


def test_a_token_is_checked_on_every_request(store_path: Path) -> None:
    with UIServer(f"sqlite:{store_path}", token="s3cret-token") as server:
        assert server.url.endswith("/?token=s3cret-token")
        base = f"http://127.0.0.1:{server.port}"
        for path in ("/", "/session?id=xss", "/static/style.css", "/image?id=picture&m=0&p=0"):
            status, _, html = get(base + path)
            assert status == 401 and "token" in html.lower(), path
        assert get(base + "/?token=wrong")[0] == 401
        assert get(base + "/", {"Cookie": f"agentkit_ui_{server.port}=wrong"})[0] == 401
        opened = raw(server, "GET", "/session?id=xss&token=s3cret-token")
        assert opened.status == 303 and opened.headers["Location"] == "/session?id=xss"
        cookie = opened.headers["Set-Cookie"].split(";")[0]
        assert (
            "HttpOnly" in opened.headers["Set-Cookie"] and "SameSite=Strict" in opened.headers["Set-Cookie"]
        )
        assert get(base + "/session?id=xss", {"Cookie": cookie})[0] == 200


def test_which_addresses_need_a_token() -> None:
    assert (
        is_loopback("127.0.0.1")
        and is_loopback("localhost")
        and is_loopback("::1")
        and is_loopback("127.8.0.1")
    )
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.com")
    assert UIServer(host="0.0.0.0").token and UIServer(host="::").token
    assert UIServer(host="127.0.0.1").token is None


def test_any_store_plugin_through_the_store_api(store_path: Path, tmp_path: Path) -> None:
    """The same sessions copied (losslessly) into a JSONL store show the same on every page."""
    import asyncio

    from agentkit.stores import migrate

    target = f"jsonl:{tmp_path / 'sessions'}"
    asyncio.run(migrate(f"sqlite:{store_path}", target, ["tour", "xss", "weather-paris"]))
    with UIServer(target) as jsonl:
        _, _, listing = get(jsonl.url)
        assert set(rows(listing)) == {"tour", "xss", "weather-paris"} and "jsonl store" in listing
        assert set(rows(get(jsonl.url + "?q=coldest")[2])) == {"tour"}  # the store's own search
        with UIServer(f"sqlite:{store_path}") as sqlite:
            for session_id in ("tour", "xss"):
                mine = get(jsonl.url + "session?id=" + session_id)[2].replace("jsonl store", "STORE")
                theirs = get(sqlite.url + "session?id=" + session_id)[2].replace("sqlite store", "STORE")
                assert mine == theirs


def test_head_then_get_on_one_kept_alive_connection(viewer: UIServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", viewer.port, timeout=30)
    try:
        conn.request("HEAD", "/session?id=xss")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b"" and int(head.headers["Content-Length"]) > 1000
        conn.request("GET", "/session?id=xss")
        body = conn.getresponse().read()
        assert len(body) == int(head.headers["Content-Length"]) and body.startswith(b"<!doctype html>")
    finally:
        conn.close()
