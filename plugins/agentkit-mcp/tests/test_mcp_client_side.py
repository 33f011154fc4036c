"""The client's side of the protocol: sampling through agentkit's providers, elicitation
through a callback (both off by default), and roots from the file tools' root."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit_mcp import Elicitation, MCPError, MCPServer


def test_sampling_is_off_by_default(demo: MCPServer) -> None:
    provider = ScriptedProvider([tool_calls(("ask_model", {"question": "hi?"})), "ok"])
    message = Agent("scripted/test", provider=provider, tools=[demo]).run("go").messages[2]
    assert message.is_error  # the server's request was refused: the client declared no sampling


def test_sampling_goes_through_an_agentkit_provider(h) -> None:
    model = ScriptedProvider(["Paris."])
    server = MCPServer.stdio(sys.executable, [str(h.demo)], sampling_model="scripted/tiny", sampling_provider=model)
    with server:
        assert asyncio.run(server.call_tool("ask_model", {"question": "Capital of France?"})) == "scripted/tiny said: Paris."
    request = model.requests[0]
    assert request.model == "tiny" and request.params["max_tokens"] == 50
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.messages[0].text == "Be brief." and request.messages[1].text == "Capital of France?"


def test_sampling_by_model_name_uses_the_registered_provider(h, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with FakeOpenAIServer(["Rome."]) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        server = MCPServer.stdio(sys.executable, [str(h.demo)], sampling_model="openai/gpt-4o-mini")
        with server:
            answer = asyncio.run(server.call_tool("ask_model", {"question": "Capital of Italy?"}))
        assert answer == "openai/gpt-4o-mini said: Rome."
        assert fake.chat_requests[0]["model"] == "gpt-4o-mini"


def test_elicitation_is_off_without_a_callback(demo: MCPServer) -> None:
    with pytest.raises(MCPError, match="tool 'ask_user' failed: Elicitation not supported"):
        asyncio.run(demo.call_tool("ask_user"))


def test_elicitation_asks_the_callback(h) -> None:
    asked: list[Elicitation] = []

    def answer(request: Elicitation) -> dict[str, object]:
        asked.append(request)
        return {"name": "Ada", "age": 36}

    with MCPServer.stdio(sys.executable, [str(h.demo)], elicitation=answer, name="demo") as server:
        assert asyncio.run(server.call_tool("ask_user")) == "hello Ada (36)"
    assert asked[0].server == "demo" and asked[0].message == "What is your name?"
    assert set(asked[0].schema["properties"]) == {"name", "age"}


def test_an_async_callback_may_cancel(h) -> None:
    async def dismiss(request: Elicitation) -> str:
        return "cancel"

    with MCPServer.stdio(sys.executable, [str(h.demo)], elicitation=dismiss) as server:
        assert asyncio.run(server.call_tool("ask_user")) == "user chose cancel"


def test_roots_come_from_the_file_tools_root(h, tmp_path: Path) -> None:
    with MCPServer.stdio(sys.executable, [str(h.demo)]) as server:
        provider = ScriptedProvider([tool_calls(("roots", {})), "ok"])
        agent = Agent(
            "scripted/test", provider=provider, tools=[server], tool_settings={"files": {"root": str(tmp_path)}}
        )
        assert agent.run("roots?").messages[2].content == tmp_path.resolve().as_uri()


def test_explicit_roots(h, tmp_path: Path) -> None:
    with MCPServer.stdio(sys.executable, [str(h.demo)], roots=[tmp_path, tmp_path / "b"]) as server:
        assert asyncio.run(server.call_tool("roots")) == f"{tmp_path.as_uri()},{(tmp_path / 'b').as_uri()}"
