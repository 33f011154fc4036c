"""A tool's images reach an OpenAI-compatible model: Chat Completions tool messages take text
only, so the images follow the tool results in a user message (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import base64

import agentkit
from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


@agentkit.tool
def screenshot(page: str) -> list:
    """A screenshot of a page."""
    return [f"screenshot of {page}", agentkit.ImagePart(data=PNG, media_type="image/png")]


def test_tool_images_follow_the_tool_results_as_a_user_message() -> None:
    with FakeOpenAIServer(
        [[tool_call("screenshot", {"page": "home"}, id="call_a"), tool_call("screenshot", {"page": "about"}, id="call_b")],
         "Both pages are blank."]
    ) as fake:  # fmt: skip
        agent = agentkit.Agent("openai/gpt-4o", base_url=fake.base_url, api_key="sk-test", tools=[screenshot])
        assert agent.run("Look at both pages").text == "Both pages are blank."
        messages = fake.chat_requests[1]["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant", "tool", "tool", "user"]  # tool results right after the calls
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "call_a",
        "content": "screenshot of home\n[1 image returned by this tool follow in the next message]",
    }
    parts = messages[4]["content"]
    url = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert parts == [
        {"type": "text", "text": "Images returned by tool 'screenshot' (call call_a):"},
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "text", "text": "Images returned by tool 'screenshot' (call call_b):"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
