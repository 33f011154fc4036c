"""Translation between agentkit's values and Ollama's native JSON (``/api/chat``).

Kept free of I/O so every rule can be tested on plain dicts. The request side turns a
:class:`~agentkit.ModelRequest` into the body of ``POST /api/chat``; the response side is a
:class:`ChatAssembler` that takes the NDJSON objects of a streamed reply one by one, returns
the events they carry, and builds the final :class:`~agentkit.ModelResponse` from the
``done: true`` object.

Ollama's shapes differ from OpenAI's in ways that matter here: tool-call arguments are JSON
*objects* (agentkit keeps the raw JSON text), tool calls may come without ids (we make
stable ones), images are bare base64 strings, generation parameters go in ``options``
(``max_tokens`` is ``num_predict``), and the final object carries token counts and
durations in nanoseconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.events import (
    ModelResponse,
    ModelStreamEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
)
from agentkit.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
    tool_images_as_user_messages,
)
from agentkit.providers import ModelRequest, ToolSpec
from agentkit.serialization import to_dict

__all__ = [
    "ALIASES",
    "OPTION_NAMES",
    "TOP_LEVEL",
    "ChatAssembler",
    "OllamaResponseInfo",
    "build_chat_body",
    "message_to_wire",
    "request_digest",
    "split_params",
]

log = logging.getLogger("agentkit_ollama")

#: Ollama's model options (Modelfile parameters and runner settings), sent in ``options``.
OPTION_NAMES = frozenset(
    {
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "top_p",
        "min_p",
        "typical_p",
        "tfs_z",
        "repeat_last_n",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
        "penalize_newline",
        "stop",
        "numa",
        "num_ctx",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "low_vram",
        "vocab_only",
        "use_mmap",
        "use_mlock",
        "num_thread",
    }
)

#: Request fields that sit beside ``options`` at the top level of the body (Ollama's
#: ``ChatRequest`` in ``api/types.go``); the model options go in ``options``.
TOP_LEVEL = frozenset({"think", "keep_alive", "format", "truncate", "shift", "logprobs", "top_logprobs"})

#: agentkit's (OpenAI-flavoured) parameter names and the Ollama option they mean.
ALIASES = {
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
    "max_output_tokens": "num_predict",
}

_EFFORTS = {"low", "medium", "high"}


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split agentkit ``params`` into Ollama ``options`` and top-level request fields.

    ``max_tokens`` becomes ``num_predict``; ``reasoning_effort`` becomes ``think``; an
    ``options`` mapping is merged in (a top-level field found in it, such as ``logprobs``,
    is moved to the top level, where Ollama reads it). Names Ollama may add later pass through to
    ``options`` (Ollama ignores options it does not know, with a line in its log).
    """
    options: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if key == "options":
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"params['options'] must be a mapping of Ollama options, not {type(value).__name__}"
                )
            for name, option in value.items():
                if option is None:
                    continue
                (top if name in TOP_LEVEL else options)[name] = option  # a field put in options by mistake
        elif key in TOP_LEVEL:
            top[key] = value
        elif key == "reasoning_effort":
            effort = str(value).lower()
            top["think"] = effort if effort in _EFFORTS else effort not in ("none", "off", "false")
        elif key in ALIASES:
            options[ALIASES[key]] = value
        elif key == "stop" and isinstance(value, str):
            options["stop"] = [value]
        else:
            if key not in OPTION_NAMES:
                log.debug("ollama: passing unknown parameter %r through in options", key)
            options[key] = value
    return options, top


def build_chat_body(
    request: ModelRequest,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/chat`` for ``request`` (always streamed).

    ``defaults`` are the provider's settings-level params (``options``, ``think``,
    ``keep_alive``, ...); the request's own ``params`` win over them, key by key.
    """
    default_options, default_top = split_params(defaults or {})
    options, top = split_params(request.params)
    body: dict[str, Any] = {
        "model": request.model,
        # tool messages carry text: a tool's images follow in a user message, as vision models expect
        "messages": [message_to_wire(m) for m in tool_images_as_user_messages(request.messages)],
        "stream": True,
    }
    tools = _tools_for(request.tools, request.tool_choice)
    if tools:
        body["tools"] = [_tool_to_wire(t) for t in tools]
    merged_top = {**default_top, **top}
    if request.output_schema is not None:
        merged_top["format"] = to_dict(request.output_schema.schema)
    body.update(merged_top)
    merged_options = {**default_options, **options}
    if merged_options:
        body["options"] = to_dict(merged_options)
    return body


def _tools_for(tools: tuple[ToolSpec, ...], choice: str | None) -> tuple[ToolSpec, ...]:
    """Ollama has no ``tool_choice``: "none" sends no tools, a tool's name sends only it."""
    if choice == "none":
        return ()
    if choice not in (None, "auto", "required"):
        only = tuple(t for t in tools if t.name == choice)
        return only or tools
    return tools


def _tool_to_wire(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": to_dict(spec.parameters),
        },
    }


def message_to_wire(message: Message) -> dict[str, Any]:
    """One agentkit message as an Ollama chat message."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        out: dict[str, Any] = {"role": "user", "content": message.text}
        images = [_image_b64(p) for p in message.images]
        if images:
            out["images"] = images
        return out
    if isinstance(message, AssistantMessage):
        out = {"role": "assistant", "content": message.content}
        if message.reasoning:
            out["thinking"] = message.reasoning
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "type": "function",
                    "id": call.id,
                    "function": {
                        "index": i,
                        "name": call.name,
                        "arguments": _arguments_object(call.arguments),
                    },
                }
                for i, call in enumerate(message.tool_calls)
            ]
        return out
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "content": message.content,
            "tool_name": message.name,
            "tool_call_id": message.tool_call_id,
        }
    raise TypeError(f"cannot send a {type(message).__name__} to Ollama")


def _image_b64(part: Any) -> str:
    if part.url is not None and part.url.startswith(("http://", "https://")):
        raise ValueError(
            "Ollama takes images as bytes, not URLs: pass a local path or the image's bytes "
            f"instead of {part.url[:80]!r}"
        )
    data, _media_type = part.load()
    return base64.b64encode(data).decode("ascii")


def _arguments_object(arguments: str) -> dict[str, Any]:
    """Ollama wants arguments as an object; history from elsewhere may hold anything."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- the response ------------------------------------------------------------------------------


