"""A fake Messages API on 127.0.0.1, written the way Anthropic documents its wire format.

It serves ``POST /v1/messages`` (an SSE stream, or one JSON message), ``POST
/v1/messages/count_tokens`` and ``GET /v1/models`` from scripted replies, and checks what the
real API checks first: the ``x-api-key``, ``anthropic-version`` and ``content-type`` headers,
and the body against the official SDK's request types (see ``sdk_check.py``). A request that
fails a check is answered the way the API answers it (401, or 400 ``invalid_request_error``
naming the problem) and recorded in :attr:`FakeAnthropic.rejected`; the ``anthropic`` fixture
fails the test when anything was rejected that the test did not expect.

Streams are framed as the API frames them: ``event: <type>\\ndata: <json>\\n\\n`` per event,
``ping`` events among them, sent with chunked transfer encoding and cut into pieces of
``split`` bytes so event (and UTF-8 character) boundaries fall inside reads. Every event and
message written is first read back by the SDK's own models.

::

    with FakeAnthropic() as server:
        server.script(Turn([text("Hello there")]))
        provider = AnthropicProvider(base_url=server.url, api_key=KEY)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import attrs
from sdk_check import check_count_body, check_event, check_message, check_request_body

from agentkit.testing.servers import Cut, LoopbackServer, Pause, RecordedRequest, Reply

__all__ = ["FAST", "KEY", "FakeAnthropic", "Turn", "redacted", "text", "thinking", "tool_use"]

KEY = "sk-ant-test-0123456789abcdef"
VERSION = "2023-06-01"
#: Provider settings for tests: short timeouts and backoff.
FAST = {
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "first_byte_timeout": 5.0,
    "total_timeout": 20.0,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str, signature: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


def redacted(data: str) -> dict[str, Any]:
    return {"type": "redacted_thinking", "data": data}


def tool_use(id: str, name: str, input: dict[str, Any] | None = None, *, raw: list[str] | None = None) -> dict[str, Any]:
    """A tool call; ``raw`` streams these pieces of ``partial_json`` instead of ``input``'s JSON (a fault)."""
    block: dict[str, Any] = {"type": "tool_use", "id": id, "name": name, "input": input or {}}
    if raw is not None:
        block["_raw"] = raw
    return block


@attrs.define
class Turn:
    """One scripted ``/v1/messages`` reply, and the faults to inject into it."""

    blocks: list[dict[str, Any]] = attrs.field(factory=lambda: [text("ok")])
    stop_reason: str | None = None  # default: tool_use when a block calls a tool, else end_turn
    usage: dict[str, Any] = attrs.field(factory=lambda: {"input_tokens": 12, "output_tokens": 7})
    piece: int = 5  # characters per text/thinking/json delta
    split: int | None = 23  # bytes per HTTP chunk (None: one chunk per event)
    pings: bool = True  # a ping after message_start and between blocks
    # faults
    status: int | None = None  # answer with this status and an error body of error_type
    error_type: str = "overloaded_error"
    error_message: str = "Overloaded"
    headers: dict[str, str] = attrs.field(factory=dict)
    error_event_after: int | None = None  # an error event (error_type) after this many events
    cut_after: int | None = None  # close the socket after this many events
    stop_after: int | None = None  # end the body cleanly after this many events (no message_stop)
    stall_after: int | None = None
    stall: float = 0.0


Script = Turn | Callable[[dict[str, Any]], Turn]


