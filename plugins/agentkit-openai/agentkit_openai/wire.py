"""agentkit values to Chat Completions JSON and back: the request body, whole responses, errors.

This is the one place that knows the OpenAI wire format (streamed chunks are assembled in
:mod:`agentkit_openai.streaming` with the helpers here). Everything is a pure function of its
inputs, so it is tested without a network and the provider stays a thin layer of I/O.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.errors import ProviderError
from agentkit.events import ModelResponse
from agentkit.http import error_for_status
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
    tool_images_as_user_messages,
)
from agentkit.providers import ModelInfo, ModelRequest, OutputSchema, ToolSpec

__all__ = [
    "WireOptions",
    "arguments_text",
    "build_chat_body",
    "error_from_payload",
    "is_strict_compatible",
    "message_to_wire",
    "new_call_id",
    "parse_completion",
    "parse_embeddings",
    "parse_models",
    "reasoning_of",
    "response_format_for",
    "text_of",
    "tool_choice_to_wire",
    "tool_to_wire",
    "usage_from_wire",
]

#: Request fields agentkit sets itself; ``params`` may not override them.
#: Body fields agentkit sets from the request; ``tool_choice`` is ``ModelRequest.tool_choice``, which the
#: loop decides per call (a forcing choice holds for one round of tool calls: one rule, in the loop).
RESERVED_PARAMS = frozenset({"model", "messages", "stream", "stream_options", "tools", "tool_choice"})
_TOOL_CHOICE_WORDS = frozenset({"auto", "none", "required"})


@attrs.frozen
class WireOptions:
    """The per-server choices that shape a request body (see :class:`~agentkit_openai.profiles.Profile`)."""

    structured_output: str = "json_schema"  # "json_schema" | "json_object" | "none"
    null_tool_call_content: bool = True
    stream_usage: bool = True


# -- requests ------------------------------------------------------------------------------


def build_chat_body(
    request: ModelRequest, *, stream: bool, options: WireOptions = WireOptions()
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``request``."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [
            message_to_wire(m, null_tool_call_content=options.null_tool_call_content)
            # tool messages take text only: a tool's images follow in a user message
            for m in tool_images_as_user_messages(request.messages)
        ],
    }
    for key, value in request.params.items():
        if key in RESERVED_PARAMS:
            raise ValueError(
                f"params[{key!r}] cannot be set: agentkit sets {key!r} itself "
                f"(reserved: {', '.join(sorted(RESERVED_PARAMS))})"
            )
        body[key] = value
    if request.tools:
        body["tools"] = [tool_to_wire(spec) for spec in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = tool_choice_to_wire(request.tool_choice)
    else:
        body.pop("parallel_tool_calls", None)  # servers reject it without tools
    if request.output_schema is not None:
        response_format = response_format_for(request.output_schema, options.structured_output)
        if response_format is not None:
            body["response_format"] = response_format
    if stream:
        body["stream"] = True
        if options.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def message_to_wire(message: Message, *, null_tool_call_content: bool = True) -> dict[str, Any]:
    """One message as Chat Completions wants it. Reasoning is never sent back (some servers refuse it)."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        if not message.images:
            return {"role": "user", "content": message.text}
        return {"role": "user", "content": [_part_to_wire(p) for p in message.content]}
    if isinstance(message, AssistantMessage):
        out: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            if not message.content:
                out["content"] = None if null_tool_call_content else ""
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        return out
    if isinstance(message, ToolMessage):
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    raise TypeError(f"cannot send a {type(message).__name__} to an OpenAI-compatible server")


