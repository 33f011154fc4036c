"""An MCP tool result as agentkit sees it: text for the model, images as images.

- text content becomes the text of the result;
- image content becomes an :class:`agentkit.ImagePart` (the model sees the image);
- ``structuredContent`` is passed as JSON, unless a text block already says the same;
- an embedded resource becomes its text (a binary one, a short note naming it);
- a resource link and audio become a short note;
- ``isError`` raises :class:`~agentkit_mcp.MCPToolError` carrying the text, which the loop
  turns into an error result the model reads.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from agentkit import ImagePart

from .errors import MCPToolError

__all__ = ["convert_result", "content_text"]


def convert_result(result: Any, *, server: str, tool: str) -> Any:
    """What the agentkit tool returns for a ``CallToolResult``: a string, or a list of strings
    and ImageParts when there are images."""
    parts: list[Any] = []
    structured = getattr(result, "structured_content", None)
    for block in result.content or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            if structured is not None and _same_json(block.text, structured):
                structured = None  # the text says it already
            parts.append(block.text)
        elif kind == "image":
            parts.append(ImagePart(data=base64.b64decode(block.data), media_type=block.mime_type))
        else:
            parts.append(content_text(block))
    if structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    if getattr(result, "is_error", False):
        text = "\n".join(p for p in parts if isinstance(p, str)) or "the tool reported an error"
        raise MCPToolError(text, server=server, tool=tool)
    if not any(isinstance(p, ImagePart) for p in parts):
        return "\n".join(parts)
    return parts


def content_text(block: Any) -> str:
    """Text for a content block that is not text or an image."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return str(text)
        blob = getattr(resource, "blob", "") or ""
        size = len(base64.b64decode(blob)) if blob else 0
        return f"[binary resource {resource.uri} ({resource.mime_type or 'unknown type'}, {size} bytes)]"
    if kind == "resource_link":
        name = f" {block.name}" if getattr(block, "name", None) else ""
        return f"[resource link {block.uri}{name}]"
    if kind == "audio":
        size = len(base64.b64decode(block.data)) if block.data else 0
        return f"[audio ({block.mime_type}, {size} bytes)]"
    if kind == "image":
        return f"[image ({block.mime_type})]"
    return f"[{kind} content]"


def _same_json(text: str, value: Any) -> bool:
    """Whether a text block only repeats the structured content (servers send both, for old
    clients; a bare value is wrapped as ``{"result": value}``)."""
    if isinstance(value, dict) and list(value) == ["result"] and text == value["result"]:
        return True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False
    if parsed == value:
        return True
    return isinstance(value, dict) and list(value) == ["result"] and parsed == value["result"]
