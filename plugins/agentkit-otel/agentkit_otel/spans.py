"""The spans and metrics of a traced run, as the OpenTelemetry GenAI conventions describe them.

Three generators, returned by the plugin's ``around_*`` hooks and stepped by agentkit's loop in
the task that does the work, so each span is the *current* span while its work runs:

- ``invoke_agent {agent}`` (INTERNAL) for the run, from before ``before_run`` to after
  ``after_run``; its context is inherited by the model calls and by each tool call's task;
- ``chat {model}`` (CLIENT) for each model call, the provider's HTTP request and the whole
  stream included, recording ``gen_ai.client.operation.duration`` and
  ``gen_ai.client.token.usage``;
- ``execute_tool {tool}`` (INTERNAL) for each tool call, in the call's own task, so the tool's
  own spans (and those of parallel calls) nest under the right one.

A span that ends in an error gets ``error.type`` and status ERROR. Content (messages, tool
arguments and results) is recorded only when the user opted in
(:func:`agentkit_otel.settings.capture_content`); credentials never are: nothing here reads a
key, a header or a provider setting other than its name and its ``base_url``'s host and port.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Generator
from typing import Any

import attrs
from opentelemetry import trace
from opentelemetry.context import attach, detach, get_current
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from agentkit.errors import MaxTurnsError, ProviderError, RunAbortedError
from agentkit.events import ModelResponse, RunResult
from agentkit.messages import ToolCall, ToolMessage
from agentkit.providers import ModelRequest, Provider
from agentkit.run_context import RunContext

from . import semconv as sc
from .settings import CURRENT_RUN, capture_content
from .telemetry import Telemetry, live

__all__ = ["TracedRun", "chat_span", "run_span", "tool_span"]


@attrs.define(eq=False)
class TracedRun:
    """What the model and tool calls of one traced run share."""

    run_id: str
    telemetry: Telemetry
    capture: bool
    conversation_id: str | None
    tools: tuple[Any, ...] = ()  # the tool specs of the last model call: their descriptions


# errors whose messages say what happened in agentkit's words, never the conversation's
# (a provider's error quotes a short snippet of its body, never a key)
_PLAIN_ERRORS = (ProviderError, MaxTurnsError, RunAbortedError, asyncio.CancelledError)


def _fail(span: trace.Span, error: BaseException, *, capture: bool) -> str:
    """Mark ``span`` as failed by ``error``: ``error.type`` and status ERROR. The error's message
    (status description, exception event) only when it cannot quote content (a tool's exception,
    a guardrail's verdict, invalid arguments may) or the user opted in to content."""
    kind = sc.error_type(error)
    span.set_attribute(sc.ERROR_TYPE, kind)
    describe = capture or isinstance(error, _PLAIN_ERRORS)
    description = None
    if describe:
        description = str(error).strip()[:300] or kind
    span.set_status(Status(StatusCode.ERROR, description))
    if describe and isinstance(error, Exception) and not isinstance(error, asyncio.CancelledError):
        span.record_exception(error)
    return kind


def run_span(ctx: RunContext) -> Generator[None, RunResult, None] | None:
    """``invoke_agent {agent}``: the run's span, current for the whole run (``None``: nothing
    would receive it, see :func:`agentkit_otel.telemetry.live`)."""
    tel = live()
    return None if tel is None else _run_span(tel, ctx)


def _run_span(tel: Telemetry, ctx: RunContext) -> Generator[None, RunResult, None]:
    provider, _, model = ctx.model.partition("/")
    agent_name = getattr(ctx.agent, "name", None)
    attributes: dict[str, Any] = {
        sc.OPERATION: "invoke_agent",
        sc.PROVIDER: sc.provider_name(provider),
        sc.REQUEST_MODEL: model,
    }
    if agent_name:
        attributes[sc.AGENT_NAME] = agent_name
    if ctx.session_id:
        attributes[sc.CONVERSATION_ID] = ctx.session_id
    run = TracedRun(ctx.run_id, tel, capture_content(), ctx.session_id)
    parent = get_current()
    span = tel.tracer.start_span(
        f"invoke_agent {agent_name}" if agent_name else "invoke_agent",
        parent,
        kind=SpanKind.INTERNAL,
        attributes=attributes,
    )
    token = attach(set_span_in_context(span, parent))
    run_token = CURRENT_RUN.set(run)
    try:
        result = yield
    except BaseException as error:
        if span.is_recording():
            _fail(span, error, capture=run.capture)
            if isinstance(error, RunAbortedError):
                span.set_attributes(_usage({}, error.partial.usage if error.partial is not None else None))
        raise
    else:
        if span.is_recording():
            ended = _usage({}, result.usage)
            if result.finish_reason:
                ended[sc.FINISH_REASONS] = [result.finish_reason]
            if run.capture:
                last = next((m for m in reversed(result.messages) if m.role == "assistant"), None)
                if last is not None:
                    ended[sc.OUTPUT_MESSAGES] = sc.output_messages(last, result.finish_reason)  # type: ignore[arg-type]
            span.set_attributes(ended)
    finally:
        CURRENT_RUN.reset(run_token)
        detach(token)
        span.end()


def _usage(out: dict[str, Any], usage: Any) -> dict[str, Any]:
    """``out`` with the ``gen_ai.usage.*`` attributes of ``usage`` (those it reports)."""
    if usage is None:
        return out
    if usage.input_tokens or usage.output_tokens:
        out[sc.INPUT_TOKENS] = usage.input_tokens
        out[sc.OUTPUT_TOKENS] = usage.output_tokens
    if usage.cached_tokens:
        out[sc.CACHE_READ_TOKENS] = usage.cached_tokens
    if usage.cache_creation_tokens:
        out[sc.CACHE_CREATION_TOKENS] = usage.cache_creation_tokens
    if usage.reasoning_tokens:
        out[sc.REASONING_TOKENS] = usage.reasoning_tokens
    return out


def chat_span(
    run: TracedRun, ctx: RunContext, request: ModelRequest, provider: Provider
) -> Generator[None, ModelResponse, None]:
    """``chat {model}``: one model call, current while the provider is called and streams."""
    tel = run.telemetry
    run.tools = request.tools
    base_url = getattr(provider, "base_url", None)
    if not isinstance(base_url, str):
        base_url = None  # none to read a server from (and the cache's key must be hashable)
    metric_attributes = _chat_metric_attributes(provider.name, base_url, request.model, None)[0]
    attributes = {**metric_attributes, **sc.request_attributes(request.params)}
    if run.conversation_id:
        attributes[sc.CONVERSATION_ID] = run.conversation_id
    if ctx.streaming and provider.capabilities.streaming:
        attributes[sc.REQUEST_STREAM] = True
    if request.output_schema is not None:
        attributes[sc.OUTPUT_TYPE] = "json"
    if run.capture:
        attributes[sc.INPUT_MESSAGES] = sc.input_messages(request.messages)
        if request.tools:
            attributes[sc.TOOL_DEFINITIONS] = sc.tool_definitions(request.tools)
    parent = get_current()
    span = tel.tracer.start_span(f"chat {request.model}", parent, kind=SpanKind.CLIENT, attributes=attributes)
    current = set_span_in_context(span, parent)
    token = attach(current)
    started = time.perf_counter()
    try:
        response = yield
    except BaseException as error:
        kind = _fail(span, error, capture=run.capture)
        tel.duration.record(
            time.perf_counter() - started, {**metric_attributes, sc.ERROR_TYPE: kind}, current
        )
        raise
    else:
        elapsed = time.perf_counter() - started
        message = response.message  # (ModelResponse's usage, model and finish_reason read it)
        usage = response.usage
        answered_by = message.model or None
        if span.is_recording():
            ended: dict[str, Any] = {}
            if answered_by:
                ended[sc.RESPONSE_MODEL] = answered_by
            if message.finish_reason:
                ended[sc.FINISH_REASONS] = [message.finish_reason]
            _usage(ended, usage)
            if response.cached:
                ended[sc.CACHED] = True
            if run.capture:
                ended[sc.OUTPUT_MESSAGES] = sc.output_messages(message, message.finish_reason)
            span.set_attributes(ended)
        if not response.cached:  # an answer from agentkit's cache is no call to the model
            # the same attribute dicts for every call with these models (the SDK copies them)
            ended_attributes, inputs, outputs = _chat_metric_attributes(
                provider.name, base_url, request.model, answered_by
            )
            tel.duration.record(elapsed, ended_attributes, current)
            if usage.input_tokens or usage.output_tokens:
                tel.token_usage.record(usage.input_tokens, inputs, current)
                tel.token_usage.record(usage.output_tokens, outputs, current)
    finally:
        detach(token)
        span.end()


@functools.lru_cache(maxsize=256)
def _chat_metric_attributes(
    provider: str, base_url: str | None, request_model: str, response_model: str | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The metric attributes of a model call to ``request_model`` through ``provider`` (at
    ``base_url``) answered by ``response_model``, made once per combination and shared by every
    such call (never to be changed: the SDK copies what it keeps): the duration's, and the
    token usage's for input and output tokens."""
    attributes: dict[str, Any] = {
        sc.OPERATION: "chat",
        sc.PROVIDER: sc.provider_name(provider),
        sc.REQUEST_MODEL: request_model,
        **sc.server_attributes(_BaseUrl(base_url)),
    }
    if response_model:
        attributes[sc.RESPONSE_MODEL] = response_model
    return (
        attributes,
        {**attributes, sc.TOKEN_TYPE: "input"},
        {**attributes, sc.TOKEN_TYPE: "output"},
    )


@attrs.frozen
class _BaseUrl:
    """What :func:`~agentkit_otel.semconv.server_attributes` reads of a provider."""

    base_url: str | None


def tool_span(run: TracedRun, ctx: RunContext, call: ToolCall) -> Generator[None, ToolMessage, None]:
    """``execute_tool {tool}``: one tool call, current in the call's own task."""
    attributes: dict[str, Any] = {
        sc.OPERATION: "execute_tool",
        sc.TOOL_NAME: call.name,
        sc.TOOL_CALL_ID: call.id,
        sc.TOOL_TYPE: "function",
    }
    description = next((t.description for t in run.tools if t.name == call.name), None)
    if description:
        attributes[sc.TOOL_DESCRIPTION] = description
    if run.conversation_id:
        attributes[sc.CONVERSATION_ID] = run.conversation_id
    if run.capture:
        attributes[sc.TOOL_ARGUMENTS] = call.arguments
    parent = get_current()
    span = run.telemetry.tracer.start_span(
        f"execute_tool {call.name}", parent, kind=SpanKind.INTERNAL, attributes=attributes
    )
    token = attach(set_span_in_context(span, parent))
    try:
        result = yield
    except BaseException as error:
        if span.is_recording():
            _fail(span, error, capture=run.capture)
        raise
    else:
        if span.is_recording():
            if result.is_error:  # answered with an error by a guardrail or a hook
                span.set_attribute(sc.ERROR_TYPE, "_OTHER")
                span.set_status(Status(StatusCode.ERROR, result.content[:300] if run.capture else None))
            elif run.capture:
                span.set_attribute(sc.TOOL_RESULT, result.content)
    finally:
        detach(token)
        span.end()
