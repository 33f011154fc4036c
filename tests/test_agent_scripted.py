"""The testing kit for plugin authors: ScriptedProvider and the pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    BadRequestError,
    Capabilities,
    ModelRequest,
    ModelResponse,
    ProviderError,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.plugins import get_host
from agentkit.testing import ScriptedProvider, tool_call, tool_calls


def _request(*messages: Any) -> ModelRequest:
    return ModelRequest(model="m", messages=messages or (UserMessage("hi"),))


async def test_every_kind_of_script_item() -> None:
    async def later(request: ModelRequest) -> str:
        return "async " + request.messages[-1].text

    provider = ScriptedProvider(
        [
            "text",
            AssistantMessage("message"),
            ModelResponse(AssistantMessage("response", usage=Usage(7, 8, requests=1))),
            lambda request: "called " + request.model,
            later,
            ValueError("raised"),
        ]
    )
    texts = [(await provider.complete(_request())).message.content for _ in range(5)]
    assert texts == ["text", "message", "response", "called m", "async hi"]
    with pytest.raises(ValueError, match="raised"):
        await provider.complete(_request())
    assert len(provider.requests) == 6
    assert provider.remaining == 0


async def test_used_up_script_is_a_clear_error() -> None:
    provider = ScriptedProvider(["only one"])
    await provider.complete(_request())
    with pytest.raises(ProviderError, match=r"scripted/m: the script is used up: 1 answer\(s\) for 2 model call") as info:
        await provider.complete(_request())
    assert "add more items" in (info.value.hint or "")


async def test_repeat_last_and_add() -> None:
    provider = ScriptedProvider(["a"], repeat_last=True)
    assert [(await provider.complete(_request())).message.content for _ in range(3)] == ["a", "a", "a"]
    provider = ScriptedProvider([])
    provider.add("later")
    assert (await provider.complete(_request())).message.content == "later"


async def test_stream_sends_small_pieces() -> None:
    answer = tool_calls(("search", {"query": "a fairly long query text"}), text="Searching now")
    provider = ScriptedProvider([answer])
    events = [e async for e in provider.stream(_request())]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 2 and "".join(d.text for d in deltas) == "Searching now"
    assert [e for e in events if isinstance(e, ToolCallStarted)] == [ToolCallStarted(0, "call_1", "search")]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(pieces) > 2 and "".join(p.arguments for p in pieces) == answer.tool_calls[0].arguments
    final = events[-1]
    assert isinstance(final, ModelResponse) and final.finish_reason == "tool_calls"
    assert final.usage.requests == 1 and final.message.model == "m"


async def test_history_without_tool_results_is_rejected() -> None:
    provider = ScriptedProvider(["x", "y", "z"])
    call = tool_call("add", {"a": 1})
    unanswered = _request(UserMessage("q"), AssistantMessage(tool_calls=[call]), UserMessage("next"))
    with pytest.raises(BadRequestError, match="tool call\\(s\\) without a result: call_add"):
        await provider.complete(unanswered)
    stray = _request(UserMessage("q"), ToolMessage("nope", "add", "1"))
    with pytest.raises(BadRequestError, match="answers no pending tool call"):
        await provider.complete(stray)
    fine = _request(UserMessage("q"), AssistantMessage(tool_calls=[call]), ToolMessage(call.id, "add", "1"))
    assert (await provider.complete(fine)).message.content == "x"
    assert (await ScriptedProvider(["ok"], check_history=False).complete(unanswered)).message.content == "ok"


async def test_capabilities_and_window() -> None:
    provider = ScriptedProvider([], structured_output=True, streaming=False, context_window=1234)
    assert provider.capabilities.structured_output is True
    assert provider.capabilities.streaming is False
    assert await provider.context_window("m") == 1234
    assert "ScriptedProvider" in repr(provider)


def test_registered_as_the_scripted_provider(plugin_host: Any) -> None:
    entry = plugin_host.registry("provider").get("scripted")
    assert entry.plugin == "agentkit:testing"
    provider = entry.value(base_url=None, api_key=None, script=["hi"], structured_output=True)
    assert isinstance(provider, ScriptedProvider) and provider.capabilities.structured_output


def test_plugin_host_fixture_installs_a_fresh_host(plugin_host: Any) -> None:
    assert get_host() is plugin_host


def test_agentkit_home_fixture(agentkit_home: Path) -> None:
    assert os.environ["AGENTKIT_HOME"] == str(agentkit_home)
    assert agentkit_home.is_dir()


def test_scripted_fixture(scripted: Any) -> None:
    provider = scripted("one", "two", structured_output=True)
    assert provider.script == ["one", "two"] and provider.capabilities.structured_output


def test_fixtures_work_in_a_plugin_authors_suite(tmp_path: Path) -> None:
    """A third-party test suite gets the fixtures from the pytest11 entry point, no conftest."""
    test_file = tmp_path / "test_my_plugin.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from agentkit.hookspecs import hookimpl
            from agentkit.testing import tool_calls

            def shout(text: str) -> str:
                '''Shout.'''
                return text.upper()

            class MyPlugin:
                @hookimpl
                def register_tools(self, registry):
                    registry.add(shout)

            def test_my_tool(plugin_host, scripted_agent, agentkit_home):
                plugin_host.register(MyPlugin(), name="my-plugin")
                agent = scripted_agent([tool_calls(("shout", {"text": "hi"})), "done"], tools=["shout"])
                result = agent.run("go")
                assert result.messages[2].content == "HI"
                assert agent.provider.requests[1].messages[-1].content == "HI"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


@pytest.mark.parametrize(
    ("capabilities", "arguments", "message"),
    [
        (Capabilities(tools=False, vision=True), {"tools": ["add"]},
         r"provider 'scripted' cannot call tools \(its capabilities say tools=False\), and this call offers add"),
        (Capabilities(), {"images": [b"\x89PNG\r\n\x1a\n"]},
         r"provider 'scripted' cannot see images \(its capabilities say vision=False\), and the messages hold 1 image"),
    ],
    ids=["tools", "vision"],
)
def test_what_the_capabilities_refuse_is_refused_before_the_call(
    plugin_host: Any, capabilities: Capabilities, arguments: dict[str, Any], message: str
) -> None:
    from agentkit import Agent, tool

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    provider = ScriptedProvider(["never"], capabilities=capabilities)
    tools = [add] if arguments.pop("tools", None) else []
    agent = Agent("scripted/m", provider=provider, tools=tools)
    with pytest.raises(BadRequestError, match=message) as info:
        agent.run("hi", **arguments)
    assert provider.requests == [] and info.value.hint
    # without tools and images the same provider answers
    assert Agent("scripted/m", provider=provider).run("plain text is fine").text == "never"
