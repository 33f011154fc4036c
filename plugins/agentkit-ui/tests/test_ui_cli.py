"""The user's path: ``agentkit run --session`` on a real agentkit.toml stores a session, then
``agentkit ui`` (a subprocess) serves that agent's store; Ctrl-C stops it with exit code 0.
Also: a non-loopback ``--host`` prints a token that every request must carry, and a store that
cannot be opened is reported like any command's error."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer

KEY = "sk-test-ui-cli-91aa"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    with FakeOpenAIServer(["Nothing is <b>up</b>, all quiet."], api_key=KEY) as server:
        folder = tmp_path / "project"
        folder.mkdir()
        (folder / "agentkit.toml").write_text(
            f"""
default_agent = "helper"

[providers.openai]
base_url = "{server.base_url}"
api_key_env = "UI_CLI_TEST_KEY"
max_retries = 0

[agents.helper]
model = "openai/gpt-4o-mini"
storage = "sqlite:{(tmp_path / "project.db").as_posix()}"
"""
        )
        yield folder


def environment(tmp_path: Path, browser: str = "false") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENAI_"))}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), UI_CLI_TEST_KEY=KEY, BROWSER=browser)
    return env


def agentkit(project: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        cwd=project,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


class Viewer:
    """``agentkit ui`` running in a subprocess, and the URL it printed."""

    def __init__(self, project: Path, tmp_path: Path, *args: str, browser: str | None = None) -> None:
        flags = ["--no-browser"] if browser is None else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "ui", *flags, *args], cwd=project,
            env=environment(tmp_path, browser or "false"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        found = re.search(r"at (http://\S+)", line)
        if found is None:
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
            raise AssertionError(f"no URL printed: {line!r}; stderr: {err}")
        self.url = found.group(1)
        self.line = line

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_agentkit_ui_shows_what_agentkit_run_stored(project: Path, tmp_path: Path) -> None:
    ran = agentkit(project, tmp_path, "run", "--session", "night-shift", "Anything <b>up</b>?")
    assert ran.returncode == 0, ran.stderr
    viewer = Viewer(project, tmp_path)
    try:
        assert re.fullmatch(r"agentkit ui: the sqlite store at http://127\.0\.0\.1:\d+/\n", viewer.line)
        status, html = fetch(viewer.url)
        assert status == 200 and '<div class="sid">night-shift</div>' in html
        assert "Anything &lt;b&gt;up&lt;/b&gt;?" in html
        status, html = fetch(viewer.url + "session?id=night-shift")
        assert status == 200 and "Nothing is &lt;b&gt;up&lt;/b&gt;, all quiet." in html
    finally:
        code, err = viewer.stop()
    assert code == 0, err
    assert "press Ctrl-C to stop" in err


def test_another_host_needs_the_printed_token(project: Path, tmp_path: Path) -> None:
    viewer = Viewer(project, tmp_path, "--host", "0.0.0.0")
    try:
        token = re.search(r"\?token=([\w-]+)$", viewer.url)
        assert token is not None and len(token.group(1)) >= 24
        port = re.search(r":(\d+)/", viewer.url).group(1)  # type: ignore[union-attr]
        local = f"http://127.0.0.1:{port}/"
        assert fetch(local)[0] == 401
        assert fetch(local + "session?id=night-shift")[0] == 401
        assert fetch(local + "?token=" + "x" * len(token.group(1)))[0] == 401
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(local + "?q=night&token=" + token.group(1), timeout=30) as opened:
            assert opened.status == 200 and opened.url == local + "?q=night"  # redirected, with a cookie
        with browser.open(local + "static/style.css", timeout=30) as again:
            assert again.status == 200  # the cookie does
    finally:
        code, err = viewer.stop()
    assert code == 0, err
    assert "not only this machine" in err


def test_a_store_that_cannot_open_is_an_error_before_serving(project: Path, tmp_path: Path) -> None:
    failed = agentkit(project, tmp_path, "ui", "--no-browser", "--store", "nosuchstore")
    assert failed.returncode == 8, failed.stderr
    assert "nosuchstore" in failed.stderr and failed.stdout == ""
    bad_port = agentkit(project, tmp_path, "ui", "--no-browser", "--port", "70000")
    assert bad_port.returncode == 2 and "expected a port from 0 to 65535" in bad_port.stderr


def test_the_browser_opens_the_printed_url(project: Path, tmp_path: Path) -> None:
    """Without --no-browser, the user's browser ($BROWSER, as Python's webbrowser reads it) gets the URL."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    viewer = Viewer(project, tmp_path, browser=f"{sys.executable} {browser} %s")
    try:
        for _ in range(300):
            if opened.exists() and opened.read_text():
                break
            time.sleep(0.05)
        assert opened.read_text() == viewer.url
        assert fetch(viewer.url)[0] == 200
    finally:
        code, err = viewer.stop()
    assert code == 0, err
