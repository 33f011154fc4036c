"""The viewer in a real headless browser: Debian's Chromium driven by Playwright (never a
downloaded browser), one browser for the module, against the server on a store filled by real
runs. The list, search, a session page, expanding a tool call, a message holding ``<script>``
shown as text, an image, the chart, a 10,000-message session, and no policy violations.

The screenshots of docs/ui.md are taken here too: ``AGENTKIT_UI_SCREENSHOTS=docs/images``
writes them there (otherwise into a temporary folder, and checked to be real PNGs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _ui_store import BIG, BIG_COUNT, SCRIPT, chromium_path, need
from agentkit_ui.server import UIServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright is not installed (pip install playwright; requirements-dev.txt has it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, viewer: UIServer) -> Iterator[Any]:
    context = browser.new_context(base_url=viewer.url.rstrip("/"), viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.problems = problems
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems  # no script ran, no Content-Security-Policy violation


def titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("table.sessions .sid").all_inner_texts()]


def test_the_list_and_its_search(page: Any) -> None:
    page.goto("/")
    assert set(titles(page)) == {"weather-paris", "xss", "structured", "picture", "tour", BIG}
    row = page.locator("tr", has=page.locator(".sid", has_text="tour"))
    assert row.locator("td.user").inner_text() == "bob"
    assert row.locator("td.turns").inner_text() == "5"
    assert row.locator("td.cost").inner_text() == "$0.000546"
    page.get_by_label("Search sessions").fill("coldest")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=coldest")
    assert titles(page) == ["tour"]
    assert "Oslo is coldest." in page.locator(".snippet").inner_text()
    page.get_by_label("Search sessions").fill("mallory")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/?q=mallory")
    assert titles(page) == ["xss"]


def test_a_session_page_and_expanding_a_tool_call(page: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="What's the weather in Paris?").click()
    page.wait_for_url("**/session?id=weather-paris")
    assert page.locator("h1").inner_text() == "What's the weather in Paris?"
    assert [r.lower() for r in page.locator("li.msg .role").all_inner_texts()] == [
        "user",
        "assistant",
        "assistant",
    ]
    call = page.locator("details.tool-call").first
    result = call.locator(".text.result, pre.json").last
    assert not result.is_visible()  # folded until clicked
    call.locator("summary").click()
    assert call.evaluate("d => d.open") is True
    assert result.is_visible() and '"sky": "sunny"' in result.inner_text()
    assert '"city": "Paris"' in call.locator("pre.args").inner_text()
    usage = page.locator("li.msg.assistant .usage").first.inner_text()
    assert "gpt-4o-mini" in usage and " in" in usage and " out" in usage and "$" in usage
    assert re.search(r"· \d+\.\d\d s ·", usage)  # how long the call took
    assert page.locator("svg.chart a.bar").count() == 2


def test_a_message_holding_script_is_shown_as_text(page: Any) -> None:
    page.goto("/session?id=xss")
    assert page.title().startswith("Repeat this back")  # the script did not set it
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("img[src=x]").count() == 0
    assert SCRIPT in page.locator("li.msg.user .text").inner_text()
    answer = page.locator("li.msg.assistant .text").inner_text()
    assert SCRIPT in answer and "onerror=" in answer and "&amp; done" in answer


def test_images_structured_output_and_the_chart(page: Any) -> None:
    page.goto("/session?id=picture")
    image = page.locator("img.image")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('img.image').complete")
    assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [2, 2]
    page.goto("/session?id=structured")
    assert page.locator("li.msg.assistant pre.json").inner_text().startswith('{\n  "name": "Ada Lovelace",')
    page.goto("/session?id=tour")
    bars = page.locator("svg.chart a.bar")
    assert bars.count() == 5
    heights = [
        float(h)
        for h in page.locator("svg.chart rect.in").evaluate_all("rs => rs.map(r => r.getAttribute('height'))")
    ]
    assert heights == sorted(heights) and heights[0] < heights[-1]  # input grows call after call
    assert page.locator("details.tool-call").count() == 4


def test_a_10000_message_session_stays_light(page: Any) -> None:
    page.goto(f"/session?id={BIG}")
    assert page.locator("li.msg").count() <= 100
    assert page.evaluate("document.getElementsByTagName('*').length") < 5000
    page.get_by_role("link", name="last »").first.click()
    page.wait_for_url("**page=100")
    assert page.locator("li.msg").last.get_attribute("id") == f"m{BIG_COUNT - 1}"
    page.locator("svg.chart a.bar").nth(10).click()  # a bar links to the page of its call
    page.wait_for_url("**page=*#m*")
    anchor = page.url.rsplit("#", 1)[1]
    assert page.locator(f"li#{anchor}").is_visible()


def test_screenshots_of_the_two_pages(page: Any, tmp_path: Path) -> None:
    folder = Path(os.environ.get("AGENTKIT_UI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.goto("/")
    page.screenshot(path=folder / "ui-sessions.png", full_page=True)
    page.goto("/session?id=tour")
    page.locator("details.tool-call").nth(1).locator("summary").click()
    page.screenshot(path=folder / "ui-session.png", full_page=True)
    for name in ("ui-sessions.png", "ui-session.png"):
        data = (folder / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
