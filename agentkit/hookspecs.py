"""Hook specifications: every way a plugin extends agentkit.

A plugin is a module or object with functions marked ``@agentkit.hookimpl`` whose names
match the specs below. Installed distributions expose their plugin module through an entry
point in the ``agentkit`` group::

    [project.entry-points.agentkit]
    weather = "agentkit_weather.plugin"

Families: ``register_*`` hooks receive a registrar and add things to it; ``configure`` sees
each configuration file loaded; ``before_*`` and ``after_*`` hooks run before and after each
run, model call and tool call and may intercept; ``around_*`` hooks wrap them (a generator that
yields once while the work is done, in the task doing it: what a tracing plugin needs); ``on_*``
hooks observe (``on_event`` every event, ``on_run_error`` a run that failed).

pluggy calls every hook, lifecycle hooks included, so its options hold: ``tryfirst`` and
``trylast``, ``wrapper=True`` (and the legacy ``hookwrapper=True``), ``firstresult``, and hook
monitoring (``pm.add_hookcall_monitoring``, ``pm.enable_tracing``). A lifecycle hook may be a
coroutine function: the loop awaits it, and pluggy sees its awaited result (a wrapper's
``yield`` returns it; a ``firstresult`` hook goes on past an async implementation that returns
``None``). See :mod:`agentkit._hookcall` for how.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Generator

    from .config import Config
    from .events import ModelResponse, RunResult, StreamEvent
    from .messages import ToolCall, ToolMessage
    from .providers import ModelRequest, Provider
    from .registry import (
        CommandRegistrar,
        ConfigSectionRegistrar,
        ExecutorRegistrar,
        GuardrailRegistrar,
        MemoryRegistrar,
        ProviderRegistrar,
        StoreRegistrar,
        TokenCounterRegistrar,
        ToolRegistrar,
    )
    from .run_context import RunContext

__all__ = [
    "AROUND_HOOKS",
    "LIFECYCLE_HOOKS",
    "OBSERVER_HOOKS",
    "add_hookspecs",
    "after_model_call",
    "after_run",
    "after_tool_call",
    "around_model_call",
    "around_run",
    "around_tool_call",
    "before_model_call",
    "before_run",
    "before_tool_call",
    "configure",
    "hookimpl",
    "hookspec",
    "on_event",
    "on_run_error",
    "register_commands",
    "register_config_sections",
    "register_executors",
    "register_guardrails",
    "register_memory",
    "register_providers",
    "register_stores",
    "register_token_counters",
    "register_tools",
]

hookspec = pluggy.HookspecMarker("agentkit")
hookimpl = pluggy.HookimplMarker("agentkit")

# -------------------------------------------------------------------------------------------
# Registration hooks. Called once, when the plugin host first needs its registries. Each
# plugin's implementation gets a registrar bound to that plugin, so everything it adds
# records where it came from.
# -------------------------------------------------------------------------------------------


@hookspec
def register_providers(registry: ProviderRegistrar) -> None:
    """Register model providers.

    :param registry: Call ``registry.add(name, factory, ...)`` for each provider. ``factory``
        is called as ``factory(base_url=..., api_key=..., **settings)`` and returns a
        :class:`agentkit.Provider`; ``name`` is the prefix of model strings
        (``"openai"`` in ``"openai/gpt-4o-mini"``).

    The return value is ignored.
    """


@hookspec
def register_tools(registry: ToolRegistrar) -> None:
    """Register tools that agents can use by name.

    :param registry: Call ``registry.add(tool)`` for a ready :class:`agentkit.Tool`,
        ``registry.add_factory(name, factory, settings_key=...)`` for a tool built from
        settings (such as a root directory), and ``registry.add_set(name, names)`` for a named
        group of tools.

    The return value is ignored.
    """


@hookspec
def register_stores(registry: StoreRegistrar) -> None:
    """Register session stores and response caches.

    :param registry: Call ``registry.add(name, factory)`` for a session store
        (``factory(**settings)`` returns an :class:`agentkit.Store`) and
        ``registry.add_cache(name, factory)`` for a response cache.

    The return value is ignored.
    """


@hookspec
def register_memory(registry: MemoryRegistrar) -> None:
    """Register long-term memory backends.

    :param registry: Call ``registry.add(name, factory)``; ``factory(**settings)`` returns a
        :class:`agentkit.Memory`.

    The return value is ignored.
    """


@hookspec
def register_guardrails(registry: GuardrailRegistrar) -> None:
    """Register guardrails that agents can use by name.

    :param registry: Call ``registry.add(name, factory)``; ``factory(**options)`` returns a
        :class:`agentkit.Guardrail`.

    The return value is ignored.
    """


@hookspec
def register_token_counters(registry: TokenCounterRegistrar) -> None:
    """Register token counters for models whose tokenizer tiktoken does not know.

    :param registry: Call ``registry.add(name, counter, models=...)``; ``counter(text)``
        returns a token count and ``models`` is a glob (``"llamacpp/*"``) the counter serves.

    The return value is ignored.
    """


@hookspec
def register_config_sections(registry: ConfigSectionRegistrar) -> None:
    """Extend the configuration file's JSON Schema with a plugin's own sections.

    :param registry: Call ``registry.add(name, schema)``: the top-level table ``[name]`` of
        ``agentkit.toml`` must then match ``schema`` (a JSON Schema dict).

    The return value is ignored.
    """


@hookspec
def register_commands(registry: CommandRegistrar) -> None:
    """Add ``agentkit <command>`` subcommands.

    :param registry: Call ``registry.add(name, configure, run, help=...)``:
        ``configure(parser)`` adds the command's arguments to its ``argparse`` parser (it may
        add sub-commands of its own), and ``run(args)`` carries the command out and returns its
        exit code (``None`` means 0). Errors it raises are reported like the built-in
        commands' (one line, a hint, the exit code of the error's kind).

    The built-in commands (``run``, ``chat``, ...) take precedence over a plugin command of
    the same name. ``agentkit --help`` does not load plugins, so it does not list plugin
    commands; ``agentkit plugins`` does, and ``agentkit <command> --help`` works.

    The return value is ignored.
    """


@hookspec
def register_executors(registry: ExecutorRegistrar) -> None:
    """Register batch executors: where the items of a batch job run.

    :param registry: Call ``registry.add(name, factory)``; ``factory(**options)`` returns an
        :class:`agentkit.batch.Executor`, and ``name`` is what ``run_batch(executor=...)`` and
        ``agentkit batch --executor`` take (``"local"`` is built in).

    The return value is ignored.
    """


@hookspec
def configure(config: Config) -> None:
    """Called each time a configuration file is loaded, once it was read and checked.

    :param config: The loaded :class:`agentkit.config.Config`. A plugin finds its own table in
        ``config.sections`` (``${VAR}`` references filled in), already checked against the
        schema it registered with ``register_config_sections``.

    Called by :func:`agentkit.config.load_config`, so by every ``agentkit`` command that reads
    the configuration, and by :func:`agentkit.config.load_agent`. A plugin sets itself up here
    from its section (keep it cheap: defer heavy work to first use). An error it raises makes
    loading fail; raise a :class:`agentkit.ConfigError` naming the file and key.

    The return value is ignored.
    """


@hookspec(historic=True)
def add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Add hook specifications of a plugin's own (for plugins that others extend).

    :param plugin_manager: Call ``plugin_manager.add_hookspecs(module)``.

    The return value is ignored.
    """


