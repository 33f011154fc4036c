"""Calling lifecycle hooks through pluggy, from the agent loop's coroutines.

pluggy calls hooks synchronously; the loop is async and a lifecycle hook may be a coroutine
function. Every call goes through the plugin manager's own hook execution (``_hookexec``), so
pluggy's rules hold: ``wrapper=True`` and old-style ``hookwrapper=True`` implementations,
``tryfirst``/``trylast`` order, ``firstresult`` specs, and ``add_hookcall_monitoring`` /
``enable_tracing`` all see lifecycle calls. Two ways to run a call:

- **inline**, on the event loop's thread, when no implementation is a coroutine function (the
  common case, and the fast one: a plain pluggy call). An awaitable a plain function returns
  is awaited after pluggy's call.
- **driven from a helper thread**, when some implementation is a coroutine function (except
  for ``on_event``, below): pluggy's
  call runs in a worker thread and each implementation step (a function, a wrapper's part
  before or after its ``yield``) is run on the event loop and awaited there, so pluggy sees
  awaited results. A ``firstresult`` hook then stops at the first implementation whose
  *awaited* result is not ``None``, and a wrapper's ``yield`` returns awaited results. All
  hook code still runs on the event loop's thread, one step at a time; only pluggy's own loop
  (and monitoring callbacks) run in the worker.

``on_event`` is called for every streamed delta, and its results are ignored: its async
implementations are started by pluggy's (inline) call and awaited right after it, in order,
so an async observer costs no thread hand-off; a wrapper around ``on_event`` wraps their
start, not their end.

Per-agent hooks (``Agent(hooks=...)``) are pluggy ``HookImpl`` objects merged with the
plugins' by :class:`AgentHookCaller` (a view like pluggy's ``subset_hook_caller``), ordered by
pluggy's own rules. Observers (``on_*`` hooks) are isolated: an exception is logged and the
run goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import pluggy

__all__ = ["AgentHookCaller", "PreparedHook", "call_hook", "is_async_impl"]

log = logging.getLogger("agentkit.lifecycle")

_worker = threading.local()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """Threads that drive pluggy calls with async implementations (created on first need).

    Its own pool, not the loop's default executor: a hook that awaits ``asyncio.to_thread``
    must find a free thread there while pluggy's call waits for it here.
    """
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(max_workers=256, thread_name_prefix="agentkit-hooks")
        return _executor


class AgentHookCaller(pluggy.HookCaller):
    """The plugins' implementations of one hook plus one agent's own, in pluggy's order.

    Like pluggy's ``_SubsetHookCaller`` it owns no data of the original: plugins registered
    later are seen at the next call.
    """

    __slots__ = ("_merged", "_orig", "_own", "_seen")

    def __init__(self, orig: pluggy.HookCaller, own: Sequence[pluggy.HookImpl]) -> None:
        self._orig = orig
        self._own = tuple(own)
        self._seen: list[pluggy.HookImpl] | None = None
        self._merged: list[pluggy.HookImpl] = []
        self.name = orig.name  # type: ignore[misc]
        self._hookexec = orig._hookexec  # type: ignore[misc]

    @property  # type: ignore[misc]
    def _hookimpls(self) -> list[pluggy.HookImpl]:
        current = self._orig._hookimpls
        if self._seen != current:
            scratch = pluggy.HookCaller(self.name, self._hookexec)
            scratch._hookimpls.extend(current)  # already in pluggy's order
            # pluggy's own placement (tryfirst, trylast, wrappers); added last to first, so that
            # among equals the agent's hooks run in the order they were given
            for impl in reversed(self._own):
                scratch._add_hookimpl(impl)
            self._merged = scratch._hookimpls
            self._seen = list(current)
        return self._merged

    @property
    def spec(self) -> Any:  # type: ignore[override]
        return self._orig.spec

    @property
    def _call_history(self) -> Any:  # type: ignore[override]
        return self._orig._call_history

    def __repr__(self) -> str:
        return f"<AgentHookCaller {self.name!r}>"


def is_async_impl(impl: pluggy.HookImpl) -> bool:
    """Whether an implementation is a coroutine function (or an object with an async ``__call__``)."""
    func = impl.function
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(vars(type(func)).get("__call__"))


def _who(impl: pluggy.HookImpl) -> str:
    func = impl.function
    name = getattr(func, "__qualname__", None) or repr(func)
    return f"{impl.plugin_name} ({name})"


def _copy(impl: pluggy.HookImpl, function: Callable[..., Any]) -> pluggy.HookImpl:
    """``impl`` calling ``function`` instead (same plugin, options and argument names)."""
    copied = pluggy.HookImpl(impl.plugin, impl.plugin_name, impl.function, impl.opts)
    setattr(copied, "function", function)
    return copied


# -- observers: isolated; on_event's async implementations deferred ----------------------------------

_deferred = threading.local()  # coroutines of on_event's async implementations, during one call


def _deferring(impl: pluggy.HookImpl, hook: str) -> pluggy.HookImpl:
    """An async observer of a hot hook (``on_event``): pluggy's call starts it, and it is awaited
    right after that call, in order, with no thread hand-off (its result is ignored anyway)."""
    function = impl.function

    def call(*args: Any, **kwargs: Any) -> None:
        try:
            coroutine = function(*args, **kwargs)
        except Exception as exc:
            _log_observer(hook, impl, exc)
            return None
        _deferred.pending.append(_guarded(coroutine, hook, impl))
        return None

    return _copy(impl, call)



def _isolated_inline(impl: pluggy.HookImpl, hook: str) -> pluggy.HookImpl:
    function = impl.function

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except Exception as exc:
            _log_observer(hook, impl, exc)
            return None
        if inspect.isawaitable(result):
            return _guarded(result, hook, impl)
        return result

    return _copy(impl, call)


async def _guarded(awaitable: Any, hook: str, impl: pluggy.HookImpl) -> Any:
    try:
        return await awaitable
    except Exception as exc:
        _log_observer(hook, impl, exc)
        return None


def _log_observer(hook: str, impl: pluggy.HookImpl, exc: BaseException) -> None:
    log.warning("%s hook %s failed: %s: %s", hook, _who(impl), type(exc).__name__, exc)


# -- driving pluggy from a helper thread ----------------------------------------------------------


class _Bridge:
    """Runs one pluggy call's implementation steps on the event loop, for the worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.current: concurrent.futures.Future[Any] | None = None
        self.cancelled = False

    def run(self, step: Callable[[], Any], *, is_impl: bool) -> Any:
        """``step()`` on the loop (awaiting what it returns); its outcome here."""
        if self.cancelled and is_impl:
            raise asyncio.CancelledError()

        async def on_loop() -> Any:
            result = step()
            if inspect.isawaitable(result):
                result = await result
            return result

        future = asyncio.run_coroutine_threadsafe(on_loop(), self.loop)
        self.current = future
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError() from None
        finally:
            self.current = None

    def cancel(self) -> None:
        """The run was cancelled: stop the implementation in progress; start no other one
        (wrappers still run their part after ``yield``, seeing the cancellation)."""
        self.cancelled = True
        current = self.current
        if current is not None:
            current.cancel()