_NS = 1e9


@attrs.frozen
class OllamaResponseInfo:
    """What Ollama reported about one chat call beyond the answer: counts and timings.

    Durations are in seconds (Ollama sends nanoseconds). ``load_duration`` shows a cold
    model being loaded; ``eval_rate`` is output tokens per second.
    """

    model: str | None = None
    done_reason: str | None = None
    prompt_eval_count: int = 0
    eval_count: int = 0
    total_duration: float | None = None
    load_duration: float | None = None
    prompt_eval_duration: float | None = None
    eval_duration: float | None = None

    @classmethod
    def from_final(cls, data: Mapping[str, Any]) -> OllamaResponseInfo:
        def seconds(key: str) -> float | None:
            value = data.get(key)
            return value / _NS if isinstance(value, int | float) else None

        return cls(
            model=data.get("model"),
            done_reason=data.get("done_reason"),
            prompt_eval_count=_int(data.get("prompt_eval_count")),
            eval_count=_int(data.get("eval_count")),
            total_duration=seconds("total_duration"),
            load_duration=seconds("load_duration"),
            prompt_eval_duration=seconds("prompt_eval_duration"),
            eval_duration=seconds("eval_duration"),
        )

    @property
    def eval_rate(self) -> float | None:
        """Output tokens per second, when Ollama reported the time."""
        if not self.eval_duration:
            return None
        return self.eval_count / self.eval_duration

    def summary(self) -> str:
        """One line for a debug log."""

        def s(value: float | None) -> str:
            return "?" if value is None else f"{value:.2f}s"

        rate = self.eval_rate
        return (
            f"done ({self.done_reason or '?'}) in {s(self.total_duration)}: load {s(self.load_duration)}, "
            f"prompt {self.prompt_eval_count} tokens in {s(self.prompt_eval_duration)}, "
            f"output {self.eval_count} tokens in {s(self.eval_duration)}"
            + (f" ({rate:.1f} tokens/s)" if rate is not None else "")
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class ChatAssembler:
    """Turns the NDJSON objects of one ``/api/chat`` reply into events and a ModelResponse.

    Feed each object to :meth:`feed`; it returns the stream events the object carries.
    When the object with ``done: true`` arrives, :attr:`response` and :attr:`info` are set.
    Error objects are not handled here (the provider raises them).

    Tool calls without an ``id`` get one derived from the request (the conversation so far)
    and the call's index, so the same request always yields the same ids and different
    turns of a conversation never share one.
    """

    def __init__(self, request: ModelRequest, *, id_seed: str | None = None) -> None:
        self.request = request
        self._seed = id_seed if id_seed is not None else request_digest(request)
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []
        self.response: ModelResponse | None = None
        self.info: OllamaResponseInfo | None = None

    @property
    def done(self) -> bool:
        return self.response is not None

    def feed(self, data: Mapping[str, Any]) -> list[ModelStreamEvent]:
        events: list[ModelStreamEvent] = []
        message = data.get("message") or {}
        thinking = message.get("thinking")
        if thinking:
            self._reasoning.append(thinking)
            events.append(ReasoningDelta(thinking))
        content = message.get("content")
        if content:
            self._content.append(content)
            events.append(TextDelta(content))
        for raw in message.get("tool_calls") or ():
            call = self._tool_call(raw)
            index = len(self._calls)
            self._calls.append(call)
            events.append(ToolCallStarted(index, call.id, call.name))
            events.append(ToolCallDelta(index, call.id, call.arguments))
        if data.get("done"):
            self._finish(data)
        return events

    def _tool_call(self, raw: Mapping[str, Any]) -> ToolCall:
        function = raw.get("function") or {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            text = arguments  # some servers send the JSON text itself
        else:
            text = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        call_id = raw.get("id") or f"call_{self._seed}_{len(self._calls)}"
        return ToolCall(id=str(call_id), name=name, arguments=text)

    def _finish(self, data: Mapping[str, Any]) -> None:
        info = OllamaResponseInfo.from_final(data)
        usage = Usage(input_tokens=info.prompt_eval_count, output_tokens=info.eval_count, requests=1)
        if info.done_reason == "length":
            finish = "length"  # a cut-off tool call must never run
        elif self._calls:
            finish = "tool_calls"
        else:
            finish = "stop"
        model = info.model or self.request.model
        message = AssistantMessage(
            content="".join(self._content),
            tool_calls=tuple(self._calls),
            reasoning="".join(self._reasoning) or None,
            model=model,
            usage=usage,
            finish_reason=finish,
        )
        self.info = info
        self.response = ModelResponse(message)

    @property
    def partial_text(self) -> str:
        return "".join(self._content)


def request_digest(request: ModelRequest) -> str:
    """A short digest of the conversation sent, to derive stable tool-call ids from."""
    h = hashlib.sha256(request.model.encode())
    for message in request.messages:
        wire = message_to_wire(message) if not isinstance(message, UserMessage) else {"u": message.text}
        h.update(json.dumps(wire, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()[:10]