# -------------------------------------------------------------------------------------------
# Lifecycle hooks. Called for every agent in the process; per-agent callbacks with the same
# names go in ``Agent(hooks=...)``. An interceptor that raises fails the run; use on_event and
# on_run_error to observe without that risk.
# -------------------------------------------------------------------------------------------


@hookspec
def around_run(ctx: RunContext) -> Generator[None, RunResult, None] | None:
    """Wrap a whole run: return a generator that yields once, while the run goes on.

    :param ctx: The run's context: agent, run id, model, session and user ids (its
        ``messages`` are filled in just after).

    The code before the ``yield`` runs when the run starts, before ``before_run``; the
    ``yield`` returns the run's :class:`agentkit.RunResult` (after ``after_run``) or raises the
    error the run ends with (the one ``on_run_error`` sees: a :class:`agentkit.RunAbortedError`
    for an aborted run). The generator runs in the run's own task, so a context variable it
    sets before its ``yield`` (a tracing span made current) holds for the whole run and is
    inherited by the tasks the run starts; reset it after the ``yield``, in the same
    generator. Return ``None`` (a plain function) to leave the run alone. An async generator
    works too (``async with`` around its ``yield``).

    An exception before the ``yield`` fails the run (the generators already entered see it);
    what a generator does after its ``yield`` cannot change the outcome: an exception it
    raises there is logged. The first implementation pluggy calls is the outermost.
    """


@hookspec
def around_model_call(
    ctx: RunContext, request: ModelRequest, provider: Provider
) -> Generator[None, ModelResponse, None] | None:
    """Wrap one model call: return a generator that yields once, while the call is made.

    :param ctx: The run's context.
    :param request: The request about to be sent (model name, messages, tools, ``params``).
    :param provider: The provider the call goes to (the agent's, or its synthesizer's).

    The call covers ``before_model_call``, the response cache, the provider's ``complete()``
    or its whole stream (every delta is forwarded inside it), and ``after_model_call``. The
    ``yield`` returns the :class:`agentkit.ModelResponse` the run goes on with (model, usage and
    finish reason filled in; ``cached`` for a cache hit) or raises the call's error (a
    ``ProviderError``, the ``asyncio.CancelledError`` of an aborted run). Runs in the run's
    task: a context variable set before the ``yield`` holds for the provider's HTTP request
    and the stream. Otherwise as :func:`around_run`.
    """


