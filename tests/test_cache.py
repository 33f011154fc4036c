"""The response cache: opt-in, keyed on the request and provider (never the key), replayed with cached=True."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    ConfigError,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    UserMessage,
    to_dict,
)
from agentkit.agent import Agent
from agentkit.cache import DirectoryCache, ResponseCache, cache_key, default_cache_dir, resolve_cache
from agentkit.hookspecs import hookimpl
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


def test_cache_is_off_by_default(scripted_agent: Any) -> None:
    agent = scripted_agent(["one", "two"])
    assert agent.run("same").text == "one"
    assert agent.run("same").text == "two"


def test_directory_cache_replays_identical_requests(plugin_host: Any, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    script = [tool_calls(("add", {"a": 1, "b": 2})), "three"]
    first = Agent("scripted/m", provider=ScriptedProvider(script), tools=[add], cache=str(cache_dir))
    result = first.run("1+2")
    # a second agent, a fresh provider with an empty script: everything comes from the cache
    second = Agent("scripted/m", provider=ScriptedProvider([]), tools=[add], cache=cache_dir)
    replay = second.run("1+2")
    assert replay.messages == result.messages
    assert second.provider.requests == []
    assert replay.usage.requests == 0  # nothing was spent
    files = list(cache_dir.iterdir())
    assert len(files) == 2
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


async def test_cached_flag_and_streamed_replay(plugin_host: Any, tmp_path: Path) -> None:
    seen: list[Any] = []
    agent = Agent(
        "scripted/m", provider=ScriptedProvider(["hello"]), cache=tmp_path / "c",
        hooks={"on_event": lambda event: seen.append(event)},
    )
    await agent.arun("hi")
    events = [e async for e in agent.astream("hi")]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["hello"]
    turns = [e for e in seen if e.type == "turn_completed"]
    assert [t.response.cached for t in turns] == [False, True]


def test_different_requests_miss(plugin_host: Any, tmp_path: Path) -> None:
    agent = Agent("scripted/m", provider=ScriptedProvider(["a", "b", "c"]), cache=tmp_path / "c")
    assert agent.run("x").text == "a"
    assert agent.run("y").text == "b"
    assert agent.run("x", params={"temperature": 0}).text == "c"


def test_key_covers_request_and_provider_never_the_api_key() -> None:
    request = ModelRequest(model="m", messages=[UserMessage("hi")])
    key = cache_key(request, "openai")
    assert len(key) == 64
    assert key == cache_key(ModelRequest(model="m", messages=[UserMessage("hi")]), "openai")
    assert key != cache_key(request, "ollama")
    assert key != cache_key(ModelRequest(model="m2", messages=[UserMessage("hi")]), "openai")


def test_api_key_does_not_change_the_key_nor_appear_in_the_cache(plugin_host: Any, tmp_path: Path) -> None:
    class KeyedProvider:
        @hookimpl
        def register_providers(self, registry: Any) -> None:
            registry.add("keyed", lambda base_url=None, api_key=None, **_: ScriptedProvider(["hi"], name="keyed"))

    plugin_host.register(KeyedProvider(), name="keyed")
    Agent("keyed/m", api_key="sk-SECRET-1", cache=tmp_path / "c").run("hi")
    replay = Agent("keyed/m", api_key="sk-OTHER-2", cache=tmp_path / "c")
    assert replay.run("hi").text == "hi"
    assert replay.provider.requests == []
    for file in (tmp_path / "c").iterdir():
        assert "sk-" not in file.name and "sk-" not in file.read_text()


async def test_directory_cache_round_trip_and_corrupt_files(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path / "d")
    key = "a" * 64
    assert await cache.get(key) is None
    response = ModelResponse(AssistantMessage("x", usage=Usage(1, 2, requests=1)))
    await cache.put(key, response)
    assert await cache.get(key) == response
    (tmp_path / "d" / f"{key}.json").write_text("{not json")
    assert await cache.get(key) is None
    # an entry of the earlier shape (usage, model, finish_reason beside the message) is a miss
    old = {**to_dict(response), "usage": to_dict(Usage(1, 2, requests=1)), "model": "m", "finish_reason": "stop"}
    (tmp_path / "d" / f"{key}.json").write_text(json.dumps(old))
    assert await cache.get(key) is None
    await cache.put(key, response)
    assert await cache.get(key) == response
    with pytest.raises(ValueError, match="invalid cache key"):
        await cache.get("../../etc/passwd")
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".tmp-")]


def test_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    import asyncio

    asyncio.run(DirectoryCache(shared).put("b" * 64, ModelResponse(AssistantMessage("x"))))
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert json.loads((shared / ("b" * 64 + ".json")).read_text())["message"]["content"] == "x"


def test_resolve_cache_forms(plugin_host: Any, tmp_path: Path, agentkit_home: Path) -> None:
    assert resolve_cache(None) is None and resolve_cache(False) is None
    assert isinstance(resolve_cache(True), DirectoryCache)
    assert default_cache_dir() == agentkit_home / "cache" / "responses"
    assert isinstance(resolve_cache("./here"), DirectoryCache)

    class Mine(ResponseCache):
        async def get(self, key: str) -> ModelResponse | None:
            return None

        async def put(self, key: str, response: ModelResponse) -> None:
            pass

    mine = Mine()
    assert resolve_cache(mine) is mine

    class CachePlugin:
        @hookimpl
        def register_stores(self, registry: Any) -> None:
            registry.add_cache("mine", Mine)

    plugin_host.register(CachePlugin(), name="cacheplugin")
    assert isinstance(resolve_cache("mine", host=plugin_host), Mine)
    with pytest.raises(ConfigError, match=r"unknown cache 'nope'.*mine") as info:
        resolve_cache("nope", host=plugin_host)
    assert "./nope" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="cannot use int as a response cache"):
        resolve_cache(12)
