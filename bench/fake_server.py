"""A fast fake OpenAI-compatible server for the benchmark, run in its own process.

    python bench/fake_server.py            # prints the port it listens on, then serves

Raw asyncio HTTP/1.1 with keep-alive and pre-encoded replies, so that it is not what the
benchmark measures. Its rule: a request whose messages hold a tool result gets the final
text; a request with tools and no tool result gets a tool call to ``add``; anything else gets
text. ``"stream": true`` gets SSE chunks ending in ``[DONE]``. Requests to ``/v1/messages``
get the same exchange shaped as Anthropic's Messages API (``tool_use``, then the text).
"""

from __future__ import annotations

import asyncio
import json
import sys

TOOL_CALL = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "bench",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
}
FINAL = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 3 = 5."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 70, "completion_tokens": 8, "total_tokens": 78},
}


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


STREAM = (
    _chunk({"role": "assistant", "content": ""})
    + b"".join(_chunk({"content": piece}) for piece in ("2 ", "+ 3 ", "= ", "5."))
    + _chunk({}, "stop")
    + b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,"model":"bench","choices":[],'
    b'"usage":{"prompt_tokens":50,"completion_tokens":4,"total_tokens":54}}\n\n'
    + b"data: [DONE]\n\n"
)


ANTHROPIC_TOOL_CALL = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "bench",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}}],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 50, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}
ANTHROPIC_FINAL = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "bench",
    "content": [{"type": "text", "text": "2 + 3 = 5."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 70, "output_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}


def _response(body: bytes, content_type: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body
    )


TOOL_REPLY = _response(json.dumps(TOOL_CALL).encode(), b"application/json")
FINAL_REPLY = _response(json.dumps(FINAL).encode(), b"application/json")
STREAM_REPLY = _response(STREAM, b"text/event-stream")
ANTHROPIC_TOOL_REPLY = _response(json.dumps(ANTHROPIC_TOOL_CALL).encode(), b"application/json")
ANTHROPIC_FINAL_REPLY = _response(json.dumps(ANTHROPIC_FINAL).encode(), b"application/json")


def anthropic_reply(body: bytes) -> bytes:
    """The Messages API's answer to ``body``: the final text after a tool result, else a call to ``add``."""
    if b'"tool_result"' in body:
        return ANTHROPIC_FINAL_REPLY
    return ANTHROPIC_TOOL_REPLY if b'"tools"' in body else ANTHROPIC_FINAL_REPLY


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"POST /v1/messages "):
                writer.write(anthropic_reply(body))
            elif b'"stream":true' in body or b'"stream": true' in body:
                writer.write(STREAM_REPLY)
            elif b'"role":"tool"' in body or b'"role": "tool"' in body:
                writer.write(FINAL_REPLY)
            elif b'"tools"' in body:
                writer.write(TOOL_REPLY)
            else:
                writer.write(FINAL_REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
