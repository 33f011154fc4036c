"""Calling lifecycle hooks: the plugins' (pluggy) and one agent's own (``Agent(hooks=...)``).

A typed facade, one method per hook, so the loop calls a checked API instead of
``pm.hook.x``. For each hook the agent's own callbacks run first, then the plugins' in
pluggy's order. Hooks may be plain functions or coroutines, and may take any subset of the
documented arguments.

Interceptors (``before_*``/``after_*``) stop at the first non-``None`` answer; one that
raises fails the run, and one that returns the wrong type is an error naming it. Observers
(``on_event``) cannot break a run: their exceptions are logged and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, PluginError
from .events import ModelResponse, RunResult, StreamEvent
from .hookspecs import LIFECYCLE_HOOKS
from .messages import ToolCall, ToolMessage
from .plugins import call_maybe_async

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .providers import ModelRequest
    from .run_context import RunContext

__all__ = ["Lifecycle", "agent_hooks"]

log = logging.getLogger("agentkit.lifecycle")

Hook = tuple[str, Callable[..., Any]]  # (who, function)


def agent_hooks(hooks: Any) -> dict[str, list[Hook]]:
    """Normalise ``Agent(hooks=...)``: an object with hook methods, a dict name -> callable,
    or a list of those. Unknown names in a dict are an error naming the known ones."""
    out: dict[str, list[Hook]] = {name: [] for name in LIFECYCLE_HOOKS}
    if hooks is None:
        return out
    items: Iterable[Any] = hooks if isinstance(hooks, list | tuple) else [hooks]
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            for name, func in item.items():
                if name not in out:
                    raise ConfigError(
                        f"unknown hook {name!r}; hooks are {', '.join(LIFECYCLE_HOOKS)}", key_path=f"hooks.{name}"
                    )
                if not callable(func):
                    raise ConfigError(f"hook {name!r} is {type(func).__name__}, not callable", key_path=f"hooks.{name}")
                out[name].append((f"Agent(hooks=...)[{name!r}]", func))
        else:
            found = False
            for name in LIFECYCLE_HOOKS:
                func = getattr(item, name, None)
                if callable(func):
                    out[name].append((f"{type(item).__name__}.{name}", func))
                    found = True
            if not found:
                raise ConfigError(
                    f"hooks[{i}] ({type(item).__name__}) has none of the hook methods {', '.join(LIFECYCLE_HOOKS)}",
                    key_path="hooks",
                )
    return out


def _who(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "?"
    return f"{module}.{getattr(func, '__qualname__', repr(func))}"


class Lifecycle:
    """The lifecycle hooks one agent's runs call."""

    def __init__(self, host: PluginHost, hooks: Any = None) -> None:
        self._host = host
        self._own = agent_hooks(hooks)

    def _impls(self, name: str) -> list[Hook]:
        found = self._host.hook_impls(name)
        if not found:  # the common case: no plugin implements it
            return self._own[name]
        return [*self._own[name], *[(_who(f), f) for f in found]]

    def has(self, name: str) -> bool:
        """Whether anything implements hook ``name`` (lets the loop skip work)."""
        return bool(self._own[name]) or bool(self._host.hook_impls(name))

    async def _first(self, name: str, expected: tuple[type, ...], **kwargs: Any) -> Any:
        for who, func in self._impls(name):
            result = await call_maybe_async(func, **kwargs)
            if result is None:
                continue
            if not isinstance(result, expected):
                names = " or ".join(t.__name__ for t in expected)
                raise PluginError(
                    f"hook {name} ({who}) returned {type(result).__name__}; expected {names} or None",
                    plugin=who,
                )
            return result
        return None

    # -- the hooks, in the order a run meets them --------------------------------------------

    async def before_run(self, ctx: RunContext) -> None:
        for _, func in self._impls("before_run"):
            await call_maybe_async(func, ctx=ctx)

    async def before_model_call(self, ctx: RunContext, request: ModelRequest) -> ModelResponse | None:
        """A response that replaces the model call, or ``None``."""
        return await self._first("before_model_call", (ModelResponse,), ctx=ctx, request=request)  # type: ignore[no-any-return]

    async def after_model_call(self, ctx: RunContext, request: ModelRequest, response: ModelResponse) -> ModelResponse:
        """The response to use (a hook's replacement, or ``response``)."""
        replaced = await self._first(
            "after_model_call", (ModelResponse,), ctx=ctx, request=request, response=response
        )
        return replaced if replaced is not None else response

    async def before_tool_call(self, ctx: RunContext, call: ToolCall) -> ToolMessage | None:
        """A result that replaces running the tool, or ``None``."""
        result = await self._first("before_tool_call", (ToolMessage, str), ctx=ctx, call=call)
        return _as_result(call, result)

    async def after_tool_call(self, ctx: RunContext, call: ToolCall, result: ToolMessage) -> ToolMessage:
        """The result to use (a hook's replacement, or ``result``)."""
        replaced = await self._first("after_tool_call", (ToolMessage, str), ctx=ctx, call=call, result=result)
        return _as_result(call, replaced) or result

    async def on_event(self, ctx: RunContext, event: StreamEvent) -> None:
        """Tell every observer; a failing one is logged, never raised."""
        for who, func in self._impls("on_event"):
            try:
                await call_maybe_async(func, ctx=ctx, event=event)
            except Exception as exc:
                log.warning("on_event hook %s failed on %s: %s: %s", who, event.type, type(exc).__name__, exc)

    async def after_run(self, ctx: RunContext, result: RunResult) -> RunResult:
        """The result to return (a hook's replacement, or ``result``)."""
        replaced = await self._first("after_run", (RunResult,), ctx=ctx, result=result)
        return replaced if replaced is not None else result


def _as_result(call: ToolCall, value: ToolMessage | str | None) -> ToolMessage | None:
    """A hook's answer as the call's result; it always answers *this* call."""
    if value is None:
        return None
    if isinstance(value, ToolMessage):
        if value.tool_call_id == call.id and value.name == call.name:
            return value
        return ToolMessage(tool_call_id=call.id, name=call.name, content=value.content, is_error=value.is_error)
    return ToolMessage(tool_call_id=call.id, name=call.name, content=value)
