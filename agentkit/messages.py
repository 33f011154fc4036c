"""agentkit's conversation values: content parts, messages, tool calls and usage.

All of them are frozen attrs classes: plain values, compared by content, safe to share.
How they look as JSON lives in one place, :mod:`agentkit.serialization`.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TypeAlias

import attrs

__all__ = [
    "AssistantMessage",
    "ImagePart",
    "Message",
    "Part",
    "ReasoningBlock",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolMessage",
    "Usage",
    "UserMessage",
    "tool_images_as_user_messages",
]


@attrs.frozen
class TextPart:
    """Text inside a user message."""

    text: str
    type: Literal["text"] = attrs.field(default="text", init=False)


def _check_image_source(instance: ImagePart, _attribute: attrs.Attribute, _value: object) -> None:
    given = [n for n in ("url", "path", "data") if getattr(instance, n) is not None]
    if len(given) != 1:
        raise ValueError(f"ImagePart needs exactly one of url=, path= or data=, got {given or 'none'}")


@attrs.frozen
class ImagePart:
    """An image inside a user message: by URL, by local file path, or as bytes.

    Providers that need the bytes call :meth:`load`; a path is read only then.
    """

    url: str | None = attrs.field(default=None, kw_only=True)
    path: str | None = attrs.field(default=None, kw_only=True)
    data: bytes | None = attrs.field(default=None, kw_only=True, repr=False)
    media_type: str | None = attrs.field(default=None, kw_only=True)
    detail: str | None = attrs.field(default=None, kw_only=True, validator=_check_image_source)
    type: Literal["image"] = attrs.field(default="image", init=False)

    @classmethod
    def from_source(cls, source: str | Path | bytes, media_type: str | None = None) -> ImagePart:
        """Build from a URL (``http(s):`` or ``data:``), a local path, or raw bytes."""
        if isinstance(source, bytes):
            return cls(data=source, media_type=media_type or _sniff_media_type(source))
        text = str(source)
        if text.startswith(("http://", "https://", "data:")):
            return cls(url=text, media_type=media_type)
        return cls(path=str(Path(text).expanduser()), media_type=media_type)

    def load(self) -> tuple[bytes, str]:
        """Return ``(bytes, media_type)`` for a path or bytes image (not for a URL)."""
        if self.data is not None:
            return self.data, self.media_type or _sniff_media_type(self.data)
        if self.path is not None:
            data = Path(self.path).read_bytes()
            guessed = mimetypes.guess_type(self.path)[0]
            return data, self.media_type or guessed or _sniff_media_type(data)
        if self.url is not None and self.url.startswith("data:"):
            header, _, payload = self.url.partition(",")
            media_type = header[5:].split(";")[0] or "application/octet-stream"
            return base64.b64decode(payload), media_type
        raise ValueError("an image given by http(s) URL has no local bytes")

    def data_url(self) -> str:
        """The image as a URL: the URL itself, or a base64 ``data:`` URL."""
        if self.url is not None:
            return self.url
        data, media_type = self.load()
        return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _sniff_media_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


Part: TypeAlias = TextPart | ImagePart


def _to_parts(value: str | Iterable[Part | str]) -> tuple[Part, ...]:
    if isinstance(value, str):
        return (TextPart(value),)
    return tuple([TextPart(p) if isinstance(p, str) else p for p in value])


def _to_tool_calls(value: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(value)


@attrs.frozen
class ToolCall:
    """A model's request to run a tool. ``arguments`` is the raw JSON text the model sent."""

    id: str
    name: str
    arguments: str = "{}"


