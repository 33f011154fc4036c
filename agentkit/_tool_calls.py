"""Running the tool calls of one model turn.

The calls of a turn run concurrently (a synchronous tool in a worker thread), their results
come back in call order, and every call is answered exactly once. What goes wrong becomes an
error result the model can read and act on, never a traceback:

- an unknown tool name: the result lists the tools that exist;
- arguments that are not JSON or fail the schema: ``message @ $.path`` lines;
- an exception: its type and message;
- a timeout: an async tool is cancelled; a synchronous one cannot be (its thread runs on to
  the end, side effects included), and the model is told which of the two happened.

Budgets stop a model that keeps failing: a tool may fail ``tool_retries`` times in a row
(a success resets its count), and a run absorbs at most ``3 * (tool_retries + 1)`` failed
calls in all, so inventing new tool names cannot loop forever either. Past a budget, the
error is raised. With ``tool_errors="raise"``, an exception or timeout in a tool is raised
at once instead.

Guardrails and hooks wrap each call: guardrail ``check_tool_call``, then ``before_tool_call``
hooks, then the tool; then ``after_tool_call`` hooks, then guardrail ``check_tool_result``.
``around_tool_call`` hooks wrap all of it, in the call's own task.

The loop guard: a call identical to one that already succeeded in this run (the same tool
name, the same arguments once parsed and written canonically) is not run again, whatever the
provider; the model gets the earlier result with a note that it repeated itself. Small
models otherwise repeat one call until ``max_turns``. A failed call may be repeated (a
timeout or an exception can be transient); its budgets apply. A tool made with
``@tool(repeatable=True)`` (a clock, a job's status) is run every time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ToolArgumentsError, ToolError, ToolTimeoutError, UnknownToolError
from .events import StreamEvent, ToolCallResult
from .messages import ToolCall, ToolMessage
from .run_context import _CURRENT_CALL

if TYPE_CHECKING:
    from .lifecycle import Lifecycle
    from .run_context import RunContext
    from .tools import Tool

__all__ = ["ToolRunner", "call_key", "repeated_result", "run_budget"]

Emit = Callable[[StreamEvent], Awaitable[None]]


def run_budget(tool_retries: int) -> int:
    """Failed tool calls one run absorbs before it raises."""
    return 3 * (max(0, tool_retries) + 1)


def call_key(call: ToolCall) -> tuple[str, str]:
    """What makes two calls the same: the tool's name and the arguments written canonically
    (parsed, keys sorted, no spaces); arguments that are not JSON count as their stripped text."""
    text = (call.arguments or "").strip() or "{}"
    try:
        canonical = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        canonical = text
    return call.name, canonical


def repeated_result(call: ToolCall, earlier: ToolMessage) -> ToolMessage:
    """The answer to a call that repeats an earlier, successful one: that result, with a note."""
    note = (
        f"Note: you already called {call.name} with exactly these arguments earlier in this run, "
        "so it was not run again. Its result was:\n"
        f"{earlier.content}\n"
        "Use this result: answer the user now, or call a tool with different arguments."
    )
    return ToolMessage(tool_call_id=call.id, name=call.name, content=note)


class ToolRunner:
    """Runs tool calls for one run, keeping its failure budgets."""

    def __init__(
        self,
        tools: Mapping[str, Tool],
        *,
        ctx: RunContext,
        lifecycle: Lifecycle,
        guardrails: Sequence[Any],
        emit: Emit,
        timeout: float | None,
        retries: int,
        errors: str,
        result_limit: int,
        wrapped: bool = False,
    ) -> None:
        self.tools = tools
        self.ctx = ctx
        self.lifecycle = lifecycle
        self.guardrails = guardrails
        self.emit = emit
        self.timeout = timeout
        self.retries = retries
        self.raise_errors = errors == "raise"
        self.result_limit = result_limit
        self.wrapped = wrapped  # around_tool_call hooks wrap each call
        self.failures: dict[str, int] = {}  # consecutive failures per tool name
        self.total_failures = 0
        self.succeeded: dict[tuple[str, str], ToolMessage] = {}  # the loop guard's memory, by call_key
        self.repeats = 0  # calls answered by the loop guard

    async def run(
        self, calls: Sequence[ToolCall], *, record: Callable[[int, ToolMessage], None] | None = None
    ) -> list[ToolMessage]:
        """Run ``calls`` concurrently; their results in call order.

        ``record(i, result)`` is told of each result as it arrives (what an aborted run keeps).
        """
        if not calls:
            return []
        if len(calls) == 1:
            return [await self._one(0, calls[0], record)]
        # A call repeating an earlier one of the same turn waits for it, then gets its answer.
        firsts: dict[tuple[str, str], asyncio.Future[ToolMessage]] = {}
        tasks = []
        for i, call in enumerate(calls):
            key = call_key(call)
            first = firsts.get(key)
            if first is None:
                firsts[key] = task = asyncio.ensure_future(self._one(i, call, record))
            else:
                task = asyncio.ensure_future(self._after(first, i, call, record))
            tasks.append(task)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            pending = [t for t in tasks if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for t in tasks:  # the first error in call order, like a sequential run would give
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        return [t.result() for t in tasks]

    async def _after(
        self,
        first: asyncio.Future[ToolMessage],
        index: int,
        call: ToolCall,
        record: Callable[[int, ToolMessage], None] | None,
    ) -> ToolMessage:
        await asyncio.wait([first])
        return await self._one(index, call, record)

    async def _one(self, index: int, call: ToolCall, record: Callable[[int, ToolMessage], None] | None) -> ToolMessage:
        around = await self.lifecycle.around_tool_call(self.ctx, call) if self.wrapped else None
        if around is None:
            result, _ = await self._answer(call)
        else:
            try:
                result, error = await self._answer(call)
            except BaseException as exc:
                await around.fail(exc)
                raise
            if error is not None and result.is_error:
                await around.fail(error)  # the call failed; the model gets the error result
            else:
                await around.leave(result)
        if record is not None:
            record(index, result)
        await self.emit(ToolCallResult(call=call, result=result))
        return result

    async def _answer(self, call: ToolCall) -> tuple[ToolMessage, ToolError | None]:
        """The call's result, and the error that made it an error result (if one did)."""
        key = call_key(call)
        tool = self.tools.get(call.name)
        earlier = None if tool is None or tool.repeatable else self.succeeded.get(key)
        if earlier is not None:
            self.repeats += 1
            return repeated_result(call, earlier), None
        result, error = await self._execute(call)
        result = await self.lifecycle.after_tool_call(self.ctx, call, result)
        if self.guardrails:
            from .guardrails import apply_tool_result

            result = await apply_tool_result(self.guardrails, call, result, self.ctx)
        if not result.is_error:
            self.succeeded[key] = result
        return result, error

    async def _execute(self, call: ToolCall) -> tuple[ToolMessage, ToolError | None]:
        tool = self.tools.get(call.name)
        if tool is None:
            available = tuple(sorted(self.tools))
            listing = ", ".join(available) if available else "none"
            error = UnknownToolError(
                f"unknown tool {call.name!r}; the tools that exist: {listing}", tool=call.name, available=available
            )
            return self._failed(call, error, f"Error: there is no tool named {call.name!r}. Available tools: {listing}."), error
        try:
            arguments = tool.validate(call.arguments)
        except ToolArgumentsError as error:
            return self._failed(call, error, _arguments_text(call.name, error)), error
        if self.guardrails:
            from .guardrails import apply_tool_call

            checked = await apply_tool_call(self.guardrails, call, self.ctx)
            if isinstance(checked, ToolMessage):
                return checked, None
            if checked.arguments != call.arguments:
                try:
                    arguments = tool.validate(checked.arguments)
                except ToolArgumentsError as error:
                    return self._failed(call, error, _arguments_text(call.name, error)), error
            call = checked
        replaced = await self.lifecycle.before_tool_call(self.ctx, call)
        if replaced is not None:
            return replaced, None
        timeout = tool.timeout if tool.timeout is not None else self.timeout
        token = _CURRENT_CALL.set(call)
        try:
            value = await tool._invoke(arguments, self.ctx, timeout)
        except ToolTimeoutError as error:
            if self.raise_errors:
                raise
            return self._failed(call, error, _timeout_text(call.name, error)), error
        except ToolArgumentsError as error:  # JSON that fits the schema but not the Python types
            return self._failed(call, error, _arguments_text(call.name, error)), error
        except Exception as exc:
            if self.raise_errors:
                raise ToolError(f"tool {call.name!r} failed: {type(exc).__name__}: {exc}", tool=call.name) from exc
            failure = ToolError(f"tool {call.name!r} failed: {type(exc).__name__}: {exc}", tool=call.name)
            failure.__cause__ = exc
            return self._failed(call, failure, f"Error: {type(exc).__name__}: {exc}"), failure
        finally:
            _CURRENT_CALL.reset(token)
        from .tools import result_parts

        self.failures[call.name] = 0
        text, images = result_parts(value, limit=self.result_limit)
        return ToolMessage(tool_call_id=call.id, name=call.name, content=text, images=images), None

    def _failed(self, call: ToolCall, error: ToolError, text: str) -> ToolMessage:
        """Count a failure against the budgets (raising past them); the error result otherwise."""
        count = self.failures.get(call.name, 0) + 1
        self.failures[call.name] = count
        self.total_failures += 1
        if count > self.retries:
            error.message = f"{error.message} (failed {count} time(s) in a row; tool_retries={self.retries})"
            error.args = (error.message,)
            raise error
        budget = run_budget(self.retries)
        if self.total_failures > budget:
            raise ToolError(
                f"{self.total_failures} tool calls failed in this run (the budget is {budget}); last: {error}",
                tool=call.name,
                hint="raise tool_retries, or check why the model keeps calling tools wrongly",
            ) from error
        return ToolMessage(tool_call_id=call.id, name=call.name, content=text, is_error=True)


def _timeout_text(name: str, error: ToolTimeoutError) -> str:
    """What the model reads after a timeout: the truth about whether the tool is still running."""
    waited = f"Error: tool {name!r} did not finish within {error.timeout:g} s"
    if error.still_running:
        return (
            f"{waited}. It could not be stopped: it is still running and will finish in the background, "
            "side effects included, but its result is lost. Check its effects before calling it again."
        )
    return f"{waited} and was cancelled."


def _arguments_text(name: str, error: ToolArgumentsError) -> str:
    lines = "\n".join(f"- {line}" for line in error.errors) or f"- {error}"
    return f"Error: invalid arguments for tool {name!r}:\n{lines}\nFix the arguments and call the tool again."
