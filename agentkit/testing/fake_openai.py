"""A fake OpenAI-compatible server on 127.0.0.1, answering Chat Completions from a script.

For tests, examples and benchmarks that need a real HTTP model server without a model::

    from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call

    script = [
        tool_call("get_weather", {"city": "Paris"}),  # turn 1: the model calls a tool
        "It is sunny in Paris.",                       # turn 2: the model answers
    ]
    with FakeOpenAIServer(script) as server:
        agent = Agent("openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test", tools=[get_weather])
        agent.run("Weather in Paris?")
        assert server.chat_requests[1]["messages"][-1]["role"] == "tool"

What it serves (under ``server.base_url``, which ends in ``/v1``):

- ``POST /v1/chat/completions``: the next script item, as one JSON ``chat.completion``, or as
  SSE ``chat.completion.chunk`` events ending in ``data: [DONE]`` when the request says
  ``"stream": true``. Text and tool-call arguments are streamed in pieces of ``chunk_size``
  characters; tool calls carry their id and name in their first delta only, like OpenAI; a
  usage chunk is sent when the request asks with ``stream_options.include_usage``.
- ``POST /v1/embeddings``: deterministic unit vectors (``embedding_dim`` numbers) from a hash
  of each input text, so equal texts get equal vectors.
- ``GET /v1/models``: the ``models`` given.

A script item is one of:

- a ``str``: a text answer;
- a :class:`~agentkit.ToolCall` (see :func:`tool_call`) or a list of them: a tool-calling turn;
- an :class:`~agentkit.AssistantMessage` or :class:`~agentkit.ModelResponse`: its text,
  reasoning and tool calls;
- a :class:`FakeReply`: all of the above plus reasoning, finish reason, usage, or an error
  (status and OpenAI error object, with headers such as ``retry-after``);
- a ``dict``: a raw JSON body, sent as it is;
- a :class:`agentkit.testing.servers.Reply`: raw bytes, chunks, pauses and cuts, for faults;
- a callable ``f(request_json) -> item``: computed per request.

``script`` may also be a single callable, used for every request. When a list runs out, the
``default`` item is used; without one the server answers HTTP 400 saying the script is
exhausted. ``api_key`` makes the server refuse (401) requests without that bearer key.
Everything received is recorded: ``requests`` (every request), ``chat_requests`` and
``embedding_requests`` (their JSON bodies); ``in_flight`` is the number of requests the
server is answering now, ``max_in_flight`` the most it was answering at once. ``reset(script, default=...)`` starts over, so one
server can serve many tests (starting a server costs about half a second).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..events import ModelResponse
from ..messages import AssistantMessage, ToolCall
from .servers import LoopbackServer, RecordedRequest, Reply, json_reply

__all__ = ["FakeOpenAIServer", "FakeReply", "tool_call"]


def tool_call(
    name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str | None = None
) -> ToolCall:
    """A scripted tool call; ``arguments`` may be a dict or raw (even malformed) JSON text."""
    text = arguments if isinstance(arguments, str) else json.dumps(dict(arguments or {}))
    return ToolCall(id=id or f"call_{next(_ids)}", name=name, arguments=text)


_ids = itertools.count(1)


def _to_calls(value: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(value)


@attrs.frozen
class FakeReply:
    """One scripted answer with every detail under control.

    ``finish_reason`` defaults to ``"tool_calls"`` when there are tool calls, else ``"stop"``.
    ``usage`` is a wire usage object (``prompt_tokens``, ``completion_tokens``,
    ``prompt_tokens_details``...); by default a rough count is made up. ``error`` turns the
    reply into an error: the object is sent as ``{"error": error}`` with HTTP ``status`` (400
    when left at 200); with ``in_stream=True`` it is sent inside an SSE stream instead, after
    the text.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_to_calls)
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: Mapping[str, Any] | None = None
    status: int = 200
    error: Mapping[str, Any] | None = None
    in_stream: bool = False
    headers: Mapping[str, str] = attrs.field(factory=dict)


Item = Any  # str | ToolCall | list[ToolCall] | AssistantMessage | ModelResponse | FakeReply | dict | Reply | callable


