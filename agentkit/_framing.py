"""Stream framing for provider bodies: lines, server-sent events and newline-delimited JSON.

What a streamed body means is the provider's; how it is cut into events is one of two common
framings, decoded here once for every HTTP provider. Public as :mod:`agentkit.http`'s
:func:`~agentkit.http.aiter_sse`, :func:`~agentkit.http.aiter_ndjson` and
:class:`~agentkit.http.SseEvent`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs

__all__ = ["SseEvent", "aiter_lines", "aiter_ndjson", "aiter_sse"]


async def aiter_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Lines of a byte stream: UTF-8 decoded incrementally, split on LF, CRLF or CR."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    async for chunk in chunks:
        buffer += decoder.decode(chunk)
        if buffer.endswith("\r"):  # may be the first half of CRLF: wait for more
            head, buffer = buffer[:-1], "\r"
        else:
            head, buffer = buffer, ""
        parts = head.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        buffer = parts.pop() + buffer
        for line in parts:
            yield line
    buffer += decoder.decode(b"", final=True)
    if buffer:
        for line in buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line:
                yield line


@attrs.frozen
class SseEvent:
    """One server-sent event."""

    data: str
    event: str | None = None
    id: str | None = None


async def aiter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[SseEvent]:
    """Server-sent events of a byte stream, framed per the HTML spec (comments skipped)."""
    data: list[str] = []
    event: str | None = None
    event_id: str | None = None
    async for line in aiter_lines(chunks):
        if not line:
            if data:
                yield SseEvent("\n".join(data), event, event_id)
            data, event = [], None
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
        elif field == "id":
            event_id = value
    if data:  # a final event without its blank line: still deliver it
        yield SseEvent("\n".join(data), event, event_id)


async def aiter_ndjson(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """JSON values of a newline-delimited JSON stream (blank lines skipped)."""
    async for line in aiter_lines(chunks):
        if line.strip():
            yield json.loads(line)
