"""The agent loop: one run, from the user's input to the final answer.

A run is a sequence of turns. Each turn sends the conversation to the model; when the model
asks for tools, their results are added and the next turn begins; when it answers, the run
ends. Around that core:

- input guardrails before the first model call, output guardrails on each answer's text
  before it is shown, stored or returned (while streaming, text deltas are held and released
  only once checked), tool guardrails around every call (:mod:`agentkit.guardrails`);
- lifecycle hooks at each step (:mod:`agentkit.lifecycle`), which may replace a model call
  or a tool call, and ``around_*`` hooks wrapping the run, each model call and each tool call
  in the task that does it;
- the context window: before each call the messages are fitted to the model's window
  (:mod:`agentkit.context_budget`);
- the response cache, usage and cost, structured output with re-asks, ``max_turns``,
  ``stop()`` (after the current turn) and ``abort()`` (at once, via task cancellation,
  handled by :class:`agentkit.Agent`).

Streaming and non-streaming runs share this code: a streaming run forwards the provider's
deltas (through the output guardrails when there are any), a non-streaming one calls
``complete()``; both build the same messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from ._run import ModelTarget, Resources, RunSettings, build_input
from ._tool_calls import ToolRunner
from .errors import IncompleteStreamError, MaxTurnsError, OutputValidationError, RunAbortedError
from .events import (
    ModelResponse,
    RunCompleted,
    RunResult,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnCompleted,
)
from .guardrails import OutputCheck, apply_output
from .messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from .output import FINAL_ANSWER_TOOL
from .providers import ModelRequest, ToolSpec
from .run_context import RunContext
from .templates import render

__all__ = ["Run"]

log = logging.getLogger("agentkit.loop")

Sink = Callable[[StreamEvent], Awaitable[None]]

_INTERRUPTED = "Interrupted: the run was aborted before this tool call finished; it may or may not have run."
_FINAL_TURN = (
    "This is your last turn and the tools are no longer available: give the user your final answer now, "
    "from what you have found so far."
)
_CUT_OFF = (
    "Not run: your answer was cut off by the output length limit (finish_reason 'length') before this tool "
    "call was complete. Call it again, with shorter arguments if needed."
)


class Run:
    """One run of an agent. :meth:`execute` runs it; :meth:`partial` is what it has so far."""

    def __init__(
        self,
        agent: Any,
        settings: RunSettings,
        resources: Resources,
        *,
        prompt: Any,
        history: Sequence[Message] | None = None,
        images: Sequence[Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
        deps: Any = None,
        session_id: str | None = None,
        user_id: str | None = None,
        streaming: bool = False,
        sink: Sink | None = None,
        result_limit: int = 50_000,
    ) -> None:
        self.agent = agent
        self.settings = settings
        self.res = resources
        self.prompt = prompt
        self.history: list[Message] = list(history or ())
        self.images = images
        self.params = {**settings.template_params, **(template_params or {})}
        self.streaming = streaming
        self.sink = sink
        self.result_limit = result_limit
        self.ctx = RunContext(
            agent=agent,
            run_id=uuid.uuid4().hex,
            model=resources.target.model,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            streaming=streaming,
        )
        self.new: list[Message] = []  # this run's messages, the input included
        self.prefix: list[Message] = []  # system prompt and recalled memory: sent, not stored
        self.usage = Usage()
        self.turns = 0
        self.finish_reason: str | None = None  # the last model call's
        self.aborted = False
        self._streamed_text = ""  # text of the turn in progress shown so far, for an aborted run's partial
        self._output: OutputCheck | None = None  # the output guardrails, when some check answers
        self._raw_text = ""  # the turn's text as the model streamed it, before the output check
        self._held_calls: set[int] = set()  # final_answer calls whose argument deltas wait for the check
        self._observed = resources.lifecycle.has("on_event")
        self._wrapped_run = resources.lifecycle.has("around_run")
        self._wrapped_model = resources.lifecycle.has("around_model_call")
        # tools report progress only to a run someone watches (a stream, on_event hooks)
        self.ctx._emit = self.emit if (sink is not None or self._observed) else None
        self._tools: ToolRunner | None = None
        self._answered: dict[int, ToolMessage] = {}  # results of the current turn's calls, by position

    # -- what the run has so far ----------------------------------------------------------------

    def partial(self) -> RunResult:
        """The run so far; a tool call without a result is answered as interrupted."""
        messages = list(self.new)
        if messages and isinstance(messages[-1], AssistantMessage) and messages[-1].tool_calls:
            done = self._answered
            for i, call in enumerate(messages[-1].tool_calls):
                messages.append(
                    done.get(i) or ToolMessage(tool_call_id=call.id, name=call.name, content=_INTERRUPTED, is_error=True)
                )
        text = self._streamed_text or _last_text(messages)
        return RunResult(
            text=text,
            messages=messages,
            usage=self.usage,
            turns=self.turns,
            stopped=True,
            run_id=self.ctx.run_id,
            finish_reason=self.finish_reason,
            prior_messages=self.history,
        )

    # -- events ---------------------------------------------------------------------------------

    async def emit(self, event: StreamEvent) -> None:
        if self._observed:
            await self.res.lifecycle.on_event(self.ctx, event)
        if self.sink is not None:
            await self.sink(event)

    # -- the run --------------------------------------------------------------------------------

    async def execute(self) -> RunResult:
        """Run to the end, inside the ``around_run`` hooks; a run that raises (or is cancelled)
        is shown to ``on_run_error`` hooks, then to the ``around_run`` ones."""
        lifecycle = self.res.lifecycle
        around = None
        try:
            if self._wrapped_run:
                around = await lifecycle.around_run(self.ctx)
            result = await self._execute()
        except BaseException as error:
            if isinstance(error, OutputValidationError) and error.partial is None:
                # the re-asks were model calls: whoever records the failure counts them
                error.partial = attrs.evolve(self.partial(), stopped=False)
            if around is not None or lifecycle.has("on_run_error"):
                reported, partial = self._failure(error)
                if lifecycle.has("on_run_error"):
                    await lifecycle.on_run_error(self.ctx, reported, partial)
                if around is not None:
                    await around.fail(reported)
            raise
        if around is not None:
            await around.leave(result)
        return result

    def _failure(self, error: BaseException) -> tuple[BaseException, RunResult]:
        """How a failed run is reported to hooks: the error (an abort as ``RunAbortedError``)
        and the run so far."""
        reported: BaseException = error
        if isinstance(error, asyncio.CancelledError) and self.aborted:
            reported = RunAbortedError("the run was aborted", partial=self.partial())
        partial = getattr(reported, "partial", None)
        if not isinstance(partial, RunResult):
            partial = self.partial()
        return reported, partial

    async def _execute(self) -> RunResult:
        s, res, ctx = self.settings, self.res, self.ctx
        inputs = build_input(self.prompt, self.images, s.user_template, self.params)
        self.prefix = await self._system_messages()
        self.new = inputs
        ctx.messages = [*self.history, *self.new]
        await res.lifecycle.before_run(ctx)
        if res.guardrails:
            from .guardrails import apply_input

            self.new = await apply_input(res.guardrails, self.new, ctx)
            ctx.messages = [*self.history, *self.new]
            self._output = OutputCheck(res.guardrails, ctx) or None
        if res.memory is not None and s.memory_settings.get("auto_recall", True):
            block = await self._recall(inputs)
            if block:
                self.prefix.append(SystemMessage(block))

        self._tools = ToolRunner(
            dict(res.tools),
            ctx=ctx,
            lifecycle=res.lifecycle,
            guardrails=res.guardrails,
            emit=self.emit,
            timeout=s.tool_timeout,
            retries=s.tool_retries,
            errors=s.tool_errors,
            result_limit=self.result_limit,
            wrapped=res.lifecycle.has("around_tool_call"),
        )
        output_failures = 0
        tool_results_in = False
        output: Any = None
        text = ""
        stopped = False
        while True:
            if ctx.stop_requested:
                stopped = True
                text = _last_text(self.new)
                output = text if res.output is None else None
                break
            if self.turns >= s.max_turns:
                partial = self.partial()
                raise MaxTurnsError(
                    f"the run reached max_turns={s.max_turns} model calls without a final answer",
                    max_turns=s.max_turns,
                    partial=attrs.evolve(partial, stopped=False),
                )
            self.turns += 1
            ctx.turn = self.turns
            target = res.synthesizer if (tool_results_in and res.synthesizer is not None) else res.target
            response = await self._checked(await self._model_call(target))
            message = response.message
            self.finish_reason = message.finish_reason
            self._append(message)
            await self.emit(TurnCompleted(response=response, turn=self.turns))

            if message.tool_calls:
                results, final_call, final_value, final_error = await self._answer_calls(message)
                for answer in results:
                    self._append(answer)
                tool_results_in = True
                if final_call is not None:
                    output, text = final_value, final_call.arguments
                    break
                if final_error is not None:
                    output_failures += 1
                    if output_failures > s.output_retries:
                        raise final_error
                continue

            text = message.content
            spec = res.output
            if spec is None:
                output = text
                break
            if self._native_output():
                try:
                    output = spec.parse_text(text)
                    break
                except OutputValidationError as error:
                    output_failures += 1
                    if output_failures > s.output_retries:
                        raise
                    self._append(UserMessage(_retry_prompt(error)))
                    continue
            output_failures += 1
            if output_failures > s.output_retries:
                raise OutputValidationError(
                    f"the model answered in text instead of calling the {FINAL_ANSWER_TOOL!r} tool",
                    raw_text=text,
                    errors=(f"no call to {FINAL_ANSWER_TOOL} @ $",),
                )
            self._append(
                UserMessage(f"Give your final answer by calling the {FINAL_ANSWER_TOOL} tool; its arguments are the answer.")
            )

        result = RunResult(
            text=text,
            messages=self.new,
            usage=self.usage,
            output=output,
            turns=self.turns,
            stopped=stopped,
            run_id=ctx.run_id,
            finish_reason=self.finish_reason,
            prior_messages=self.history,
        )
        result = await res.lifecycle.after_run(ctx, result)
        await self.emit(RunCompleted(result=result))
        return result

    def _append(self, message: Message) -> None:
        self.new.append(message)
        self.ctx.messages.append(message)

    # -- before the first call ------------------------------------------------------------------

    async def _system_messages(self) -> list[Message]:
        s = self.settings
        parts = []
        if s.system:
            parts.append(render(s.system, self.params, where="system prompt"))
        if self.res.guardrails:
            from .guardrails import system_instructions

            extra = system_instructions(self.res.guardrails)
            if extra:
                parts.append(extra)
        return [SystemMessage("\n\n".join(parts))] if parts else []

    async def _recall(self, inputs: Sequence[Message]) -> str | None:
        from .memory import recall_block

        m = self.settings.memory_settings
        query = "\n".join(msg.text for msg in inputs if isinstance(msg, UserMessage))
        block = await recall_block(
            self.res.memory,
            user_id=self.ctx.user_id,
            agent_name=getattr(self.agent, "name", None),
            session_id=self.ctx.session_id,
            query=query,
            token_budget=int(m.get("token_budget", 500)),
            k=int(m.get("k", 5)),
            model=self.res.target.model,
        )
        return block or None

    # -- model calls ----------------------------------------------------------------------------

    def _native_output(self) -> bool:
        return self.res.output is not None and bool(self.res.target.provider.capabilities.structured_output)

    def _final_turn(self) -> bool:
        """Whether this call is the last ``max_turns`` allows and ``final_turn="answer"`` makes it a
        call without tools."""
        s = self.settings
        return s.final_turn == "answer" and self.turns >= s.max_turns

    async def _request(self, target: ModelTarget) -> ModelRequest:
        s, spec = self.settings, self.res.output
        final = self._final_turn()
        tools = {} if final else await self._current_tools()
        specs: list[ToolSpec] = [t.spec for t in tools.values()]
        tool_choice = self._tool_choice(specs)
        output_schema = None
        if spec is not None:
            if self._native_output():
                output_schema = spec.output_schema()
            else:
                specs.append(spec.tool_spec())
                tool_choice = "required" if len(specs) > 1 else FINAL_ANSWER_TOOL
        messages: list[Message] = [*self.prefix, *self.history, *self.new]
        if final and (self.res.tools or self.res.toolsets):
            messages.append(SystemMessage(_FINAL_TURN))  # sent with this call only, never stored
        messages = await self._fit(messages, target, specs)
        capabilities = target.provider.capabilities
        if not (capabilities.tools and capabilities.vision):
            _check_capabilities(target, specs, messages)
        return ModelRequest(
            model=target.name,
            messages=messages,
            tools=specs,
            tool_choice=tool_choice,
            output_schema=output_schema,
            params=dict(s.params),
        )

    async def _current_tools(self) -> Mapping[str, Any]:
        """The agent's tools plus, asked afresh, each toolset's (an MCP server's list may change)."""
        res = self.res
        if not res.toolsets:
            return res.tools
        import asyncio

        from .toolsets import ToolsetContext, merge_tools

        context = ToolsetContext(
            agent=self.agent, tool_settings=self.settings.tool_settings or {}, host=res.host, run=self.ctx
        )
        groups = await asyncio.gather(*(ts.list_tools(context) for ts in res.toolsets))
        tools = merge_tools(res.tools, list(zip(res.toolsets, groups, strict=True)))
        if self._tools is not None:
            self._tools.tools = tools
        return tools

    def _tool_choice(self, specs: Sequence[ToolSpec]) -> str | None:
        """The run's ``tool_choice`` for this call.

        ``"auto"`` and ``"none"`` hold for every call. A forcing choice (``"required"`` or a
        tool's name) forces one round of tool calls: once this run has tool results, the model
        answers (``"none"``) instead of being forced again until ``max_turns``.
        """
        choice = self.settings.tool_choice
        if choice is None or not specs:
            return None
        if choice not in ("auto", "none", "required") and choice not in {t.name for t in specs}:
            from .errors import ConfigError

            raise ConfigError(
                f"tool_choice names {choice!r}, which is not one of this agent's tools "
                f"({', '.join(sorted(t.name for t in specs))})",
                key_path="tool_choice",
            )
        if choice in ("auto", "none"):
            return choice
        return "none" if any(isinstance(m, ToolMessage) for m in self.new) else choice

    async def _fit(self, messages: list[Message], target: ModelTarget, specs: Sequence[ToolSpec]) -> list[Message]:
        """The messages that fit the model's window: the agent's ``context_window`` when set
        (the user knows best: an Ollama server may run a model with less than its full window),
        else the provider's figure, else the known one; unknown means no fitting."""
        s = self.settings
        from . import context_budget

        window = s.context_window
        if window is None:
            window = await target.provider.context_window(target.name)
        if window is None:
            window = context_budget.known_context_window(target.model)
        if window is None:
            return messages
        reserve = s.params.get("max_tokens") or s.params.get("max_output_tokens") or min(4096, max(256, window // 8))
        summarizer = self._summarizer(target) if s.context_strategy == "summarize" else None
        return list(
            await context_budget.fit_messages(
                messages,
                model=target.model,
                window=window,
                reserve=int(reserve),
                strategy=s.context_strategy,
                summarizer=summarizer,
                tools=specs,
                host=self.res.host,
            )
        )

    def _summarizer(self, target: ModelTarget) -> Callable[[Sequence[Message]], Awaitable[str]]:
        """Summaries for the ``summarize`` strategy, by the synthesizer model if set; usage is counted."""
        chosen = self.res.synthesizer or target

        async def summarize(messages: Sequence[Message]) -> str:
            from .context_budget import summary_prompt

            request = ModelRequest(model=chosen.name, messages=[UserMessage(summary_prompt(messages))])
            response = await chosen.provider.complete(request)
            usage = response.usage if response.usage.requests else attrs.evolve(response.usage, requests=1)
            self._count(usage, chosen)
            return response.message.content.strip()

        return summarize

    async def _model_call(self, target: ModelTarget) -> ModelResponse:
        request = await self._request(target)
        around = (
            await self.res.lifecycle.around_model_call(self.ctx, request, target.provider)
            if self._wrapped_model
            else None
        )
        if around is None:
            return await self._call_model(target, request)
        try:
            response = await self._call_model(target, request)
        except BaseException as error:
            await around.fail(error)
            raise
        await around.leave(response)
        return response

    async def _call_model(self, target: ModelTarget, request: ModelRequest) -> ModelResponse:
        lifecycle = self.res.lifecycle
        self._streamed_text = self._raw_text = ""
        self._held_calls.clear()
        if self._output is not None:
            self._output.reset()
        response = await lifecycle.before_model_call(self.ctx, request)
        source = "hook"
        if response is None:
            cache, key = self.res.cache, None
            if cache is not None:
                from .cache import cache_key

                key = cache_key(request, target.label)
                cached = await cache.get(key)
                if cached is not None:
                    response, source = attrs.evolve(cached, cached=True), "cache"
            if response is None:
                started = time.perf_counter()
                response, source = await self._invoke(target, request), "provider"
                duration = time.perf_counter() - started
                if cache is not None and key is not None:
                    await cache.put(key, response)  # without the duration: a replay takes none
                if response.message.duration is None:
                    response = attrs.evolve(response, message=attrs.evolve(response.message, duration=duration))
        if source != "provider" and self.streaming:
            await self._replay(response)
        response = await lifecycle.after_model_call(self.ctx, request, response)
        return self._account(response, target, source=source)

    async def _invoke(self, target: ModelTarget, request: ModelRequest) -> ModelResponse:
        provider = target.provider
        if not (self.streaming and provider.capabilities.streaming):
            whole = await provider.complete(request)
            if self.streaming:
                await self._replay(whole)
            return whole
        response: ModelResponse | None = None
        stream = provider.stream(request)
        try:
            async for event in stream:
                if isinstance(event, ModelResponse):
                    response = event
                    continue
                await self._forward(event)
        finally:  # an abort or a failing observer must not leave the connection open
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if response is None:
            raise IncompleteStreamError(
                "the stream ended without a final response", provider=provider.name, model=request.model
            )
        return response

    async def _replay(self, response: ModelResponse) -> None:
        """Stream events for a response that did not come from a stream (cache, hook, complete())."""
        for event in response.stream_events():
            await self._forward(event)

    async def _forward(self, event: StreamEvent) -> None:
        """Pass a model event on; with output guardrails, answer text only once they checked it.

        The final_answer tool's arguments are the answer too (structured output through a
        tool): their deltas wait for :meth:`_checked`, which sends them checked.
        """
        check = self._output
        if isinstance(event, TextDelta):
            if check is None:
                self._streamed_text += event.text
                await self.emit(event)
                return
            self._raw_text += event.text
            released = await check.feed(event.text)
            if released:
                await self._release(released)
            return
        if check is not None and self._answers_by_tool():
            if isinstance(event, ToolCallStarted) and event.name == FINAL_ANSWER_TOOL:
                self._held_calls.add(event.index)
            elif isinstance(event, ToolCallDelta) and event.index in self._held_calls:
                return
        await self.emit(event)

    async def _release(self, text: str) -> None:
        self._streamed_text += text
        await self.emit(TextDelta(text))

    def _answers_by_tool(self) -> bool:
        """Whether structured output comes as a call to the final_answer tool."""
        return self.res.output is not None and not self._native_output()

    async def _checked(self, response: ModelResponse) -> ModelResponse:
        """The output guardrails on this turn's answer: its text, and a final_answer call's arguments.

        What they return is what the caller sees, the session stores and the run returns,
        before :class:`TurnCompleted` shows the turn. A streaming run checked the text as it
        came (:meth:`_forward`); here the guardrails check and release what they still hold.
        """
        check = self._output
        if check is None:
            return response
        guardrails, ctx = self.res.guardrails, self.ctx
        message = response.message
        text = message.content
        if self.streaming:
            rest = await check.finish()
            if rest:
                await self._release(rest)
            if self._raw_text == text:
                text = self._streamed_text
            elif text:  # a hook changed the answer after it was streamed: check the one kept
                text = await apply_output(guardrails, text, ctx)
        elif text:
            text = await apply_output(guardrails, text, ctx)
        calls = message.tool_calls
        if self._answers_by_tool() and any(c.name == FINAL_ANSWER_TOOL for c in calls):
            checked_calls = []
            for index, call in enumerate(calls):
                if call.name == FINAL_ANSWER_TOOL:
                    arguments = await apply_output(guardrails, call.arguments, ctx) if call.arguments else ""
                    if index in self._held_calls and arguments:
                        await self.emit(ToolCallDelta(index=index, id=call.id, arguments=arguments))
                    if arguments != call.arguments:
                        call = attrs.evolve(call, arguments=arguments)
                checked_calls.append(call)
            calls = tuple(checked_calls)
        if text == message.content and calls == message.tool_calls:
            return response
        return attrs.evolve(response, message=attrs.evolve(message, content=text, tool_calls=calls))

    def _account(self, response: ModelResponse, target: ModelTarget, *, source: str) -> ModelResponse:
        """Fill in model, usage and cost, and add the call's usage to the run's.

        A provider call counts as a request (priced when prices are set); a cache hit costs
        nothing; a hook's response counts what the hook says.
        """
        usage = response.usage
        if source == "provider":
            if usage.requests == 0:
                usage = attrs.evolve(usage, requests=1)
            if self.settings.prices is not None and usage.cost is None:
                from .context_budget import cost_of

                usage = attrs.evolve(usage, cost=cost_of(usage, target.model, self.settings.prices))
        message = response.message
        model = message.model or target.name
        if model != message.model or usage is not message.usage:
            response = attrs.evolve(response, message=attrs.evolve(message, model=model, usage=usage))
        if source != "cache":
            self._count(usage, target)
        return response

    def _count(self, usage: Usage, target: ModelTarget) -> None:
        self.usage = self.usage + usage
        self.ctx.usage = self.usage

    # -- tool calls -----------------------------------------------------------------------------

    async def _answer_calls(
        self, message: AssistantMessage
    ) -> tuple[list[ToolMessage], ToolCall | None, Any, OutputValidationError | None]:
        """Answer every call of ``message`` (in order); also the final answer, if one was given."""
        calls = list(message.tool_calls)
        answers: list[ToolMessage | None] = [None] * len(calls)
        self._answered = {}

        def record(i: int, result: ToolMessage) -> None:
            answers[i] = self._answered[i] = result

        if message.finish_reason == "length":
            for i, call in enumerate(calls):
                record(i, ToolMessage(tool_call_id=call.id, name=call.name, content=_CUT_OFF, is_error=True))
                await self.emit(ToolCallResult(call=call, result=answers[i]))  # type: ignore[arg-type]
            return [a for a in answers if a is not None], None, None, None

        spec = self.res.output
        final_call: ToolCall | None = None
        final_value: Any = None
        final_error: OutputValidationError | None = None
        regular: list[int] = []
        for i, call in enumerate(calls):
            if spec is None or self._native_output() or call.name != FINAL_ANSWER_TOOL:
                regular.append(i)
                continue
            if final_call is not None:
                record(i, ToolMessage(call.id, call.name, "Ignored: a final answer was already given."))
                continue
            try:
                final_value = spec.parse_text(call.arguments)
            except OutputValidationError as error:
                final_error = error
                record(i, ToolMessage(call.id, call.name, _retry_prompt(error), is_error=True))
            else:
                final_call, final_error = call, None
                record(i, ToolMessage(call.id, call.name, "Final answer received."))
        for i, call in enumerate(calls):
            if answers[i] is not None:
                await self.emit(ToolCallResult(call=call, result=answers[i]))  # type: ignore[arg-type]
        if final_call is not None:
            for i in regular:
                call = calls[i]
                record(i, ToolMessage(call.id, call.name, "Not run: the final answer was given in the same turn."))
                await self.emit(ToolCallResult(call=call, result=answers[i]))  # type: ignore[arg-type]
        elif regular:
            assert self._tools is not None
            await self._tools.run([calls[i] for i in regular], record=lambda j, result: record(regular[j], result))
        return [a for a in answers if a is not None], final_call, final_value, final_error

def _last_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if isinstance(message, AssistantMessage):
            return message.content
    return ""


def _retry_prompt(error: OutputValidationError) -> str:
    lines = "\n".join(f"- {e}" for e in error.errors) or f"- {error}"
    return f"Your answer does not match the required schema:\n{lines}\nAnswer again, fixing these errors."


def _check_capabilities(target: ModelTarget, specs: Sequence[ToolSpec], messages: Sequence[Message]) -> None:
    """Refuse, before anything is sent, what the provider's capabilities say it cannot do."""
    from .errors import BadRequestError

    provider = target.provider
    if specs and not provider.capabilities.tools:
        raise BadRequestError(
            f"provider {provider.name!r} cannot call tools (its capabilities say tools=False), "
            f"and this call offers {', '.join(s.name for s in specs)}",
            provider=provider.name,
            model=target.name,
            hint="run without tools (structured output through a tool needs them too), or pick a model that can",
        )
    if not provider.capabilities.vision:
        images = sum(len(m.images) for m in messages if isinstance(m, UserMessage))
        if images:
            raise BadRequestError(
                f"provider {provider.name!r} cannot see images (its capabilities say vision=False), "
                f"and the messages hold {images} image(s)",
                provider=provider.name,
                model=target.name,
                hint="send text only, or pick a model that can see images",
            )
