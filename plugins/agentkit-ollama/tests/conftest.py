"""Fixtures for agentkit-ollama's tests: a fake Ollama on 127.0.0.1 and providers aimed at it."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the fake server module is
# shared by the test files, so make it importable.
sys.path.insert(0, str(Path(__file__).parent))

from fake_ollama_server import FAST, FakeOllama

from agentkit_ollama.provider import OllamaProvider


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


@pytest.fixture(scope="session")
def _shared_ollama() -> Iterator[FakeOllama]:
    # One server for the session: stopping a LoopbackServer waits out its 0.5 s poll.
    with FakeOllama() as server:
        yield server


@pytest.fixture
def ollama(_shared_ollama: FakeOllama) -> FakeOllama:
    _shared_ollama.reset()
    return _shared_ollama


@pytest.fixture
async def provider(ollama: FakeOllama) -> AsyncIterator[OllamaProvider]:
    p = OllamaProvider(base_url=ollama.url, **FAST)
    yield p
    await p.aclose()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