@hookspec
def around_tool_call(ctx: RunContext, call: ToolCall) -> Generator[None, ToolMessage, None] | None:
    """Wrap the answering of one tool call: return a generator that yields once meanwhile.

    :param ctx: The run's context.
    :param call: The model's tool call (name, id, raw JSON arguments).

    Covers the call's whole handling: argument validation, tool guardrails,
    ``before_tool_call``, the tool itself, ``after_tool_call``. The ``yield`` returns the
    :class:`agentkit.ToolMessage` the model gets, or raises the error that made the call fail
    (an ``UnknownToolError``, a ``ToolArgumentsError``, a ``ToolTimeoutError``, or a
    ``ToolError`` whose ``__cause__`` is what the tool raised) even when the run goes on with
    an error result for the model. Tool calls of one turn run in tasks of their own, each
    wrapped in its task, so context variables set before the ``yield`` hold for that tool's
    code only. Otherwise as :func:`around_run`.
    """


@hookspec
def before_run(ctx: RunContext) -> None:
    """Called when a run starts, before guardrails and the first model call.

    :param ctx: The run's context: agent, run id, input messages, session and user ids.

    The return value is ignored. Raising fails the run.
    """


@hookspec(firstresult=True)
def after_run(ctx: RunContext, result: RunResult) -> RunResult | None:
    """Called when a run ends successfully, before the result is returned and stored.

    :param ctx: The run's context.
    :param result: The run's result.

    Return a :class:`agentkit.RunResult` to replace it, or ``None`` to keep it.
    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def before_model_call(ctx: RunContext, request: ModelRequest) -> ModelResponse | None:
    """Called before each model call.

    :param ctx: The run's context.
    :param request: The request about to be sent.

    Return a :class:`agentkit.ModelResponse` to skip the call and use it instead, or
    ``None`` to make the call. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def after_model_call(ctx: RunContext, request: ModelRequest, response: ModelResponse) -> ModelResponse | None:
    """Called after each model call (also one skipped by ``before_model_call``).

    :param ctx: The run's context.
    :param request: The request that was sent.
    :param response: The response.

    Return a :class:`agentkit.ModelResponse` to replace the response, or ``None`` to keep
    it. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def before_tool_call(ctx: RunContext, call: ToolCall) -> ToolMessage | str | None:
    """Called before each tool call, after its arguments were validated.

    :param ctx: The run's context.
    :param call: The model's tool call (name, id, raw JSON arguments).

    Return a :class:`agentkit.ToolMessage` or a string to skip the tool and use that as its
    result, or ``None`` to run the tool. Stops at first non-None result.
    """


@hookspec(firstresult=True)
def after_tool_call(ctx: RunContext, call: ToolCall, result: ToolMessage) -> ToolMessage | str | None:
    """Called after each tool call with its result (also an error result).

    :param ctx: The run's context.
    :param call: The model's tool call.
    :param result: The tool's result.

    Return a :class:`agentkit.ToolMessage` or a string to replace the result, or ``None``
    to keep it. Stops at first non-None result.
    """


@hookspec
def on_event(ctx: RunContext, event: StreamEvent) -> None:
    """Observe every event of every run: deltas, turns, tool results, the end of the run.

    :param ctx: The run's context.
    :param event: The event.

    The return value is ignored. An exception is logged and does not stop the run.
    """


@hookspec
def on_run_error(ctx: RunContext, error: BaseException, partial: RunResult) -> None:
    """Called when a run ends without a result: it raised, or it was aborted or cancelled.

    :param ctx: The run's context.
    :param error: Why the run ended: the exception it raises (``MaxTurnsError``, a
        ``ProviderError``, a ``GuardrailTripwireError``, ...), a
        :class:`agentkit.RunAbortedError` for ``agent.abort()``, or the
        ``asyncio.CancelledError`` when the task running it was cancelled (a stream left
        early, Ctrl-C).
    :param partial: The run so far, as a :class:`agentkit.RunResult` (``stopped`` is
        ``True``; a tool call without a result is answered as interrupted).

    Called once per failed run, instead of ``after_run``, before the error reaches the caller.
    The return value is ignored. An exception is logged and does not replace the run's error.
    """


#: Names of the lifecycle hooks, in the order a run meets them.
LIFECYCLE_HOOKS: tuple[str, ...] = (
    "around_run",
    "before_run",
    "around_model_call",
    "before_model_call",
    "after_model_call",
    "around_tool_call",
    "before_tool_call",
    "after_tool_call",
    "on_event",
    "after_run",
    "on_run_error",
)

#: Lifecycle hooks that only observe: an exception they raise is logged, never raised.
OBSERVER_HOOKS: frozenset[str] = frozenset({"on_event", "on_run_error"})

#: Lifecycle hooks that wrap the work: their implementations return generators.
AROUND_HOOKS: frozenset[str] = frozenset({"around_run", "around_model_call", "around_tool_call"})