def _part_to_wire(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image: dict[str, Any] = {"url": part.data_url()}  # a local file or bytes become a base64 data URL
    if part.detail:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def tool_to_wire(spec: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": spec.name, "parameters": dict(spec.parameters)}
    if spec.description:
        function["description"] = spec.description
    return {"type": "function", "function": function}


def tool_choice_to_wire(choice: Any) -> Any:
    """``"auto"``, ``"none"``, ``"required"`` as they are; a tool name becomes the forced-function object."""
    if isinstance(choice, str) and choice not in _TOOL_CHOICE_WORDS:
        return {"type": "function", "function": {"name": choice}}
    return choice


def response_format_for(schema: OutputSchema, mode: str) -> dict[str, Any] | None:
    """``response_format`` for structured output; strict only when the schema allows it."""
    if mode == "none":
        return None
    if mode == "json_object":
        return {"type": "json_object", "schema": dict(schema.schema)}
    spec: dict[str, Any] = {
        "name": _schema_name(schema.name),
        "schema": dict(schema.schema),
        "strict": bool(schema.strict) and is_strict_compatible(schema.schema),
    }
    if schema.description:
        spec["description"] = schema.description
    return {"type": "json_schema", "json_schema": spec}


def _schema_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name or "")[:64]
    return cleaned or "output"


def is_strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts ``schema``.

    Strict mode needs every object to list all its properties as required and to set
    ``additionalProperties: false``, at every level (nested objects, array items, ``$defs``,
    ``anyOf`` branches). A schema with an optional field would be refused, so it is sent
    non-strict instead.
    """
    if isinstance(schema, list):
        return all(is_strict_compatible(s) for s in schema)
    if not isinstance(schema, Mapping):
        return True
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema
    if is_object:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties", True) is not False:
            return False
        if set(schema.get("required") or ()) != set(properties):
            return False
    for key in ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas"):
        sub = schema.get(key)
        if isinstance(sub, Mapping) and not all(is_strict_compatible(v) for v in sub.values()):
            return False
    for key in ("items", "prefixItems", "anyOf", "allOf", "oneOf", "not", "contains", "then", "else", "if"):
        sub = schema.get(key)
        if sub is not None and not isinstance(sub, bool) and not is_strict_compatible(sub):
            return False
    return True


# -- responses -----------------------------------------------------------------------------


def usage_from_wire(usage: Any) -> Usage:
    """Usage of one call, with cached prompt tokens and reasoning tokens where the server reports them."""
    if not isinstance(usage, Mapping):
        return Usage(requests=1)
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=_int(
            prompt_details.get("cached_tokens") if isinstance(prompt_details, Mapping) else None
        ),
        reasoning_tokens=_int(
            completion_details.get("reasoning_tokens") if isinstance(completion_details, Mapping) else None
        ),
        requests=1,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def text_of(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text") or ""
            for p in content
            if isinstance(p, Mapping) and p.get("type") in ("text", "output_text")
        )
    return ""


def reasoning_of(message: Mapping[str, Any]) -> str | None:
    """``reasoning_content`` (DeepSeek, vLLM, llama.cpp) or ``reasoning`` (OpenRouter, Ollama)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as the raw text the model sent; malformed JSON passes through untouched."""
    if arguments is None or arguments == "":
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def new_call_id() -> str:
    """An id for a tool call whose server sent none (the tool result must name one)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_completion(data: Any, *, provider: str, model: str, env_var: str | None = None) -> ModelResponse:
    """A whole ``chat.completion`` object as a :class:`~agentkit.ModelResponse`."""
    if not isinstance(data, Mapping):
        raise ProviderError(
            "the response is not a JSON object", provider=provider, model=model, body=str(data)
        )
    if data.get("error") is not None and not data.get("choices"):
        raise error_from_payload(data, provider=provider, model=model, env_var=env_var)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ProviderError(
            "the response has no choices", provider=provider, model=model, body=json.dumps(data)
        )
    choice = choices[0]
    message = choice.get("message") or {}
    content = text_of(message.get("content")) or (message.get("refusal") or "")
    calls = []
    for raw in message.get("tool_calls") or ():
        if not isinstance(raw, Mapping):
            continue
        function = raw.get("function") or {}
        calls.append(
            ToolCall(
                id=raw.get("id") or new_call_id(),
                name=function.get("name") or "",
                arguments=arguments_text(function.get("arguments")),
            )
        )
    legacy = message.get("function_call")
    if not calls and isinstance(legacy, Mapping) and legacy.get("name"):
        calls.append(ToolCall(new_call_id(), legacy["name"], arguments_text(legacy.get("arguments"))))
    finish_reason = choice.get("finish_reason")
    usage = usage_from_wire(data.get("usage"))
    model_name = data.get("model") or model
    assistant = AssistantMessage(
        content=content,
        tool_calls=tuple(calls),
        reasoning=reasoning_of(message),
        model=model_name,
        usage=usage,
        finish_reason=finish_reason,
    )
    return ModelResponse(assistant)


# -- errors --------------------------------------------------------------------------------

_ERROR_WORDS: tuple[tuple[str, int], ...] = (
    ("context_length", 400),
    ("invalid_api_key", 401),
    ("authentication", 401),
    ("permission", 403),
    ("insufficient_quota", 429),
    ("rate_limit", 429),
    ("model_not_found", 404),
    ("not_found", 404),
    ("invalid_request", 400),
    ("overloaded", 503),
    ("timeout", 504),
    ("server_error", 500),
)


def error_from_payload(
    payload: Mapping[str, Any], *, provider: str, model: str | None, env_var: str | None = None
) -> ProviderError:
    """The typed error for an ``{"error": {...}}`` object found in a stream or a 200 body.

    Its class comes from the error's numeric ``code``/``status`` when it has one, else from
    its ``type``/``code`` words (``rate_limit_exceeded``, ``context_length_exceeded``, ...);
    an unknown error is a server error.
    """
    error = payload.get("error", payload)
    status = 500
    if isinstance(error, Mapping):
        for key in ("status", "code", "status_code"):
            value = error.get(key)
            if isinstance(value, int) and 400 <= value < 600:
                status = value
                break
            if isinstance(value, str) and value.isdigit() and 400 <= int(value) < 600:
                status = int(value)
                break
        else:
            words = " ".join(str(error.get(k) or "") for k in ("type", "code")).lower()
            status = next((s for word, s in _ERROR_WORDS if word in words), 500)
    return error_for_status(status, json.dumps(payload), provider=provider, model=model, env_var=env_var)


# -- embeddings and models -----------------------------------------------------------------


def parse_embeddings(data: Any, *, expected: int, provider: str, model: str) -> list[list[float]]:
    """Vectors of an embeddings response, in input order (sorted by ``index``)."""
    items = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or len(items) != expected:
        count = len(items) if isinstance(items, list) else 0
        raise ProviderError(
            f"asked for {expected} embeddings, got {count}",
            provider=provider,
            model=model,
            body=json.dumps(data)[:500],
        )
    ordered = sorted(items, key=lambda item: item.get("index", 0) if isinstance(item, Mapping) else 0)
    vectors = []
    for item in ordered:
        vector = item.get("embedding") if isinstance(item, Mapping) else None
        if not isinstance(vector, list):
            raise ProviderError("an embedding is not a list of numbers", provider=provider, model=model)
        vectors.append([float(x) for x in vector])
    return vectors


_CONTEXT_KEYS = ("context_length", "context_window", "max_model_len", "max_context_length")


def parse_models(data: Any, *, provider: str) -> list[ModelInfo]:
    """Models of a ``GET /models`` answer, with their context window where the server tells it."""
    items = data.get("data") if isinstance(data, Mapping) else data
    models = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        window = next((item[k] for k in _CONTEXT_KEYS if isinstance(item.get(k), int)), None)
        details = {k: v for k, v in item.items() if k != "id"}
        models.append(ModelInfo(id=item["id"], provider=provider, context_window=window, details=details))
    return sorted(models, key=lambda m: m.id)
