"""agentkit values to Messages API JSON and back: request bodies, whole responses, usage, errors.

This is the one place that knows the Messages API's shapes (streamed events are assembled in
:mod:`agentkit_anthropic.streaming` with the helpers here). Everything is a pure function of
its inputs, so it is tested without a network and the provider stays a thin layer of I/O.

What the API asks of a request, and how agentkit's messages meet it:

- the system prompt is a top-level field, not a message: every :class:`SystemMessage` goes
  there, in order;
- turns alternate: consecutive messages of one role are merged into one turn (tool results,
  which are ``user`` content, join the user turn around them);
- a tool's result is a ``tool_result`` block naming its ``tool_use_id`` (``is_error`` when the
  tool failed), images included; a tool call goes back as a ``tool_use`` block whose
  ``input`` is a JSON object;
- thinking blocks go back exactly as they came, signature and all, before the text and tool
  calls of their turn (the API checks the signature, and requires them during tool use);
- ``max_tokens`` is required: :data:`DEFAULT_MAX_TOKENS` unless ``params`` says otherwise;
- prompt caching: ``cache_control`` breakpoints, at most :data:`MAX_BREAKPOINTS`, on the
  stable prefix (the last tool, the system prompt) and on the conversation so far.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from agentkit.events import ModelResponse
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    ReasoningBlock,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.providers import ModelInfo, ModelRequest, ToolSpec

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "MAX_BREAKPOINTS",
    "PROVIDER",
    "RESERVED_PARAMS",
    "WireOptions",
    "build_count_body",
    "build_messages_body",
    "error_for",
    "finish_reason_of",
    "message_to_wire",
    "parse_message",
    "parse_models",
    "reasoning_block_of",
    "tool_choice_to_wire",
    "tool_input",
    "usage_from_wire",
]

#: The ``anthropic-version`` header sent with every request.
API_VERSION = "2023-06-01"
#: ``max_tokens`` when ``params`` gives none (the API requires one). Thinking counts against it:
#: with ``budget_tokens``, set ``max_tokens`` above the budget.
DEFAULT_MAX_TOKENS = 4096
#: The API's limit of ``cache_control`` breakpoints in one request.
MAX_BREAKPOINTS = 4
#: The provider name reasoning blocks are recorded under.
PROVIDER = "anthropic"
#: Request fields agentkit sets itself; ``params`` may not override them.
RESERVED_PARAMS = frozenset({"model", "messages", "system", "stream", "tools", "tool_choice"})
_TOOL_CHOICE_WORDS = {"auto": "auto", "none": "none", "required": "any", "any": "any"}
_CONTEXT_MARKERS = ("prompt is too long", "context limit", "context window", "too many tokens", "context length")


@attrs.frozen
class WireOptions:
    """The provider's settings that shape a request body.

    ``cache``: place prompt-caching breakpoints (on by default); ``cache_ttl``: ``"5m"`` (the
    API's default) or ``"1h"``; ``max_tokens``: the default when ``params`` gives none.
    """

    cache: bool = True
    cache_ttl: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS


# -- requests ------------------------------------------------------------------------------


def build_messages_body(request: ModelRequest, *, stream: bool, options: WireOptions = WireOptions()) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages`` for ``request``."""
    params = dict(request.params)
    for key in params:
        if key in RESERVED_PARAMS:
            raise ValueError(
                f"params[{key!r}] cannot be set: agentkit sets {key!r} itself "
                f"(reserved: {', '.join(sorted(RESERVED_PARAMS))})"
            )
    body: dict[str, Any] = {"model": request.model, "max_tokens": params.pop("max_tokens", options.max_tokens)}
    system, turns = _conversation(request.messages)
    if system:
        body["system"] = system
    body["messages"] = turns
    if request.tools:
        body["tools"] = [tool_to_wire(spec) for spec in request.tools]
        if request.tool_choice is not None:  # the loop's: a forcing choice holds for one round
            body["tool_choice"] = tool_choice_to_wire(request.tool_choice)
        if _thinking_on(params.get("thinking")) and body.get("tool_choice", {}).get("type") in ("any", "tool"):
            # The API refuses forced tool use while thinking; the loop checks and re-asks instead.
            body["tool_choice"] = {"type": "auto"}
    body.update(params)
    if options.cache:
        _place_breakpoints(body, options.cache_ttl)
    if stream:
        body["stream"] = True
    return body


def build_count_body(request: ModelRequest) -> dict[str, Any]:
    """The JSON body of ``POST /v1/messages/count_tokens``: the request without generation settings."""
    body = build_messages_body(request, stream=False, options=WireOptions(cache=False))
    allowed = {"model", "messages", "system", "tools", "tool_choice", "thinking"}
    return {k: v for k, v in body.items() if k in allowed}


def _thinking_on(thinking: Any) -> bool:
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")


def _conversation(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The top-level system blocks and the alternating turns of ``messages``."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            if message.content:
                system.append({"type": "text", "text": message.content})
            continue
        wire = message_to_wire(message)
        if not wire["content"]:
            continue  # an empty turn (the API refuses empty content)
        if turns and turns[-1]["role"] == wire["role"]:
            turns[-1]["content"].extend(wire["content"])  # the API wants alternating turns
        else:
            turns.append(wire)
    return system, turns


def message_to_wire(message: Message) -> dict[str, Any]:
    """One non-system message as a turn with a list of content blocks."""
    if isinstance(message, UserMessage):
        return {"role": "user", "content": [_part_to_wire(p) for p in message.content if _has_content(p)]}
    if isinstance(message, AssistantMessage):
        blocks: list[dict[str, Any]] = [
            b for b in (reasoning_block_to_wire(r) for r in message.reasoning_blocks or ()) if b is not None
        ]
        if message.content:
            blocks.append({"type": "text", "text": message.content})
        blocks.extend(
            {"type": "tool_use", "id": c.id, "name": c.name, "input": tool_input(c.arguments)}
            for c in message.tool_calls
        )
        return {"role": "assistant", "content": blocks}
    if isinstance(message, ToolMessage):
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        if message.images:
            content = [{"type": "text", "text": message.content}] if message.content else []
            content.extend(_image_to_wire(image) for image in message.images)
            result["content"] = content
        elif message.content:
            result["content"] = message.content
        if message.is_error:
            result["is_error"] = True
        return {"role": "user", "content": [result]}
    raise TypeError(f"cannot send a {type(message).__name__} to the Messages API")


def _has_content(part: TextPart | ImagePart) -> bool:
    return not isinstance(part, TextPart) or bool(part.text)  # the API refuses empty text blocks


def _part_to_wire(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    return _image_to_wire(part)


def _image_to_wire(image: ImagePart) -> dict[str, Any]:
    if image.url is not None and image.url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    data, media_type = image.load()  # a path, bytes or a data: URL: sent as base64
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode("ascii")},
    }


def reasoning_block_to_wire(block: ReasoningBlock) -> dict[str, Any] | None:
    """A kept thinking block as the API wants it back, unchanged; ``None`` for another provider's."""
    if block.provider != PROVIDER:
        return None
    if block.data is not None:
        return {"type": "redacted_thinking", "data": block.data}
    return {"type": "thinking", "thinking": block.text, "signature": block.signature or ""}


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as the ``input`` object of a ``tool_use`` block.

    Arguments that are not a JSON object (a model's malformed call, kept as it was sent) go
    back as ``{}``: the tool result that follows says what was wrong with them.
    """
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tool_to_wire(spec: ToolSpec) -> dict[str, Any]:
    schema = dict(spec.parameters) or {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    tool: dict[str, Any] = {"name": spec.name, "input_schema": schema}
    if spec.description:
        tool["description"] = spec.description
    return tool


def tool_choice_to_wire(choice: Any) -> dict[str, Any]:
    """``"auto"``, ``"none"``, ``"required"`` (the API's ``any``), or a tool's name."""
    if isinstance(choice, str) and choice in _TOOL_CHOICE_WORDS:
        return {"type": _TOOL_CHOICE_WORDS[choice]}
    return {"type": "tool", "name": str(choice)}


def _place_breakpoints(body: dict[str, Any], ttl: str | None) -> None:
    """``cache_control`` on the stable prefix, within the API's limit of four breakpoints.

    The cache is a prefix of tools, then system, then messages. Breakpoints go, while there is
    room, on the last tool, the last system block, the last block of the last turn (this call
    writes the conversation so far) and the last block of the user turn before it (where the
    previous call ended, so what it wrote is read back even when a turn added more than the
    API's 20-block look-back). A top-level ``cache_control`` in ``params`` (automatic caching) takes one slot.
    """
    marker: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        marker["ttl"] = ttl
    # agentkit's messages and tools carry no cache_control of their own: the one a caller can
    # add is the top-level one in params (automatic caching)
    room = MAX_BREAKPOINTS - (1 if "cache_control" in body else 0)
    candidates: list[dict[str, Any] | None] = []
    if body.get("tools"):
        candidates.append(body["tools"][-1])
    system = body.get("system")
    if isinstance(system, list) and system:
        candidates.append(system[-1])
    turns = body["messages"]
    if turns:
        candidates.append(_cacheable(turns[-1]))
        earlier = [i for i, t in enumerate(turns[:-1]) if t["role"] == "user"]
        if earlier:  # the last turn of the previous call (a user turn: a question or tool results)
            candidates.append(_cacheable(turns[earlier[-1]]))
    for block in candidates:
        if room <= 0:
            break
        if block is not None and "cache_control" not in block:
            block["cache_control"] = dict(marker)
            room -= 1


def _cacheable(turn: dict[str, Any]) -> dict[str, Any] | None:
    """The last block of a turn that may carry ``cache_control`` (not thinking, not empty text)."""
    for block in reversed(turn["content"]):
        if block.get("type") in ("thinking", "redacted_thinking"):
            continue
        if block.get("type") == "text" and not block.get("text"):
            continue
        return block  # type: ignore[no-any-return]
    return None


# -- responses -----------------------------------------------------------------------------


def usage_from_wire(usage: Any) -> Usage:
    """Usage of one call. The API's ``input_tokens`` leaves out the cache's tokens: agentkit's
    counts every input token, of which ``cached_tokens`` were read from the cache and
    ``cache_creation_tokens`` written to it."""
    if not isinstance(usage, Mapping):
        return Usage(requests=1)
    read = _int(usage.get("cache_read_input_tokens"))
    written = _int(usage.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=_int(usage.get("input_tokens")) + read + written,
        output_tokens=_int(usage.get("output_tokens")),
        cached_tokens=read,
        cache_creation_tokens=written,
        requests=1,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
           "refusal": "content_filter", "model_context_window_exceeded": "length"}


def finish_reason_of(stop_reason: Any) -> str | None:
    """agentkit's finish reason for the API's ``stop_reason`` (``end_turn`` is ``stop``, ...)."""
    if not isinstance(stop_reason, str):
        return None
    return _FINISH.get(stop_reason, stop_reason)


def reasoning_block_of(block: Mapping[str, Any]) -> ReasoningBlock | None:
    """A ``thinking`` or ``redacted_thinking`` content block as a :class:`ReasoningBlock`."""
    if block.get("type") == "thinking":
        return ReasoningBlock(PROVIDER, text=str(block.get("thinking") or ""), signature=block.get("signature"))
    if block.get("type") == "redacted_thinking":
        return ReasoningBlock(PROVIDER, data=str(block.get("data") or ""))
    return None


def parse_message(data: Any, *, provider: str, model: str) -> ModelResponse:
    """A whole ``message`` object as a :class:`~agentkit.ModelResponse`."""
    if not isinstance(data, Mapping):
        raise ProviderError("the response is not a JSON object", provider=provider, model=model, body=str(data))
    if data.get("type") == "error":
        raise error_for(0, data, provider=provider, model=model)
    content = data.get("content")
    if data.get("type") != "message" or not isinstance(content, list):
        raise ProviderError(
            "the response is not a message", provider=provider, model=model, body=json.dumps(data)[:500]
        )
    text: list[str] = []
    reasoning: list[ReasoningBlock] = []
    calls: list[ToolCall] = []
    for block in content:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append(ToolCall(str(block.get("id") or ""), str(block.get("name") or ""), arguments))
        elif (found := reasoning_block_of(block)) is not None:
            reasoning.append(found)
    usage = usage_from_wire(data.get("usage"))
    model_name = data.get("model") or model
    finish = finish_reason_of(data.get("stop_reason"))
    message = AssistantMessage(
        content="".join(text),
        tool_calls=tuple(calls),
        reasoning="".join(r.text for r in reasoning) or None,
        model=model_name,
        usage=usage,
        finish_reason=finish,
        reasoning_blocks=reasoning or None,
    )
    return ModelResponse(message)


# -- errors --------------------------------------------------------------------------------

#: The API's error types and the HTTP status each comes with.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "conflict_error": 409,
    "timeout_error": 504,
    "api_error": 500,
    "overloaded_error": 529,
}


def error_for(
    status: int,
    payload: Any,
    *,
    provider: str,
    model: str | None,
    env_var: str | None = None,
    retry_after: float | None = None,
    body: str | None = None,
) -> ProviderError:
    """The typed error for an error body ``{"type": "error", "error": {"type", "message"}}``.

    The class comes from the error's ``type`` (the HTTP status when the body has none; a
    stream's ``error`` event has only the type): ``invalid_request_error`` is a
    :class:`ContextLengthError` when it says the prompt is too long, ``overloaded_error`` a
    :class:`ServerError` with status 529 (retried), ``request_too_large`` a
    :class:`BadRequestError` naming the API's 32 MB limit.
    """
    error = payload.get("error") if isinstance(payload, Mapping) else None
    kind = str(error.get("type") or "") if isinstance(error, Mapping) else ""
    message = str(error.get("message") or "") if isinstance(error, Mapping) else ""
    if not message:
        message = (body or (json.dumps(payload) if payload is not None else "")).strip()
    if kind and (not status or status == 200):
        status = ERROR_STATUS.get(kind, 500)
    text = f"{message} [{kind}]" if kind and kind not in message else message
    common: dict[str, Any] = {"provider": provider, "model": model, "status_code": status or None, "body": text}
    lowered = message.lower()
    if kind == "authentication_error" or status == 401:
        return AuthenticationError("authentication failed", env_var=env_var, **common)
    if kind == "permission_error" or status == 403:
        return AuthenticationError("permission denied", env_var=env_var, **common)
    if kind == "rate_limit_error" or status == 429:
        return RateLimitError("rate limited", retry_after=retry_after, **common)
    if kind == "overloaded_error" or status == 529:
        return ServerError("the API is overloaded", **common)
    if kind == "request_too_large" or status == 413:
        return BadRequestError(
            "the request is too large (the Messages API takes at most 32 MB)",
            hint="send fewer or smaller images and documents, or less history",
            **common,
        )
    if any(m in lowered for m in _CONTEXT_MARKERS) and (kind == "invalid_request_error" or status == 400):
        return ContextLengthError("the request does not fit the model's context window", **common)
    if kind == "not_found_error" or status == 404:
        if "model" in lowered:
            return ModelNotFoundError("model not found", **common)
        return BadRequestError("not found", **common)
    if kind == "timeout_error" or status in (408, 504):
        return ProviderTimeoutError("the API timed out", **common)
    if kind == "billing_error" or status == 402:
        return BadRequestError("billing problem", **common)
    if kind == "api_error" or status >= 500 or status == 409:
        return ServerError("server error", **common)
    return BadRequestError("request rejected", **common)


# -- models --------------------------------------------------------------------------------


def parse_models(data: Any, *, provider: str) -> list[ModelInfo]:
    """Models of a ``GET /v1/models`` answer."""
    items = data.get("data") if isinstance(data, Mapping) else None
    models = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            details = {k: v for k, v in item.items() if k != "id"}
            models.append(ModelInfo(id=item["id"], provider=provider, details=details))
    return sorted(models, key=lambda m: m.id)