@attrs.frozen
class Usage:
    """Token counts of one model call, or summed over many with ``+``.

    ``input_tokens`` counts every input token; of them, ``cached_tokens`` were read from the
    provider's prompt cache and ``cache_creation_tokens`` were written to it (providers that
    bill cache writes apart, such as Anthropic, report them).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = attrs.field(default=0, kw_only=True)
    reasoning_tokens: int = 0
    requests: int = 0
    cost: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        cost = None if self.cost is None and other.cost is None else (self.cost or 0.0) + (other.cost or 0.0)
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_creation_tokens=self.cache_creation_tokens + other.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            requests=self.requests + other.requests,
            cost=cost,
        )


@attrs.frozen
class SystemMessage:
    """Instructions for the model."""

    content: str
    role: Literal["system"] = attrs.field(default="system", init=False)

    @property
    def text(self) -> str:
        return self.content


@attrs.frozen
class UserMessage:
    """What the user said: text and images. A plain string becomes one text part."""

    content: tuple[Part, ...] = attrs.field(converter=_to_parts)
    role: Literal["user"] = attrs.field(default="user", init=False)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.content if isinstance(p, ImagePart))


@attrs.frozen
class ReasoningBlock:
    """A piece of a model's reasoning that its provider wants back unchanged on the next turn.

    Anthropic's thinking blocks carry a ``signature`` that the API checks when they are sent
    back (it requires them during tool use); its redacted thinking is opaque ``data``.
    ``provider`` names the provider that wrote the block: other providers leave it out of
    their requests. ``text`` is the readable thinking (empty for redacted thinking).
    """

    provider: str
    text: str = ""
    signature: str | None = None
    data: str | None = None


def _to_reasoning_blocks(value: Iterable[ReasoningBlock] | None) -> tuple[ReasoningBlock, ...] | None:
    return tuple(value) if value else None


@attrs.frozen
class AssistantMessage:
    """What the model answered: text, optional reasoning, and tool calls.

    ``model`` and ``usage`` record which model wrote it and what it cost;
    ``finish_reason`` is the provider's (``stop``, ``tool_calls``, ``length``, ...).
    ``reasoning_blocks`` are the provider's reasoning blocks, in order, kept to be sent back
    unchanged (see :class:`ReasoningBlock`); ``None`` when there are none.
    ``duration`` is how many seconds the provider took to answer (the request sent to the whole
    answer received; set by the agent loop, ``None`` for answers from the cache or a hook). It is
    a record, not content: messages that differ only in it are equal.
    """

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_to_tool_calls)
    reasoning: str | None = None
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    reasoning_blocks: tuple[ReasoningBlock, ...] | None = attrs.field(
        default=None, converter=_to_reasoning_blocks, kw_only=True
    )
    duration: float | None = attrs.field(default=None, eq=False, kw_only=True)
    role: Literal["assistant"] = attrs.field(default="assistant", init=False)

    @property
    def text(self) -> str:
        return self.content


def _to_images(value: Iterable[ImagePart] | None) -> tuple[ImagePart, ...] | None:
    return tuple(value) if value else None


@attrs.frozen
class ToolMessage:
    """A tool's result, answering the call with id ``tool_call_id``.

    ``images`` are images the tool returned (an MCP server's image content, a tool returning
    :class:`ImagePart` values): providers with vision show them to the model, each as its API
    allows (see :func:`tool_images_as_user_messages`). ``None`` when there are none.
    """

    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    images: tuple[ImagePart, ...] | None = attrs.field(default=None, converter=_to_images, kw_only=True)
    role: Literal["tool"] = attrs.field(default="tool", init=False)

    @property
    def text(self) -> str:
        return self.content


def tool_images_as_user_messages(messages: Iterable[Message]) -> list[Message]:
    """``messages`` with the images of tool results moved to a user message after them.

    For APIs whose tool messages take text only (OpenAI Chat Completions, Ollama): after each
    run of consecutive tool results, one user message carries their images, each introduced by
    the tool it came from; the tool results stay in place (they must follow the assistant's
    calls), their text saying the images follow. Messages without tool images are unchanged.
    """
    out: list[Message] = []
    pending: list[Part] = []
    for message in messages:
        if isinstance(message, ToolMessage) and message.images:
            count = len(message.images)
            note = f"[{count} image{'s' if count > 1 else ''} returned by this tool follow in the next message]"
            out.append(attrs.evolve(message, content=f"{message.content}\n{note}" if message.content else note, images=None))
            pending.append(TextPart(f"Images returned by tool {message.name!r} (call {message.tool_call_id}):"))
            pending.extend(message.images)
            continue
        if pending and not isinstance(message, ToolMessage):
            out.append(UserMessage(tuple(pending)))
            pending = []
        out.append(message)
    if pending:
        out.append(UserMessage(tuple(pending)))
    return out


Message: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage
