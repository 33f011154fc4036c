"""agentkit's values in the words of the OpenTelemetry GenAI semantic conventions.

Attribute names, the provider names the conventions know, request parameters as
``gen_ai.request.*`` attributes, errors as ``error.type``, and messages as the conventions'
JSON (``gen_ai.input.messages``, ``gen_ai.output.messages``; recorded only when the user opted
in to content). Plain functions over agentkit's values: no OpenTelemetry import.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from agentkit.errors import AgentkitError, ToolError
from agentkit.messages import AssistantMessage, ImagePart, Message, TextPart, ToolMessage, UserMessage

__all__ = [
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
    "error_type",
    "input_messages",
    "output_messages",
    "provider_name",
    "request_attributes",
    "server_attributes",
    "tool_definitions",
]

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
AGENT_NAME = "gen_ai.agent.name"
AGENT_DESCRIPTION = "gen_ai.agent.description"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
OUTPUT_TYPE = "gen_ai.output.type"
REQUEST_STREAM = "gen_ai.request.stream"
TOKEN_TYPE = "gen_ai.token.type"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
#: agentkit's own: the model call was answered from agentkit's response cache.
CACHED = "agentkit.response.cached"

#: The conventions' bucket advice for ``gen_ai.client.token.usage`` ({token}).
TOKEN_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
#: The conventions' bucket advice for ``gen_ai.client.operation.duration`` (s).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# agentkit provider names whose vendor the conventions name differently
_PROVIDERS = {
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "vertex": "gcp.vertex_ai",
    "watsonx": "ibm.watsonx.ai",
    "xai": "x_ai",
}

# request params -> gen_ai.request.* (the first of several spellings wins)
_PARAMS: tuple[tuple[str, tuple[str, ...], type], ...] = (
    ("gen_ai.request.temperature", ("temperature",), float),
    (
        "gen_ai.request.max_tokens",
        ("max_tokens", "max_completion_tokens", "max_output_tokens", "num_predict"),
        int,
    ),
    ("gen_ai.request.top_p", ("top_p",), float),
    ("gen_ai.request.top_k", ("top_k",), float),
    ("gen_ai.request.seed", ("seed",), int),
    ("gen_ai.request.frequency_penalty", ("frequency_penalty",), float),
    ("gen_ai.request.presence_penalty", ("presence_penalty",), float),
)

# agentkit's finish reasons -> the conventions' FinishReason values (output messages)
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def provider_name(name: str) -> str:
    """The conventions' ``gen_ai.provider.name`` for an agentkit provider name."""
    return _PROVIDERS.get(name, name)


def request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """``gen_ai.request.*`` attributes of the parameters that are set (never any other key)."""
    out: dict[str, Any] = {}
    if not params:
        return out
    for attribute, keys, kind in _PARAMS:
        for key in keys:
            value = params.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[attribute] = kind(value)
                break
    stop = params.get("stop")
    if isinstance(stop, str):
        out["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        out["gen_ai.request.stop_sequences"] = list(stop)
    return out


def server_attributes(provider: Any) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of an HTTP provider's ``base_url`` (never its
    credentials or path); none for a provider without one."""
    base_url = getattr(provider, "base_url", None)
    if not isinstance(base_url, str) or "://" not in base_url:
        return {}
    return dict(_server(base_url))


@functools.lru_cache(maxsize=64)
def _server(base_url: str) -> tuple[tuple[str, Any], ...]:
    try:
        parts = urlsplit(base_url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return ()
    if not host:
        return ()
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return ((SERVER_ADDRESS, host), (SERVER_PORT, port)) if port else ((SERVER_ADDRESS, host),)


def error_type(error: BaseException) -> str:
    """``error.type``: the class name of what went wrong. A tool that raised is named by its
    own exception (``ValueError``), not by agentkit's ``ToolError`` around it."""
    cause = error.__cause__
    if type(error) is ToolError and cause is not None and not isinstance(cause, AgentkitError):
        return type(cause).__qualname__
    return type(error).__qualname__


def finish_reason(reason: str | None) -> str:
    return _FINISH.get(reason or "", reason or "stop")


# -- content (only when the user opted in) ---------------------------------------------------------


def _arguments(text: str) -> Any:
    """Tool arguments as an object when they are JSON (as the conventions ask), else the text."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


def _image(part: ImagePart) -> dict[str, Any]:
    if part.url and part.url.startswith(("http://", "https://")):
        return {"type": "uri", "modality": "image", "mime_type": part.media_type, "uri": part.url}
    # inline images are not copied into telemetry: their kind and size only
    size = len(part.data) if part.data is not None else None
    return {"type": "image", "modality": "image", "mime_type": part.media_type, "size": size}


def _parts(message: Message) -> list[dict[str, Any]]:
    if isinstance(message, ToolMessage):
        return [{"type": "tool_call_response", "id": message.tool_call_id, "response": message.content}]
    if isinstance(message, AssistantMessage):
        parts: list[dict[str, Any]] = []
        if message.reasoning:
            parts.append({"type": "reasoning", "content": message.reasoning})
        if message.content:
            parts.append({"type": "text", "content": message.content})
        for call in message.tool_calls:
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.id,
                    "name": call.name,
                    "arguments": _arguments(call.arguments),
                }
            )
        return parts
    if isinstance(message, UserMessage) and not isinstance(message.content, str):
        out: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, TextPart):
                out.append({"type": "text", "content": part.text})
            elif isinstance(part, ImagePart):
                out.append(_image(part))
        return out
    return [{"type": "text", "content": getattr(message, "text", "")}]


def _message(message: Message) -> dict[str, Any]:
    return {"role": message.role, "parts": _parts(message)}


def input_messages(messages: Iterable[Message]) -> str:
    """``gen_ai.input.messages``: the messages sent, in order, as the conventions' JSON."""
    return json.dumps([_message(m) for m in messages], ensure_ascii=False)


def output_messages(message: AssistantMessage, reason: str | None) -> str:
    """``gen_ai.output.messages``: the model's answer, as the conventions' JSON."""
    out = _message(message)
    out["finish_reason"] = finish_reason(reason)
    return json.dumps([out], ensure_ascii=False)


def tool_definitions(tools: Sequence[Any]) -> str:
    """``gen_ai.tool.definitions``: the tools offered to the model."""
    return json.dumps(
        [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
            for t in tools
        ],
        ensure_ascii=False,
    )
