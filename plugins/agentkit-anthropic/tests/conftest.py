"""Fixtures for agentkit-anthropic's tests: a fake Messages API on 127.0.0.1 and providers aimed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the fake server module is
# shared by the test files, so make it importable.
sys.path.insert(0, str(Path(__file__).parent))

from agentkit_anthropic.provider import AnthropicProvider
from fake_anthropic_server import FAST, KEY, FakeAnthropic


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "AGENTKIT_ANTHROPIC_COUNT_TOKENS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[FakeAnthropic]:
    # One server for the session: stopping a LoopbackServer waits out its poll.
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake(_shared_server: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """The fake API, reset; the test fails if it refused a request the test did not expect
    (a test that expects refusals clears ``fake.rejected``)."""
    _shared_server.reset()
    yield _shared_server
    assert not _shared_server.rejected, f"the fake API refused requests: {_shared_server.rejected}"


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    p = AnthropicProvider(base_url=fake.url, api_key=KEY, **FAST)
    yield p
    await p.aclose()