class FakeOpenAIServer:
    """A loopback OpenAI-compatible server answering from ``script`` (see the module docstring)."""

    def __init__(
        self,
        script: Iterable[Item] | Callable[[dict[str, Any]], Item] = (),
        *,
        default: Item = None,
        models: Sequence[str] = ("gpt-4o-mini", "text-embedding-3-small"),
        embedding_dim: int = 8,
        api_key: str | None = None,
        chunk_size: int = 8,
    ) -> None:
        self._script_fn = script if callable(script) else None
        self._script: list[Item] = [] if callable(script) else list(script)
        self.default = default
        self.models = tuple(models)
        self.embedding_dim = embedding_dim
        self.api_key = api_key
        self.chunk_size = max(1, chunk_size)
        self.chat_requests: list[dict[str, Any]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self._used = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handle)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """The URL to give a provider: ``http://127.0.0.1:PORT/v1``."""
        return self._server.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order."""
        return self._server.requests

    @property
    def in_flight(self) -> int:
        """The requests this server is answering right now."""
        return self._server.in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests this server was answering at once (since the last ``reset``)."""
        return self._server.max_in_flight

    def reset(
        self, script: Iterable[Item] | Callable[[dict[str, Any]], Item] = (), *, default: Item = None
    ) -> FakeOpenAIServer:
        """Start over with a new script and empty records (a long-lived server shared by tests)."""
        with self._lock:
            self._script_fn = script if callable(script) else None
            self._script = [] if callable(script) else list(script)
            self.default = default
            self._used = 0
            self.chat_requests.clear()
            self.embedding_requests.clear()
            self.requests.clear()
            self._server.max_in_flight = self._server.in_flight
        return self

    def add(self, *items: Item) -> None:
        """Append items to the script."""
        with self._lock:
            self._script.extend(items)

    # -- dispatch ---------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error_reply(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        path = request.path.split("?", 1)[0].rstrip("/")
        if request.method == "POST" and path.endswith("/chat/completions"):
            return self._chat(request)
        if request.method == "POST" and path.endswith("/embeddings"):
            return self._embeddings(request)
        if request.method == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
            return json_reply({"object": "list", "data": data})
        return _error_reply(
            404, f"no route for {request.method} {path}", "invalid_request_error", "not_found"
        )

    def _next_item(self, body: dict[str, Any]) -> Item:
        with self._lock:
            self.chat_requests.append(body)
            if self._script_fn is not None:
                item: Item = self._script_fn
            elif self._script:
                item = self._script.pop(0)
            elif self.default is not None:
                item = self.default
            else:
                return _error_reply(
                    400,
                    f"FakeOpenAIServer: the script is exhausted after {self._used} replies",
                    "invalid_request_error",
                    "script_exhausted",
                )
            self._used += 1
        while callable(item) and not isinstance(item, Reply):
            item = item(body)
        return item

    def _chat(self, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error_reply(400, "the body is not JSON", "invalid_request_error", None)
        item = self._next_item(body)
        if isinstance(item, Reply):
            return item
        if isinstance(item, dict):
            return json_reply(item)
        reply = _as_fake_reply(item)
        model = str(body.get("model") or "fake")
        if reply.error is not None and not reply.in_stream:
            return json_reply(
                {"error": dict(reply.error)},
                status=reply.status if reply.status != 200 else 400,
                headers=dict(reply.headers),
            )
        usage = dict(reply.usage) if reply.usage is not None else _made_up_usage(body, reply)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._sse(reply, model, usage if include_usage else None)
        return json_reply(_completion(reply, model, usage), status=reply.status, headers=dict(reply.headers))

    def _sse(self, reply: FakeReply, model: str, usage: dict[str, Any] | None) -> Reply:
        base = {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def event(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return "data: " + json.dumps({**base, "choices": [choice]}) + "\n\n"

        chunks = [event({"role": "assistant", "content": ""})]
        chunks += [
            event({"reasoning_content": piece}) for piece in _pieces(reply.reasoning or "", self.chunk_size)
        ]
        chunks += [event({"content": piece}) for piece in _pieces(reply.text, self.chunk_size)]
        if reply.error is not None:
            chunks.append("data: " + json.dumps({"error": dict(reply.error)}) + "\n\n")
            return Reply(200, headers={"content-type": "text/event-stream", **reply.headers}, chunks=chunks)
        for index, call in enumerate(reply.tool_calls):
            first = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            chunks.append(event({"tool_calls": [first]}))
            for piece in _pieces(call.arguments, self.chunk_size):
                chunks.append(event({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        chunks.append(event({}, _finish_reason(reply)))
        if usage is not None:
            chunks.append("data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n")
        chunks.append("data: [DONE]\n\n")
        return Reply(200, headers={"content-type": "text/event-stream", **reply.headers}, chunks=chunks)

    def _embeddings(self, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error_reply(400, "the body is not JSON", "invalid_request_error", None)
        with self._lock:
            self.embedding_requests.append(body)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(str(text), self.embedding_dim)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(str(t)) // 4 + 1 for t in texts)
        return json_reply(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


# -- helpers -------------------------------------------------------------------------------


def _as_fake_reply(item: Item) -> FakeReply:
    if isinstance(item, FakeReply):
        return item
    if isinstance(item, str):
        return FakeReply(text=item)
    if isinstance(item, ToolCall):
        return FakeReply(tool_calls=(item,))
    if isinstance(item, list | tuple) and all(isinstance(c, ToolCall) for c in item):
        return FakeReply(tool_calls=tuple(item))
    if isinstance(item, ModelResponse):
        item = item.message
    if isinstance(item, AssistantMessage):
        return FakeReply(
            text=item.content,
            tool_calls=item.tool_calls,
            reasoning=item.reasoning,
            finish_reason=item.finish_reason,
        )
    raise TypeError(f"FakeOpenAIServer cannot answer with a {type(item).__name__}: {item!r}")


def _finish_reason(reply: FakeReply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _completion(reply: FakeReply, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)}
        ],
        "usage": usage,
    }


def _made_up_usage(body: dict[str, Any], reply: FakeReply) -> dict[str, Any]:
    prompt = sum(len(json.dumps(m.get("content"))) for m in body.get("messages") or () if isinstance(m, dict))
    completion = len(reply.text) + sum(len(c.arguments) + len(c.name) for c in reply.tool_calls)
    prompt_tokens, completion_tokens = prompt // 4 + 1, completion // 4 + 1
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _vector(text: str, dim: int) -> list[float]:
    digest = b""
    counter = 0
    while len(digest) < dim * 2:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 32767.5 - 1.0 for i in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def _error_reply(status: int, message: str, type_: str, code: str | None) -> Reply:
    return json_reply(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}, status=status
    )
