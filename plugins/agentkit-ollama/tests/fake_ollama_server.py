"""A fake Ollama server on 127.0.0.1 that speaks the native API the way Ollama writes it.

It serves ``/api/chat`` (NDJSON stream or one JSON object), ``/api/tags``, ``/api/show``,
``/api/embed`` and ``/`` from scripted replies, and injects the faults the provider must
survive. Bodies are written like Ollama's Go encoder writes them: compact JSON, ``<``, ``>``
and ``&`` escaped as ``\\u003c``..., one object per line, sent with chunked transfer
encoding and cut into pieces of ``split`` bytes, so line (and UTF-8 character) boundaries
fall inside reads.

::

    with FakeOllama() as server:
        server.script(Chat(content="Hello there"))
        provider = OllamaProvider(base_url=server.url)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from agentkit.testing.servers import Cut, LoopbackServer, Pause, RecordedRequest, Reply

__all__ = ["FAST", "Chat", "FakeModel", "FakeOllama", "go_json", "ndjson"]

#: Provider settings for tests: short timeouts and backoff (a test that needs patience sets its own).
FAST = {
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "first_byte_timeout": 5.0,
    "total_timeout": 20.0,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
}

NOT_FOUND = 'model "{model}" not found, try pulling it first'


def go_json(value: Any) -> bytes:
    """JSON as Go's encoding/json writes it: compact, UTF-8, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8")


def ndjson(objects: list[Any]) -> bytes:
    return b"".join(go_json(o) + b"\n" for o in objects)


@attrs.define
class FakeModel:
    """An installed model: what /api/tags and /api/show say about it."""

    name: str
    family: str = "qwen3"
    context_length: int = 40960
    num_ctx: int | None = None  # a PARAMETER num_ctx in its Modelfile
    capabilities: tuple[str, ...] = ("completion", "tools", "thinking")
    embedding_length: int = 8


@attrs.define
class Chat:
    """One scripted /api/chat reply, and the faults to inject into it.

    ``content`` and ``thinking`` are streamed a few characters per line; ``tool_calls`` are
    ``{"name", "arguments", "id"?}`` dicts sent whole in one line, as Ollama does.
    """

    content: str = ""
    thinking: str = ""
    tool_calls: list[dict[str, Any]] = attrs.field(factory=list)
    done_reason: str = "stop"
    prompt_eval_count: int | None = 26
    eval_count: int | None = None
    piece: int = 4  # characters of content per streamed line
    split: int | None = 7  # bytes per HTTP chunk (None: one chunk per line)
    # faults
    status: int | None = None  # answer with this HTTP status and {"error": error}
    error: str = "something went wrong"
    headers: dict[str, str] = attrs.field(factory=dict)
    error_after: int | None = None  # an {"error": stream_error} line after this many lines
    stream_error: str = "an error was encountered while running the model: unexpected EOF"
    omit_done: bool = False  # end the stream without the done: true object
    header_delay: float = 0.0  # seconds before the response headers (a model loading)
    body_delay: float = 0.0  # seconds after the headers, before the first byte
    stall_after: int | None = None  # pause after this many lines...
    stall: float = 0.0  # ...for this many seconds
    cut_after: int | None = None  # close the socket after this many lines
    raw: bytes | None = None  # send exactly these bytes as the body instead


Script = Chat | Callable[[dict[str, Any]], Chat]


