"""Calling lifecycle hooks: the plugins' and one agent's own (``Agent(hooks=...)``), through pluggy.

A typed facade, one method per hook, so the loop calls a checked API instead of
``pm.hook.x``. pluggy makes every call (see :mod:`agentkit._hookcall`): its ordering
(``tryfirst``, ``trylast``, later registrations first), wrappers (``wrapper=True``, and the
legacy ``hookwrapper=True``), ``firstresult`` and hook monitoring apply to lifecycle hooks as to
any other. An agent's own hooks are pluggy implementations too, registered for that agent
only, ahead of the plugins' (they count as registered last). Hooks may be plain functions or
coroutine functions, and may take any subset of the documented arguments, by name.

Interceptors (``before_*``/``after_*``) stop at the first non-``None`` answer; one that
raises fails the run, and one that returns the wrong type is an error naming the hook.
Wrappers of the work (``around_*``) return generators, stepped by :mod:`agentkit._around`.
Observers (``on_event``, ``on_run_error``) cannot break a run: their exceptions are logged and
the run goes on.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from ._around import Around
from ._hookcall import AgentHookCaller, PreparedHook, call_hook
from .errors import ConfigError, PluginError
from .events import ModelResponse, RunResult, StreamEvent
from .hookspecs import LIFECYCLE_HOOKS, OBSERVER_HOOKS
from .messages import ToolCall, ToolMessage

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .providers import ModelRequest, Provider
    from .run_context import RunContext

__all__ = ["AgentHooks", "Lifecycle", "agent_hooks"]

_IMPL_ATTR = "agentkit_impl"  # where pluggy's HookimplMarker("agentkit") puts a function's options
_DEFAULTS: dict[str, Any] = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}

#: One agent's own hooks: pluggy implementations by hook name.
AgentHooks = dict[str, list[pluggy.HookImpl]]


def agent_hooks(hooks: Any) -> AgentHooks:
    """Normalise ``Agent(hooks=...)``: an object with hook methods, a dict name -> callable,
    or a list of those, as pluggy implementations checked like a plugin's when registered.

    Functions may carry ``@agentkit.hookimpl(...)`` options (``wrapper=True``, ``tryfirst``,
    ...). Unknown names, arguments the hook does not provide, and wrappers that are not
    generator functions are errors naming them.
    """
    from . import hookspecs

    out: AgentHooks = {name: [] for name in LIFECYCLE_HOOKS}
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
                out[name].append(_impl(hookspecs, name, item, f"Agent(hooks=...)[{name!r}]", func))
        else:
            found = False
            for name in LIFECYCLE_HOOKS:
                func = getattr(item, name, None)
                if callable(func):
                    out[name].append(_impl(hookspecs, name, item, f"{type(item).__name__}.{name}", func))
                    found = True
            if not found:
                raise ConfigError(
                    f"hooks[{i}] ({type(item).__name__}) has none of the hook methods {', '.join(LIFECYCLE_HOOKS)}",
                    key_path="hooks",
                )
    return out


def _impl(specs: Any, name: str, plugin: object, who: str, func: Any) -> pluggy.HookImpl:
    """``func`` as a pluggy implementation of hook ``name``, checked as pluggy checks a plugin's."""
    where = f"hooks.{name}"
    marked = getattr(func, _IMPL_ATTR, None)
    opts = {**_DEFAULTS, **(marked if isinstance(marked, Mapping) else {})}
    if opts["specname"] not in (None, name):
        raise ConfigError(
            f"hook {who} has specname={opts['specname']!r}; an agent's hooks are named by their "
            "method or dict key, so leave specname out",
            key_path=where,
        )
    impl = pluggy.HookImpl(plugin, who, func, opts)  # type: ignore[arg-type]
    spec_args = inspect.signature(getattr(specs, name)).parameters
    extra = [a for a in (*impl.argnames, *impl.kwargnames) if a not in spec_args]
    if extra:
        raise ConfigError(
            f"hook {who} takes {', '.join(map(repr, extra))}, which {name} does not provide "
            f"(it provides: {', '.join(spec_args)})",
            key_path=where,
        )
    if (impl.wrapper or impl.hookwrapper) and not inspect.isgeneratorfunction(func):
        raise ConfigError(
            f"hook {who} is declared wrapper=True but is not a generator function (it must yield once)",
            key_path=where,
        )
    if impl.wrapper and impl.hookwrapper:
        raise ConfigError(f"hook {who}: wrapper=True and hookwrapper=True exclude each other", key_path=where)
    return impl


