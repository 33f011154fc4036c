"""The Agent's public API: inputs, results, model resolution, overrides, sync use in a running loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import agentkit
from agentkit import (
    AssistantMessage,
    ConfigError,
    ImagePart,
    ModelRequest,
    RunContext,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from agentkit.agent import Agent
from agentkit.hookspecs import hookimpl
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_text_answer(scripted_agent: Any) -> None:
    agent = scripted_agent(["Hello there."])
    result = agent.run("Hi")
    assert result.text == "Hello there."
    assert result.output == "Hello there."
    assert [m.role for m in result.messages] == ["user", "assistant"]
    assert result.messages[0] == UserMessage("Hi")
    assert result.turns == 1
    assert result.usage.requests == 1
    assert result.stopped is False
    assert result.run_id


def test_tool_round_trip_and_usage_summed(scripted_agent: Any) -> None:
    agent = scripted_agent([tool_calls(("add", {"a": 2, "b": 3})), "It is 5."], tools=[add])
    result = agent.run("2+3?")
    assert result.text == "It is 5."
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    tool_message = result.messages[2]
    assert isinstance(tool_message, ToolMessage) and tool_message.content == "5" and not tool_message.is_error
    calls = [m.usage for m in result.messages if isinstance(m, AssistantMessage)]
    assert result.usage.requests == 2
    assert result.usage.input_tokens == sum(u.input_tokens for u in calls if u)
    assert result.usage.output_tokens == sum(u.output_tokens for u in calls if u)
    # the tool's spec went to the model
    assert [t.name for t in agent.provider.requests[0].tools] == ["add"]


async def test_arun(scripted_agent: Any) -> None:
    agent = scripted_agent(["async hello"])
    result = await agent.arun("Hi")
    assert result.text == "async hello"


def test_system_prompt_is_sent_not_returned(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"], system="You are terse.")
    result = agent.run("Hi")
    request = agent.provider.requests[0]
    assert request.messages[0] == SystemMessage("You are terse.")
    assert all(not isinstance(m, SystemMessage) for m in result.messages)


def test_history_is_sent_but_not_repeated(scripted_agent: Any) -> None:
    agent = scripted_agent(["Paris again."])
    history = [UserMessage("Capital of France?"), AssistantMessage("Paris.")]
    result = agent.run("And again?", history=history)
    assert agent.provider.requests[0].messages[:2] == tuple(history)
    assert result.messages == (UserMessage("And again?"), result.messages[1])
    assert len(result.messages) == 2


@pytest.mark.parametrize(
    "prompt",
    [
        UserMessage("Hi"),
        [UserMessage("Hi")],
        ["Hi"],
    ],
)
def test_prompt_forms(scripted_agent: Any, prompt: Any) -> None:
    agent = scripted_agent(["ok"])
    result = agent.run(prompt)
    assert result.messages[0] == UserMessage("Hi")


def test_prompt_list_of_messages_is_all_input(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"])
    prompt = [SystemMessage("extra rule"), UserMessage("first"), UserMessage("second")]
    result = agent.run(prompt)
    assert list(result.messages[:3]) == prompt


def test_bad_prompt_type(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"])
    with pytest.raises(ConfigError, match=r"prompt: expected a string, a message, or a list of them, got an integer \(42\)"):
        agent.run(42)


def test_images_from_path_url_and_bytes(scripted_agent: Any, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG)
    agent = scripted_agent(["a cat"])
    agent.run("What is this?", images=[picture, "https://example.com/dog.jpg", PNG, ImagePart(url="data:image/png;base64,AA==")])
    sent = agent.provider.requests[0].messages[-1]
    assert isinstance(sent, UserMessage)
    assert sent.text == "What is this?"
    images = sent.images
    assert images[0].path == str(picture)
    assert images[1].url == "https://example.com/dog.jpg"
    assert images[2].data == PNG and images[2].media_type == "image/png"
    assert images[3].url.startswith("data:")


def test_deps_session_and_user_reach_tools(scripted_agent: Any) -> None:
    seen: dict[str, Any] = {}

    @tool
    def whoami(ctx: RunContext) -> str:
        """Who is asking."""
        seen.update(deps=ctx.deps, session=ctx.session_id, user=ctx.user_id, model=ctx.model, turn=ctx.turn)
        return "you"

    agent = scripted_agent([tool_calls(("whoami", {})), "done"], tools=[whoami])
    agent.run("?", deps={"db": 1}, session_id="s1", user_id="u1")
    assert seen == {"deps": {"db": 1}, "session": "s1", "user": "u1", "model": "scripted/test", "turn": 1}


def test_overrides_apply_to_one_run(scripted_agent: Any) -> None:
    agent = scripted_agent(["a", "b"], params={"temperature": 0.5, "seed": 1})
    agent.run("x", params={"temperature": 0})
    agent.run("y")
    first, second = agent.provider.requests
    assert dict(first.params) == {"temperature": 0, "seed": 1}
    assert dict(second.params) == {"temperature": 0.5, "seed": 1}


def test_unknown_override_is_a_clear_error(scripted_agent: Any) -> None:
    agent = scripted_agent(["a"])
    with pytest.raises(ConfigError, match=r"unknown run option 'max_turn' \(did you mean 'max_turns'\?\)"):
        agent.run("x", max_turn=3)


def test_invalid_settings_name_the_setting() -> None:
    with pytest.raises(ConfigError, match="tool_errors: expected one of 'return', 'raise', got a string"):
        Agent("scripted/x", tool_errors="explode")
    with pytest.raises(ConfigError, match="max_turns: expected an integer >= 1, got an integer"):
        Agent("scripted/x", max_turns=0)
    with pytest.raises(ConfigError, match=r"model: 'gpt-4o' must be '<provider>/<model>'"):
        Agent("gpt-4o")


class _Recorder:
    """A provider plugin that records how its factory was called."""

    calls: list[dict[str, Any]]

    def __init__(self) -> None:
        self.calls = []

    @hookimpl
    def register_providers(self, registry: Any) -> None:
        def factory(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> Any:
            self.calls.append({"base_url": base_url, "api_key": api_key, **settings})
            return ScriptedProvider(["from the plugin"], name="rec")

        registry.add("rec", factory)


def test_model_resolved_through_the_plugin_host(plugin_host: Any) -> None:
    recorder = _Recorder()
    plugin_host.register(recorder, name="recorder")
    agent = Agent(
        "rec/big-model",
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-secret-value",
        provider_settings={"max_retries": 0},
    )
    result = agent.run("hi")
    assert result.text == "from the plugin"
    assert recorder.calls == [{"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-secret-value", "max_retries": 0}]
    assert agent.provider.requests[0].model == "big-model"
    agent.provider.add("second answer")
    assert agent.run("again").text == "second answer"
    assert len(recorder.calls) == 1  # built once, reused


def test_builtin_scripted_provider_by_name(plugin_host: Any) -> None:
    agent = Agent("scripted/any", provider_settings={"script": ["scripted by config"]})
    assert agent.run("hi").text == "scripted by config"


def test_unknown_provider_lists_installed(plugin_host: Any) -> None:
    with pytest.raises(ConfigError, match=r"model: unknown provider 'nosuch'.*scripted"):
        Agent("nosuch/model")


def test_api_key_never_in_repr_or_error(plugin_host: Any) -> None:
    agent = Agent("scripted/model", api_key="sk-very-secret", provider_settings={"script": ["hi"]})
    assert "sk-very-secret" not in repr(agent)
    with pytest.raises(ConfigError) as info:
        Agent("nosuch/model", api_key="sk-very-secret")
    assert "sk-very-secret" not in str(info.value)


async def test_sync_run_inside_a_running_loop(scripted_agent: Any) -> None:
    """Jupyter: agent.run() is called while an event loop runs in this thread."""
    agent = scripted_agent(["from a helper thread"])
    asyncio.get_running_loop()
    result = agent.run("hi")
    assert result.text == "from a helper thread"
    events = list(scripted_agent(["streamed"]).stream("hi"))
    assert isinstance(events[-1], agentkit.RunCompleted)


async def test_concurrent_runs_of_one_agent(scripted_agent: Any) -> None:
    def answer(request: ModelRequest) -> str:
        return "echo: " + request.messages[-1].text

    agent = scripted_agent([answer], provider_options={"repeat_last": True})
    results = await asyncio.gather(*(agent.arun(f"q{i}") for i in range(5)))
    assert [r.text for r in results] == [f"echo: q{i}" for i in range(5)]
    assert len({r.run_id for r in results}) == 5


def test_sync_runs_keep_provider_connections_until_the_agent_is_closed(scripted_agent: Any) -> None:
    agent = scripted_agent(["a", "b", "c"])
    agent.run("x")
    agent.run("y")
    assert agent.provider.closed == 0  # kept for the next run
    agent.close()
    assert agent.provider.closed >= 1
    with agent:
        agent.run("z")
    assert agent.provider.closed >= 2


def test_stop_from_another_thread_while_a_tool_runs(scripted_agent: Any) -> None:
    started = threading.Event()
    release = threading.Event()

    @tool
    def slow() -> str:
        """Wait."""
        started.set()
        release.wait(10)
        return "slow done"

    agent = scripted_agent([tool_calls(("slow", {})), "never"], tools=[slow])

    def stopper() -> None:
        started.wait(10)
        agent.stop()
        release.set()

    thread = threading.Thread(target=stopper)
    thread.start()
    result = agent.run("go")
    thread.join()
    assert result.stopped is True
    assert result.messages[-1].content == "slow done"  # the turn finished cleanly
    assert len(agent.provider.requests) == 1


def test_session_is_the_storage_layers(scripted_agent: Any) -> None:
    sessions = pytest.importorskip("agentkit.sessions")
    agent = scripted_agent(["ok"])
    session = agent.session("s-1", user_id="u-1")
    assert isinstance(session, sessions.Session)


async def test_async_with_closes_the_providers(scripted_agent: Any) -> None:
    agent = scripted_agent(["a"])
    async with agent as same:
        assert same is agent
        await agent.arun("x")
        assert agent.provider.closed == 0  # async runs keep connections for the next run
    assert agent.provider.closed == 1
