"""Results as text: what the model sees for a tool's return value (see :mod:`agentkit.tools`)."""

from __future__ import annotations

import base64
import json
from typing import Any

__all__ = ["render_result", "result_parts"]


def render_result(value: Any, *, limit: int | None = None) -> str:
    """The text the model sees for a tool's return value.

    Strings are sent as they are; everything else as JSON (attrs classes, dataclasses and
    enums as their fields and values; agentkit values in the session format). ``limit`` caps
    the text, ending it with a marker that says how much was cut.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            text = base64.b64encode(bytes(value)).decode("ascii")
    else:
        text = json.dumps(_as_json(value), ensure_ascii=False, default=str)
    if limit is not None and len(text) > limit:
        cut = len(text) - limit
        text = text[:limit] + f"\n[... {cut} more characters cut]"
    return text


def result_parts(value: Any, *, limit: int | None = None) -> tuple[str, tuple[Any, ...]]:
    """The text and the images of a tool's return value.

    A tool returns images as :class:`~agentkit.ImagePart` values: one alone, or in a list or
    tuple beside other values (strings, ...). The images go to the model as images (see
    ``ToolMessage.images``); the other items become the text, one per line, each rendered
    like :func:`render_result`. Any other value has no images.
    """
    from .messages import ImagePart

    if isinstance(value, ImagePart):
        return "", (value,)
    if isinstance(value, list | tuple) and any(isinstance(v, ImagePart) for v in value):
        images = tuple(v for v in value if isinstance(v, ImagePart))
        text = "\n".join(render_result(v) for v in value if not isinstance(v, ImagePart))
        return render_result(text, limit=limit), images
    return render_result(value, limit=limit), ()


def _as_json(value: Any) -> Any:
    from .serialization import to_dict  # here: cattrs would add ~15 ms to `from agentkit import tool`

    try:
        return to_dict(value)  # agentkit values in the session format, other classes as their fields
    except Exception:
        return value  # json.dumps(default=str) does its best
