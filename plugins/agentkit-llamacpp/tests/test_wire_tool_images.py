"""The embedded model has no image input: a tool result's images are named in its text (the
run goes on), not sent. Needs no model."""

from __future__ import annotations

from agentkit.messages import AssistantMessage, ImagePart, ToolCall, ToolMessage, UserMessage
from agentkit.providers import ModelRequest
from agentkit_llamacpp.provider import _wire_messages


def test_tool_images_are_named_not_sent() -> None:
    request = ModelRequest(
        model="smollm2",
        messages=[
            UserMessage("look"),
            AssistantMessage("", tool_calls=[ToolCall("c1", "camera")]),
            ToolMessage("c1", "camera", "a picture", images=[ImagePart(data=b"\x89PNG")]),
        ],
    )
    out = _wire_messages(request)
    assert out[-1] == {"role": "user", "content": "[camera result]\na picture\n[1 image(s) returned that this model cannot see]"}