def _bridge() -> _Bridge:
    bridge: _Bridge | None = getattr(_worker, "bridge", None)
    if bridge is None:  # pragma: no cover (only the worker calls these adapters)
        raise RuntimeError("a lifecycle hook adapter was called outside agentkit's hook worker")
    return bridge


_STOP = object()


class _LoopGenerator:
    """A wrapper's generator, stepped on the event loop (pluggy steps it from the worker)."""

    def __init__(self, gen: Generator[Any, Any, Any]) -> None:
        self._gen = gen
        self.gi_code = getattr(gen, "gi_code", None)  # pluggy names the wrapper from it

    def _step(self, action: Callable[[], Any]) -> Any:
        def step() -> Any:
            try:
                return (None, action())
            except StopIteration as stop:  # a coroutine may not raise StopIteration: carry it
                return (_STOP, stop.value)

        kind, value = _bridge().run(step, is_impl=False)
        if kind is _STOP:
            raise StopIteration(value)
        return value

    def __iter__(self) -> Iterator[Any]:
        return self  # type: ignore[return-value]

    def __next__(self) -> Any:
        return self._step(lambda: next(self._gen))

    def send(self, value: Any) -> Any:
        return self._step(lambda: self._gen.send(value))

    def throw(self, exc: BaseException) -> Any:
        return self._step(lambda: self._gen.throw(exc))

    def close(self) -> None:
        _bridge().run(self._gen.close, is_impl=False)