class FakeOllama:
    """A loopback Ollama: scripted chat replies, installed models, embeddings."""

    def __init__(self, models: list[FakeModel] | None = None) -> None:
        self.models = {
            m.name: m
            for m in (models or [FakeModel("qwen3:8b"), FakeModel("nomic-embed-text", "nomic-bert", 2048)])
        }
        self._chats: list[Script] = []
        self._lock = threading.Lock()
        self.default_chat: Script = Chat(content="ok")
        self.server = LoopbackServer(self._handle)

    # -- set-up ----------------------------------------------------------------------------

    def script(self, *replies: Script) -> FakeOllama:
        """Queue chat replies, answered in order; after them, ``default_chat``."""
        with self._lock:
            self._chats.extend(replies)
        return self

    def reset(self) -> None:
        """Forget requests and queued replies (a server shared by several tests)."""
        with self._lock:
            self._chats.clear()
            self.default_chat = Chat(content="ok")
            self.server.requests.clear()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.server.requests if r.path == "/api/chat"]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.server.requests]

    def __enter__(self) -> FakeOllama:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # -- routes ----------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        route = (request.method, request.path)
        if route == ("GET", "/"):
            return Reply(200, b"Ollama is running", {"Content-Type": "text/plain; charset=utf-8"})
        if route in (("GET", "/api/tags"), ("HEAD", "/api/tags")):
            return self._json(200, {"models": [self._tag(m) for m in self.models.values()]})
        if route == ("POST", "/api/show"):
            return self._show(request.json())
        if route == ("POST", "/api/chat"):
            return self._chat(request.json())
        if route == ("POST", "/api/embed"):
            return self._embed(request.json())
        return Reply(404, b"404 page not found", {"Content-Type": "text/plain"})

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(
            status, go_json(data), {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        )

    def _missing(self, model: str) -> Reply:
        return self._json(404, {"error": NOT_FOUND.format(model=model)})

    def _tag(self, m: FakeModel) -> dict[str, Any]:
        return {
            "name": m.name,
            "model": m.name,
            "modified_at": "2025-05-01T10:00:00.123456789+02:00",
            "size": 5_225_388_164,
            "digest": hashlib.sha256(m.name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": m.family,
                "families": [m.family],
                "parameter_size": "8.2B",
                "quantization_level": "Q4_K_M",
            },
        }

    def _show(self, body: dict[str, Any]) -> Reply:
        m = self.models.get(body.get("model", ""))
        if m is None:
            return self._json(404, {"error": f"model '{body.get('model')}' not found"})
        parameters = 'repeat_penalty                 1\nstop                           "<|im_start|>"'
        if m.num_ctx:
            parameters = f"num_ctx                        {m.num_ctx}\n" + parameters
        return self._json(
            200,
            {
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {m.name}\n',
                "parameters": parameters,
                "template": "{{ .Prompt }}",
                "details": self._tag(m)["details"],
                "model_info": {
                    "general.architecture": m.family,
                    "general.parameter_count": 8190735360,
                    f"{m.family}.block_count": 36,
                    f"{m.family}.context_length": m.context_length,
                    f"{m.family}.embedding_length": 4096,
                    "tokenizer.ggml.model": "gpt2",
                },
                "capabilities": list(m.capabilities),
                "modified_at": "2025-05-01T10:00:00.123456789+02:00",
            },
        )

    def _embed(self, body: dict[str, Any]) -> Reply:
        model = body.get("model", "")
        m = self.models.get(model)
        if m is None:
            return self._missing(model)
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        vectors = [_vector(t, m.embedding_length) for t in texts]
        return self._json(
            200,
            {
                "model": model,
                "embeddings": vectors,
                "total_duration": 14143917,
                "load_duration": 1019500,
                "prompt_eval_count": sum(len(t.split()) for t in texts),
            },
        )

    def _next_chat(self, body: dict[str, Any]) -> Chat:
        with self._lock:
            script = self._chats.pop(0) if self._chats else self.default_chat
        return script(body) if callable(script) else script

    def _chat(self, body: dict[str, Any]) -> Reply:
        model = body.get("model", "")
        if model not in self.models:
            return self._missing(model)
        chat = self._next_chat(body)
        if chat.header_delay:
            time.sleep(chat.header_delay)  # headers wait, as they do while Ollama loads a model
        if chat.status is not None:
            return self._json(chat.status, {"error": chat.error}, chat.headers)
        lines = self._lines(model, chat)
        if body.get("stream", True) is False:
            return self._json(200, _collapse(lines))
        if chat.raw is not None:
            return self._ndjson_reply(chat, [chat.raw])
        encoded = [go_json(line) + b"\n" for line in lines]
        return self._ndjson_reply(chat, encoded)

    def _lines(self, model: str, chat: Chat) -> list[dict[str, Any]]:
        def line(message: dict[str, Any]) -> dict[str, Any]:
            return {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", **message},
                "done": False,
            }

        out = []
        for i in range(0, len(chat.thinking), chat.piece):
            out.append(line({"content": "", "thinking": chat.thinking[i : i + chat.piece]}))
        for i in range(0, len(chat.content), chat.piece):
            out.append(line({"content": chat.content[i : i + chat.piece]}))
        if chat.tool_calls:
            calls = []
            for index, call in enumerate(chat.tool_calls):
                wire: dict[str, Any] = {}
                if call.get("id"):
                    wire["id"] = call["id"]
                wire["function"] = {
                    "index": index,
                    "name": call["name"],
                    "arguments": call.get("arguments", {}),
                }
                calls.append(wire)
            out.append(line({"content": "", "tool_calls": calls}))
        if chat.error_after is not None:
            out.insert(chat.error_after, {"error": chat.stream_error})
            del out[chat.error_after + 1 :]
            return out
        if chat.omit_done:
            return out
        final: dict[str, Any] = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": chat.done_reason,
            "done": True,
            "total_duration": 4883583458,
            "load_duration": 1334875,
        }
        if chat.prompt_eval_count is not None:
            final["prompt_eval_count"] = chat.prompt_eval_count
        final["prompt_eval_duration"] = 342546000
        final["eval_count"] = chat.eval_count if chat.eval_count is not None else max(1, len(out))
        final["eval_duration"] = 4535599000
        out.append(final)
        return out

    def _ndjson_reply(self, chat: Chat, encoded: list[bytes]) -> Reply:
        chunks: list[bytes | Pause | Cut] = []
        if chat.body_delay:
            chunks.append(Pause(chat.body_delay))
        for n, data in enumerate(encoded, start=1):
            if chat.split:
                chunks.extend(data[i : i + chat.split] for i in range(0, len(data), chat.split))
            else:
                chunks.append(data)
            if chat.cut_after == n:
                chunks.append(Cut())
                break
            if chat.stall_after == n:
                chunks.append(Pause(chat.stall))
        return Reply(200, headers={"Content-Type": "application/x-ndjson"}, chunks=chunks)


def _collapse(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The single object of a ``"stream": false`` reply."""
    if lines and "error" in lines[-1]:
        return lines[-1]
    final = dict(lines[-1]) if lines else {}
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    for line in lines[:-1]:
        m = line.get("message", {})
        message["content"] += m.get("content", "")
        if m.get("thinking"):
            message["thinking"] = message.get("thinking", "") + m["thinking"]
        if m.get("tool_calls"):
            message.setdefault("tool_calls", []).extend(m["tool_calls"])
    final["message"] = message
    return final


def _vector(text: str, size: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 128) / 128, 6) for b in digest[:size]]


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d}Z"