class Lifecycle:
    """The lifecycle hooks one agent's runs call: the host's plugins' and the agent's own."""

    def __init__(self, host: PluginHost, own: AgentHooks | None = None) -> None:
        own = own or {}
        self._hooks: dict[str, PreparedHook] = {}
        for name in LIFECYCLE_HOOKS:
            caller: pluggy.HookCaller = getattr(host.pm.hook, name)
            if own.get(name):
                caller = AgentHookCaller(caller, own[name])
            self._hooks[name] = PreparedHook(
                caller,
                host.pm,
                host.unmonitored_hookexec,
                observer=name in OBSERVER_HOOKS,
                deferred=name == "on_event",
            )

    def has(self, name: str) -> bool:
        """Whether hook ``name`` must be called: something implements it, or hook calls are
        monitored (lets the loop skip work)."""
        hook = self._hooks[name]
        return bool(hook.impls()) or hook.monitored()

    async def _first(self, name: str, expected: tuple[type, ...], **kwargs: Any) -> Any:
        hook = self._hooks[name]
        result = await call_hook(hook, kwargs)
        if result is not None and not isinstance(result, expected):
            names = " or ".join(t.__name__ for t in expected)
            impls = ", ".join(dict.fromkeys(i.plugin_name for i in hook.impls()))
            raise PluginError(
                f"hook {name} (implemented by {impls}) returned {type(result).__name__}; expected {names} or None",
                plugin=impls,
            )
        return result

    async def _around(self, name: str, **kwargs: Any) -> Around | None:
        hook = self._hooks[name]
        made = await call_hook(hook, kwargs)
        if not isinstance(made, list):  # a wrapper's answer: one generator, or None
            made = [made]
        if all(m is None for m in made):  # nothing wraps this piece of work (the common case)
            return None
        return await Around.enter(name, made)

    # -- the hooks, in the order a run meets them --------------------------------------------

    async def around_run(self, ctx: RunContext) -> Around | None:
        """The run's wrappers, entered (``None``: nothing wraps it)."""
        return await self._around("around_run", ctx=ctx)

    async def around_model_call(self, ctx: RunContext, request: ModelRequest, provider: Provider) -> Around | None:
        """The model call's wrappers, entered (``None``: nothing wraps it)."""
        return await self._around("around_model_call", ctx=ctx, request=request, provider=provider)

    async def around_tool_call(self, ctx: RunContext, call: ToolCall) -> Around | None:
        """The tool call's wrappers, entered (``None``: nothing wraps it)."""
        return await self._around("around_tool_call", ctx=ctx, call=call)

    async def before_run(self, ctx: RunContext) -> None:
        await call_hook(self._hooks["before_run"], {"ctx": ctx})

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
        await call_hook(self._hooks["on_event"], {"ctx": ctx, "event": event})

    async def after_run(self, ctx: RunContext, result: RunResult) -> RunResult:
        """The result to return (a hook's replacement, or ``result``)."""
        replaced = await self._first("after_run", (RunResult,), ctx=ctx, result=result)
        return replaced if replaced is not None else result

    async def on_run_error(self, ctx: RunContext, error: BaseException, partial: RunResult) -> None:
        """Tell every observer that the run failed or was cancelled; never raises."""
        await call_hook(self._hooks["on_run_error"], {"ctx": ctx, "error": error, "partial": partial})


def _as_result(call: ToolCall, value: ToolMessage | str | None) -> ToolMessage | None:
    """A hook's answer as the call's result; it always answers *this* call."""
    if value is None:
        return None
    if isinstance(value, ToolMessage):
        if value.tool_call_id == call.id and value.name == call.name:
            return value
        return ToolMessage(tool_call_id=call.id, name=call.name, content=value.content, is_error=value.is_error)
    return ToolMessage(tool_call_id=call.id, name=call.name, content=value)