def _driven(impl: pluggy.HookImpl, hook: str, isolate: bool) -> pluggy.HookImpl:
    function = impl.function
    if impl.wrapper or impl.hookwrapper:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gen = _bridge().run(lambda: function(*args, **kwargs), is_impl=False)
            return _LoopGenerator(gen)

        return _copy(impl, wrapper)

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return _bridge().run(lambda: function(*args, **kwargs), is_impl=True)
        except Exception as exc:
            if not isolate:
                raise
            _log_observer(hook, impl, exc)
            return None

    return _copy(impl, call)


# -- one hook, prepared for calling ------------------------------------------------------------------


class PreparedHook:
    """One lifecycle hook of one agent: its caller and the implementation lists to call with,
    rebuilt when the plugins change."""

    def __init__(
        self, caller: pluggy.HookCaller, pm: pluggy.PluginManager, plain: Any, *, observer: bool, deferred: bool = False
    ) -> None:
        self.caller = caller
        self.observer = observer
        self.deferred = deferred  # an observer called so often that async ones are not driven
        self._pm = pm
        self._plain = plain  # the manager's hook execution without monitoring
        spec = caller.spec
        self.firstresult = bool(spec is not None and spec.opts.get("firstresult"))
        self._seen: list[pluggy.HookImpl] | None = None
        self.inline: list[pluggy.HookImpl] = []
        self.driven: list[pluggy.HookImpl] | None = None  # set when an implementation is async

    def impls(self) -> list[pluggy.HookImpl]:
        return self.caller._hookimpls

    def monitored(self) -> bool:
        """Whether hook calls are monitored (``add_hookcall_monitoring``, tracing): then even
        a call nothing implements goes through pluggy, so that it is seen."""
        return self._pm._inner_hookexec is not self._plain

    def refresh(self) -> None:
        current = self.caller._hookimpls
        if self._seen == current:
            return
        name = self.caller.name
        if self.deferred:
            inline = [
                i if (i.wrapper or i.hookwrapper) else _deferring(i, name) if is_async_impl(i) else _isolated_inline(i, name)
                for i in current
            ]
        elif self.observer:
            inline = [i if (i.wrapper or i.hookwrapper) else _isolated_inline(i, name) for i in current]
        else:
            inline = list(current)
        self.inline = inline
        asynchronous = not self.deferred and any(map(is_async_impl, current))
        self.driven = [_driven(i, name, self.observer) for i in current] if asynchronous else None
        self._seen = list(current)


async def call_hook(hook: PreparedHook, kwargs: dict[str, Any]) -> Any:
    """Call ``hook`` through pluggy with ``kwargs``; its result, awaited.

    ``None`` (``firstresult`` hooks) or ``[]`` when nothing implements it.
    """
    if not hook.caller._hookimpls and not hook.monitored():
        return None if hook.firstresult else []  # the common case, skipped cheaply
    hook.refresh()
    caller = hook.caller
    if hook.deferred:
        pending: list[Any] = []
        _deferred.pending = pending
        try:
            caller._hookexec(caller.name, list(hook.inline), kwargs, False)
        finally:
            _deferred.pending = []
        for coroutine in pending:
            await coroutine
        return None
    if hook.driven is None:
        result = caller._hookexec(caller.name, list(hook.inline), kwargs, hook.firstresult)
        if hook.firstresult or not isinstance(result, list):  # (a wrapper may return anything)
            return await result if inspect.isawaitable(result) else result
        return [await r if inspect.isawaitable(r) else r for r in result]
    return await _drive(caller, list(hook.driven), kwargs, hook.firstresult)


async def _drive(
    caller: pluggy.HookCaller, impls: list[pluggy.HookImpl], kwargs: dict[str, Any], firstresult: bool
) -> Any:
    loop = asyncio.get_running_loop()
    bridge = _Bridge(loop)

    def work() -> Any:
        _worker.bridge = bridge
        try:
            return caller._hookexec(caller.name, impls, kwargs, firstresult)
        finally:
            _worker.bridge = None

    context = contextvars.copy_context()
    future = asyncio.wrap_future(_pool().submit(context.run, work), loop=loop)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # The run is cancelled: stop the implementation in progress, let pluggy finish (its
        # wrappers see the cancellation), then go on being cancelled.
        bridge.cancel()
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: it is the cancellation, or what a wrapper made of it
        raise
