"""Images in tool results: a tool returns ImageParts, the result carries them
(``ToolMessage.images``), they survive the session format, and
``tool_images_as_user_messages`` moves them after the tool results for text-only APIs."""

from __future__ import annotations

import attrs

from agentkit import Agent, ImagePart, ToolMessage, UserMessage, from_dict, to_dict, tool
from agentkit.messages import AssistantMessage, TextPart, ToolCall, tool_images_as_user_messages
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import result_parts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


@tool
def snapshot(label: str) -> list:
    """Take a snapshot."""
    return [f"snapshot of {label}", ImagePart(data=PNG, media_type="image/png"), "taken"]


def test_a_tool_returning_images_gives_a_result_with_images() -> None:
    provider = ScriptedProvider([tool_calls(("snapshot", {"label": "desk"})), "I see a desk."])
    result = Agent("scripted/test", provider=provider, tools=[snapshot]).run("look")
    message = result.messages[2]
    assert isinstance(message, ToolMessage)
    assert message.content == "snapshot of desk\ntaken"
    assert message.images == (ImagePart(data=PNG, media_type="image/png"),)
    assert provider.requests[1].messages[-1] == message  # the provider gets the images


def test_result_parts() -> None:
    image = ImagePart(data=PNG)
    assert result_parts(image) == ("", (image,))
    assert result_parts(["a", {"b": 1}, image]) == ('a\n{"b": 1}', (image,))
    assert result_parts(["a", "b"]) == ('["a", "b"]', ())
    assert result_parts("x" * 10, limit=4) == ("xxxx\n[... 6 more characters cut]", ())


def test_images_in_the_session_format() -> None:
    plain = ToolMessage("call_1", "t", "text")
    assert "images" not in to_dict(plain)  # stored results without images are unchanged
    with_image = ToolMessage("call_1", "t", "text", images=[ImagePart(data=PNG, media_type="image/png")])
    data = to_dict(with_image)
    assert data["images"][0]["type"] == "image" and data["images"][0]["media_type"] == "image/png"
    assert from_dict(data, ToolMessage) == with_image
    assert ToolMessage("c", "t", "x", images=[]).images is None


def test_tool_images_move_to_a_user_message_after_the_results() -> None:
    a = ImagePart(data=PNG)
    b = ImagePart(url="https://example.org/b.png")
    calls = AssistantMessage("", tool_calls=[ToolCall("c1", "shot"), ToolCall("c2", "read"), ToolCall("c3", "shot")])
    messages = [
        UserMessage("look"),
        calls,
        ToolMessage("c1", "shot", "first", images=[a]),
        ToolMessage("c2", "read", "no image"),
        ToolMessage("c3", "shot", "", images=[a, b]),
        AssistantMessage("done"),
    ]
    out = tool_images_as_user_messages(messages)
    assert out[:2] == messages[:2]
    assert [type(m).__name__ for m in out] == [
        "UserMessage", "AssistantMessage", "ToolMessage", "ToolMessage", "ToolMessage", "UserMessage", "AssistantMessage"
    ]  # fmt: skip
    assert out[2].content == "first\n[1 image returned by this tool follow in the next message]"
    assert out[2].images is None and out[3] == messages[3]
    assert out[4].content == "[2 images returned by this tool follow in the next message]"
    images = out[5]
    assert isinstance(images, UserMessage)
    assert images.content == (
        TextPart("Images returned by tool 'shot' (call c1):"), a,
        TextPart("Images returned by tool 'shot' (call c3):"), a, b,
    )  # fmt: skip
    assert tool_images_as_user_messages(messages[:2]) == messages[:2]
    assert attrs.evolve(out[2]) == out[2]
