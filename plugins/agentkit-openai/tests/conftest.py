"""Fixtures for agentkit-openai's tests: providers pointed at loopback servers, SSE builders."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

# Test modules import shared helpers from _openai_helpers (a unique name: other plugins' tests
# share the interpreter), which needs this folder on sys.path under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

from _openai_helpers import FAST, KEY_VARS


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def make_provider() -> AsyncIterator[Callable[..., Any]]:
    """``make_provider(base_url, profile="openai", api_key="sk-test", **settings)``; closed after the test."""
    from agentkit_openai.provider import OpenAIProvider

    made: list[OpenAIProvider] = []

    def make(
        base_url: str | None, *, profile: str = "openai", api_key: str | None = "sk-test", **settings: Any
    ):
        provider = OpenAIProvider(profile=profile, base_url=base_url, api_key=api_key, **{**FAST, **settings})
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture(scope="session")
def _loopback() -> Any:
    """One loopback server for the session (starting and stopping one costs half a second)."""
    from agentkit.testing.servers import LoopbackServer

    slot: dict[str, Any] = {}

    def handle(req: Any) -> Any:
        return slot["handler"](req)

    with LoopbackServer(handle) as server:
        yield server, slot


@pytest.fixture
def serve(_loopback: Any) -> Any:
    """``serve(replies_or_handler)`` points the shared loopback server at this test's script and returns it."""
    import threading

    server, slot = _loopback

    def use(handler: Any) -> Any:
        if not callable(handler):
            replies = list(handler)
            lock = threading.Lock()

            def scripted(_request: Any) -> Any:
                with lock:
                    return replies.pop(0) if len(replies) > 1 else replies[0]

            handler = scripted
        server.requests.clear()
        slot["handler"] = handler
        return server

    yield use
    slot.pop("handler", None)
