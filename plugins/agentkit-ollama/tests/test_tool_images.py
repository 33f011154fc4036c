"""A tool's images reach an Ollama vision model: after the tool results, a user message
carries them as base64 ``images`` (real HTTP against the fake Ollama server)."""

from __future__ import annotations

import base64
from typing import Any

from fake_ollama_server import FAST, Chat, FakeOllama

import agentkit
from agentkit.plugins import PluginHost

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 8


@agentkit.tool
def camera() -> list:
    """Take a picture."""
    return ["a picture", agentkit.ImagePart(data=PNG, media_type="image/png")]


def test_tool_images_follow_as_a_user_message_with_images(ollama: FakeOllama, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path))
    host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-ollama"})
    ollama.script(Chat(tool_calls=[{"name": "camera", "arguments": {}}]), Chat(content="A grey square."))
    agent = agentkit.Agent(
        "ollama/qwen3:8b", base_url=ollama.url, provider_settings=FAST, plugin_host=host, tools=[camera]
    )
    assert agent.run("What do you see?").text == "A grey square."
    messages = ollama.chat_requests()[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[2]["content"] == "a picture\n[1 image returned by this tool follow in the next message]"
    assert "images" not in messages[2]
    assert messages[3]["images"] == [base64.b64encode(PNG).decode()]
    assert messages[3]["content"].startswith("Images returned by tool 'camera'")
