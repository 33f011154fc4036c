"""The SQLite response cache: a ResponseCache by contract, used by name from an Agent."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

import agentkit_sqlite.plugin
from agentkit.agent import Agent
from agentkit.cache import ResponseCache
from agentkit.events import ModelResponse
from agentkit.messages import AssistantMessage, ToolCall, Usage
from agentkit.testing import ScriptedProvider
from agentkit_sqlite import SqliteResponseCache

KEY = "a" * 64


def response(text: str = "cached answer") -> ModelResponse:
    message = AssistantMessage(
        text, tool_calls=(ToolCall("c", "t", "{}"),), model="m", usage=Usage(3, 4, requests=1), finish_reason="stop"
    )
    return ModelResponse(message=message)


async def test_put_get_and_persist(tmp_path: Path) -> None:
    cache = SqliteResponseCache(tmp_path / "c" / "responses.db")
    assert isinstance(cache, ResponseCache)
    assert await cache.get(KEY) is None
    await cache.put(KEY, response())
    assert await cache.get(KEY) == response()
    await cache.put(KEY, response("newer"))
    assert (await cache.get(KEY)).message.content == "newer"  # type: ignore[union-attr]
    cache.close()
    again = SqliteResponseCache(tmp_path / "c" / "responses.db")
    assert (await again.get(KEY)).message.content == "newer"  # type: ignore[union-attr]
    await again.clear()
    assert await again.get(KEY) is None
    await again.aclose()
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "c" / "responses.db").stat().st_mode) == 0o600


async def test_expired_and_unreadable_entries_are_misses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = SqliteResponseCache(tmp_path / "r.db", ttl=60)
    await cache.put(KEY, response())
    await cache._worker.call(lambda conn: conn.execute("UPDATE responses SET created_at = created_at - 120"))
    assert await cache.get(KEY) is None
    await cache.put(KEY, response())
    await cache._worker.call(lambda conn: conn.execute("UPDATE responses SET response = '{\"nope\": 1}'"))
    with caplog.at_level(logging.WARNING, logger="agentkit_sqlite.cache"):
        assert await cache.get(KEY) is None
    assert "unreadable cache entry" in caplog.text
    cache.close()


def test_an_agent_replays_from_the_sqlite_cache(plugin_host: Any, agentkit_home: Path) -> None:
    plugin_host.register(agentkit_sqlite.plugin, name="agentkit_sqlite")
    provider = ScriptedProvider(["only once"])
    agent = Agent("scripted/test", provider=provider, cache="sqlite", plugin_host=plugin_host)
    assert agent.run("same question").text == "only once"
    assert agent.run("same question").text == "only once"  # no second model call: the script has one answer
    assert len(provider.requests) == 1
    assert (agentkit_home / "cache" / "responses.db").is_file()