class FakeAnthropic:
    """A loopback Messages API: scripted replies, header and body checks against the SDK."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self._turns: list[Script] = []
        self._lock = threading.Lock()
        self.default_turn: Script = Turn()
        self.count_tokens: Callable[[dict[str, Any]], int] = lambda body: 4 + len(json.dumps(body["messages"])) // 4
        self.models = ["claude-haiku-4-5", "claude-sonnet-4-5"]
        self.requests: list[dict[str, Any]] = []  # bodies of /v1/messages, in order
        self.count_requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.rejected: list[str] = []  # why requests were refused (header or body checks)
        self.server = LoopbackServer(self._handle)

    # -- set-up ----------------------------------------------------------------------------

    def script(self, *turns: Script) -> FakeAnthropic:
        """Queue replies, answered in order; after them, ``default_turn``."""
        with self._lock:
            self._turns.extend(turns)
        return self

    def reset(self) -> None:
        with self._lock:
            self._turns.clear()
            self.requests.clear()
            self.count_requests.clear()
            self.headers.clear()
            self.rejected.clear()
            self.server.requests.clear()
        self.default_turn = Turn()
        self.key = KEY

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeAnthropic:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # -- serving ---------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        path = request.path.split("?", 1)[0]
        problem = self._check_headers(request)
        if problem is not None:
            return problem
        if request.method == "GET" and path == "/v1/models":
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in self.models]
            return _json({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
        if request.method != "POST" or path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return _error(404, "not_found_error", f"no route {request.method} {path}")
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._reject("the body is not JSON")
        if path == "/v1/messages/count_tokens":
            problems = check_count_body(body)
            if problems:
                return self._reject("; ".join(problems))
            with self._lock:
                self.count_requests.append(body)
            return _json({"input_tokens": self.count_tokens(body)})
        problems = check_request_body(body)
        if problems:
            return self._reject("; ".join(problems))
        with self._lock:
            self.requests.append(body)
            script = self._turns.pop(0) if self._turns else self.default_turn
        turn = script(body) if callable(script) else script
        if turn.status is not None:
            return _error(turn.status, turn.error_type, turn.error_message, turn.headers)
        message = _message(turn, body["model"])
        if body.get("stream"):
            return Reply(200, headers={"content-type": "text/event-stream; charset=utf-8", **turn.headers},
                         chunks=_stream(turn, message))
        check_message(message)
        return _json(message, headers=turn.headers)

    def _check_headers(self, request: RecordedRequest) -> Reply | None:
        headers = request.headers
        with self._lock:
            self.headers.append(dict(headers))
        if headers.get("x-api-key") != self.key:
            what = "x-api-key header is required" if "x-api-key" not in headers else "invalid x-api-key"
            return _error(401, "authentication_error", what)
        if headers.get("anthropic-version") != VERSION:
            return self._reject(f"anthropic-version: expected {VERSION!r}, got {headers.get('anthropic-version')!r}")
        if request.method == "POST" and not headers.get("content-type", "").startswith("application/json"):
            return self._reject(f"content-type: expected application/json, got {headers.get('content-type')!r}")
        return None

    def _reject(self, why: str) -> Reply:
        with self._lock:
            self.rejected.append(why)
        return _error(400, "invalid_request_error", why)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(data).encode(),
        {"content-type": "application/json", "request-id": "req_011Test", **(headers or {})},
    )


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return _json({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011Test"},
                 status, headers)


def _stop_reason(turn: Turn) -> str:
    if turn.stop_reason is not None:
        return turn.stop_reason
    return "tool_use" if any(b["type"] == "tool_use" for b in turn.blocks) else "end_turn"


def _message(turn: Turn, model: str) -> dict[str, Any]:
    content = [{k: v for k, v in b.items() if k != "_raw"} for b in turn.blocks]
    for block in content:
        if block["type"] == "text":
            block["citations"] = None
    usage = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard", **turn.usage}
    return {
        "id": "msg_01TestFake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _stop_reason(turn),
        "stop_sequence": None,
        "usage": usage,
    }


def _pieces(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


def _events(turn: Turn, message: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream of ``message``, event by event, as the API sends it."""
    start = dict(message, content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = dict(message["usage"], output_tokens=1)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    if turn.pings:
        events.append({"type": "ping"})
    for index, block in enumerate(turn.blocks):
        kind = block["type"]
        if kind == "text":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": "", "citations": None}})
            events += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": p}}
                       for p in _pieces(block["text"], turn.piece)]
        elif kind == "thinking":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "thinking_delta", "thinking": p}} for p in _pieces(block["thinking"], turn.piece)]
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "signature_delta", "signature": block["signature"]}})
        elif kind == "redacted_thinking":
            events.append({"type": "content_block_start", "index": index, "content_block": dict(block)})
        elif kind == "tool_use":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
            pieces = block.get("_raw") or _pieces(json.dumps(block["input"]), turn.piece)
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": p}} for p in pieces]
        events.append({"type": "content_block_stop", "index": index})
        if turn.pings and index == 0:
            events.append({"type": "ping"})
    usage = {k: message["usage"][k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")}
    usage["output_tokens"] = message["usage"]["output_tokens"]
    events.append({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                   "usage": usage})
    events.append({"type": "message_stop"})
    return events


def _frame(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _stream(turn: Turn, message: dict[str, Any]) -> list[bytes | Pause | Cut]:
    events = _events(turn, message)
    for event in events:
        if event["type"] != "ping":
            check_event(event)  # the SDK reads what we write (it skips pings, as clients may)
    out: list[bytes | Pause | Cut] = []
    for count, event in enumerate(events):
        if count == turn.error_event_after:
            error = {"type": "error", "error": {"type": turn.error_type, "message": turn.error_message}}
            from anthropic.types.shared import ErrorResponse

            ErrorResponse.model_validate(dict(error, request_id=None))
            out += _split(_frame(error), turn.split)
            return out  # the API ends the stream after an error event
        if count == turn.cut_after:
            out.append(Cut())
            return out
        if count == turn.stop_after:
            return out
        if count == turn.stall_after:
            out.append(Pause(turn.stall))
        out += _split(_frame(event), turn.split)
    return out


def _split(data: bytes, size: int | None) -> list[bytes | Pause | Cut]:
    if size is None:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]
