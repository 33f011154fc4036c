"""The Agent: a model, instructions, tools and policies, run as many times as you like.

::

    agent = Agent("openai/gpt-4o-mini", system="You are terse.", tools=[add])
    result = agent.run("What is 2 + 3?")           # or: await agent.arun(...)
    for event in agent.stream("Tell me a story"):  # or: async for ... in agent.astream(...)
        ...

An Agent holds settings only; every run has its own state (:class:`agentkit.loop.Run`), so
one agent can serve many runs at once. Keyword arguments of a run override the agent's
settings for that run (``agent.run("hi", max_turns=3, params={"temperature": 0})``; ``params``
are merged into the agent's).

The model string is ``"<provider>/<model>"``; the provider is built by the factory a plugin
registered under that name, with ``base_url``, ``api_key`` and ``provider_settings``. Tests
pass a ready provider as ``provider=`` (for example :class:`agentkit.testing.ScriptedProvider`).
The API key is kept private: it is in no repr, and it never reaches a cache key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import _loop_marks
from ._agent_checks import check_names, check_run_arguments, check_wiring
from ._options import signature
from ._run import OPTIONS, RUN_OPTIONS, ModelTarget, Resources, RunSettings, build_settings, unknown_option
from ._sync import iterate_sync, run_sync
from .errors import ConfigError, RunAbortedError, ToolDefinitionError
from .events import RunResult, StreamEvent
from .lifecycle import Lifecycle, agent_hooks
from .loop import Run
from .messages import Message
from .output import FINAL_ANSWER_TOOL, output_spec
from .providers import Provider
from .registry import build_from

if TYPE_CHECKING:
    from .config import Config
    from .plugins import PluginHost
    from .sessions import Session
    from .tools import ResolvedTools

__all__ = ["Agent"]

log = logging.getLogger("agentkit.agent")

T = TypeVar("T")

_closing: set[asyncio.Task[None]] = set()  # close() scheduled in a running loop: kept until done

class _Control:
    """A run in progress, so ``stop()`` and ``abort()`` can reach it from any thread."""

    def __init__(self, run: Run, task: asyncio.Task[Any]) -> None:
        self.run = run
        self.task = task
        self.loop = asyncio.get_running_loop()

    def stop(self) -> None:
        self.run.ctx.stop()

    def abort(self) -> None:
        self.run.aborted = True
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.task.cancel()
        else:
            try:
                self.loop.call_soon_threadsafe(self.task.cancel)
            except RuntimeError:  # the loop has closed: the run is over
                return
            _loop_marks.interrupt(self.loop, self.task)  # a sync run blocked in a read: cut it


class Agent:
    """An LLM agent. See the module docs and ``docs/agents.md``."""

    #: Tool results longer than this many characters are cut, with a marker saying so.
    tool_result_limit: int = 50_000

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        provider: Provider | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        provider_settings: Mapping[str, Any] | None = None,
        hooks: Any = None,
        plugin_host: PluginHost | None = None,
        **options: Any,
    ) -> None:
        """``model`` and the options declared in :class:`agentkit._run.RunSettings` (every one
        is listed in ``docs/agents.md``), plus how to reach the provider and the plugin host.

        Every value is checked here: an invalid one raises a
        :class:`~agentkit.errors.ConfigError` naming it and what it accepts.
        """
        check_wiring(name=name, provider=provider, base_url=base_url, api_key=api_key,
                      provider_settings=provider_settings, plugin_host=plugin_host)
        self._settings = build_settings({"model": model, **options}, has_provider=provider is not None)
        self._output = output_spec(self._settings.output_type)  # a bad output type fails here, not mid-run
        self.name = name or "agent"
        self._raw_hooks = hooks
        self._hooks = agent_hooks(hooks)  # a hook that cannot be called fails here
        self._base_url = base_url
        self._api_key = api_key
        self._provider = provider
        self._provider_settings = dict(provider_settings or {})
        self._plugin_host = plugin_host
        self._lock = threading.RLock()
        self._providers: dict[str, Provider] = {}
        self._lifecycle: tuple[PluginHost, Lifecycle] | None = None
        self._static: tuple[PluginHost, Resources] | None = None
        # tools and guardrails resolved by name when the agent was built, with their host
        self._resolved: dict[str, tuple[PluginHost, Any]] = {}
        self._active: set[_Control] = set()
        self._memory_object: Any = None
        self._toolsets: list[Any] = []  # every toolset its runs used: closed by close()/aclose()
        self._sources: dict[str, Any] = {}  # tool sources' shared state ("mcp:x" -> one connection)
        self._entered: list[Any] = []  # toolsets entered by `async with agent:`
        self._check_names(self._settings)

    def __repr__(self) -> str:
        return f"Agent({self.model!r}, name={self.name!r})"

    # -- from agentkit.toml -----------------------------------------------------------------------

    @classmethod
    def from_profile(
        cls, profile: str, *, config: str | os.PathLike[str] | None = None, **overrides: Any
    ) -> Agent:
        """The agent ``[profiles.<profile>]`` of ``agentkit.toml`` describes, over
        ``[profiles.default]``; keyword ``overrides`` (any ``Agent`` keyword) replace the
        file's values (``tools`` are added; ``params`` and ``template_params`` merged).

        The file is ``config`` if given, else found as :func:`agentkit.config.load_config`
        finds it: ``$AGENTKIT_CONFIG``, ``./agentkit.toml``, ``$AGENTKIT_HOME/agentkit.toml``.
        An unknown profile is a :class:`~agentkit.errors.ConfigError` naming the file and
        listing the profiles and agents it defines.
        """
        from .config import load_config

        return cls.from_config(load_config(config), profile=profile, **overrides)

    @classmethod
    def from_config(
        cls, config: Config, name: str | None = None, *, profile: str | None = None, **overrides: Any
    ) -> Agent:
        """Agent ``name`` of a loaded :class:`agentkit.config.Config` (``None``: its default
        agent), or with ``profile`` that profile's agent: ``config.agent(name, profile=...,
        **overrides)``."""
        from ._config_build import build_agent
        from .config import Config

        if not isinstance(config, Config):
            raise ConfigError(
                f"expected a Config (agentkit.load_config()), got {type(config).__name__}",
                hint="Agent.from_profile(name) reads the file itself",
            )
        agent = build_agent(config, config.agent_config(name, profile=profile), overrides, agent_class=cls)
        assert agent is not None  # problems are raised, not collected
        return agent

    # -- settings ---------------------------------------------------------------------------------

    @property
    def settings(self) -> RunSettings:
        """The agent's run settings (runs may override them)."""
        return self._settings

    @property
    def model(self) -> str:
        return self._settings.model

    @property
    def hooks(self) -> Any:
        """This agent's own lifecycle hooks, as given (see ``docs/hooks.md``)."""
        return self._raw_hooks

    @hooks.setter
    def hooks(self, hooks: Any) -> None:
        parsed = agent_hooks(hooks)  # checked like the constructor's
        with self._lock:
            self._raw_hooks, self._hooks = hooks, parsed
            self._lifecycle = None
            self._static = None

    @property
    def storage(self) -> Any:
        """The session store ``agent.session()`` uses (a Store, a name, or a spec)."""
        return self._settings.storage

    @property
    def system(self) -> str | None:
        return self._settings.system

    @property
    def memory(self) -> Any:
        """The agent's long-term memory: one object, shared by its runs and sessions.

        A name or ``{"name": ...}`` is resolved on first use.
        """
        spec = self._settings.memory
        if spec is None or not isinstance(spec, str | Mapping):
            return spec
        with self._lock:
            if self._memory_object is None:
                from .memory import resolve_memory

                self._memory_object = resolve_memory(spec, host=self.host)
            return self._memory_object

    @property
    def host(self) -> PluginHost:
        """The plugin host this agent resolves names with."""
        if self._plugin_host is not None:
            return self._plugin_host
        from .plugins import get_host

        return get_host()

    @property
    def provider(self) -> Provider:
        """The provider of the agent's model (built on first use)."""
        return self._target(self.model).provider

    def _settings_for(self, overrides: Mapping[str, Any]) -> RunSettings:
        if not overrides:
            return self._settings
        for key in overrides:
            if key not in RUN_OPTIONS:
                if key in OPTIONS:
                    raise ConfigError(
                        f"{key} is set on the agent, not per run", key_path=key,
                        hint=f"build another Agent for another {key}",
                    )
                raise unknown_option(key, RUN_OPTIONS, what="run option")
        changes = dict(overrides)
        if "params" in changes and isinstance(changes["params"], Mapping | None):
            changes["params"] = {**self._settings.params, **(changes["params"] or {})}
        settings = build_settings(changes, base=self._settings, has_provider=self._provider is not None)
        self._check_names(settings, only=changes)
        return settings

    # -- names the plugins provide -------------------------------------------------------------------

    def _check_names(self, settings: RunSettings, only: Mapping[str, Any] | None = None) -> None:
        """Check what a plugin must provide (see :func:`agentkit._agent_checks.check_names`),
        keeping what it resolved for the agent's own settings."""
        found = check_names(self, settings, only)
        if only is None:
            self._resolved.update({k: (self.host, v) for k, v in found.items()})

    def _resolve_tools(self, settings: RunSettings, host: PluginHost, *, keep: bool = True) -> ResolvedTools:
        from .tools import resolve_tool_items

        with self._lock:
            resolved = resolve_tool_items(
                settings.tools, host=host, settings=settings.tool_settings, shared=self._sources if keep else {}
            )
            for toolset in resolved.toolsets if keep else ():
                if all(toolset is not t for t in self._toolsets):
                    self._toolsets.append(toolset)
        return resolved

    # -- resolving names into objects -------------------------------------------------------------

    def _target(self, model: str, *, own: bool = True) -> ModelTarget:
        """The provider and model names for ``model``; the agent's connection settings apply to
        its own provider only."""
        if self._provider is not None:
            prefix, sep, rest = model.partition("/")
            if not sep or prefix == self._provider.name:
                name = rest if sep else model
                full = model if sep else f"{self._provider.name}/{model}"
                return ModelTarget(self._provider, full, name, self._provider.name)
        prefix, sep, name = model.partition("/")
        if not sep or not prefix or not name:
            raise ConfigError(
                f"model {model!r} must be '<provider>/<model>', for example 'openai/gpt-4o-mini'", key_path="model"
            )
        mine = own and self.model.partition("/")[0] == prefix
        key = prefix if mine else f"{prefix} (defaults)"
        with self._lock:
            provider = self._providers.get(key)
            if provider is None:
                entry = self.host.registry("provider").get(prefix)
                # a misspelt setting is a ConfigError with a "did you mean", whatever the factory
                settings = self._provider_settings if mine else {}
                connection = {"base_url": self._base_url, "api_key": self._api_key} if mine else {}
                provider = build_from(
                    entry, settings, key_path="provider_settings", wrap=False,
                    **{"base_url": None, "api_key": None, **connection},
                )
                self._providers[key] = provider
        label = prefix + (f"@{self._base_url}" if mine and self._base_url else "")
        return ModelTarget(provider, model, name, label)

    def _resources(self, settings: RunSettings) -> Resources:
        host = self.host
        static = self._static
        if settings is self._settings and static is not None and static[0] is host:
            return static[1]
        target = self._target(settings.model)
        synthesizer = None
        if settings.synthesizer_model:
            same = settings.synthesizer_model.partition("/")[0] == settings.model.partition("/")[0]
            synthesizer = self._target(settings.synthesizer_model, own=same)
        memory = self._memory(settings, host)
        tools, toolsets = self._tools(settings, host, memory)
        guardrails: list[Any] = []
        if settings.guardrails:
            resolved = self._resolved.get("guardrails")
            if settings.guardrails is self._settings.guardrails and resolved is not None and resolved[0] is host:
                guardrails = list(resolved[1])
            else:
                from .guardrails import resolve_guardrails

                guardrails = resolve_guardrails(settings.guardrails, host=host)
        from .cache import resolve_cache

        resources = Resources(
            target=target,
            synthesizer=synthesizer,
            tools=tools,
            guardrails=guardrails,
            cache=resolve_cache(settings.cache, host=host),
            lifecycle=self._lifecycle_for(host),
            output=self._output if settings.output_type is self._settings.output_type else output_spec(settings.output_type),
            memory=memory,
            host=host,
            toolsets=toolsets,
        )
        if settings is self._settings:
            self._static = (host, resources)
        return resources

    def _tools(self, settings: RunSettings, host: PluginHost, memory: Any) -> tuple[dict[str, Any], list[Any]]:
        found: list[Any] = []
        toolsets: list[Any] = []
        if settings.tools:
            cached = self._resolved.get("tools")
            if (
                settings.tools is self._settings.tools
                and settings.tool_settings is self._settings.tool_settings
                and cached is not None
                and cached[0] is host
            ):
                resolved = cached[1]
            else:
                resolved = self._resolve_tools(settings, host)
            found, toolsets = list(resolved.tools), list(resolved.toolsets)
        if memory is not None and settings.memory_settings.get("tools"):
            from .memory import memory_tools

            found.extend(memory_tools(memory))
        tools: dict[str, Any] = {}
        for t in found:
            if t.name in tools and tools[t.name] is not t:
                raise ToolDefinitionError(f"two tools are named {t.name!r}; rename one", tool=t.name)
            tools[t.name] = t
        if settings.output_type is not None and FINAL_ANSWER_TOOL in tools:
            raise ToolDefinitionError(
                f"the tool name {FINAL_ANSWER_TOOL!r} is reserved for structured output; rename the tool",
                tool=FINAL_ANSWER_TOOL,
            )
        return tools, toolsets

    def _memory(self, settings: RunSettings, host: PluginHost) -> Any:
        spec = settings.memory
        if spec is None:
            return None
        if spec is self._settings.memory:
            return self.memory
        if isinstance(spec, str | Mapping):
            from .memory import resolve_memory

            return resolve_memory(spec, host=host)
        return spec

    def _lifecycle_for(self, host: PluginHost) -> Lifecycle:
        with self._lock:
            if self._lifecycle is None or self._lifecycle[0] is not host:
                self._lifecycle = (host, Lifecycle(host, self._hooks))
            return self._lifecycle[1]

    # -- running ----------------------------------------------------------------------------------

    def _new_run(
        self,
        prompt: Any,
        *,
        history: Sequence[Message] | None,
        images: Sequence[Any] | None,
        template_params: Mapping[str, Any] | None,
        deps: Any,
        session_id: str | None,
        user_id: str | None,
        overrides: Mapping[str, Any],
        streaming: bool,
        sink: Any = None,
    ) -> Run:
        check_run_arguments(prompt, history, images, template_params, session_id, user_id)
        settings = self._settings_for(overrides)
        return Run(
            self,
            settings,
            self._resources(settings),
            prompt=prompt,
            history=history,
            images=images,
            template_params=template_params,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            streaming=streaming,
            sink=sink,
            result_limit=self.tool_result_limit,
        )

    def _register(self, run: Run, task: asyncio.Task[Any]) -> _Control:
        control = _Control(run, task)
        with self._lock:
            self._active.add(control)
        return control

    def _unregister(self, control: _Control) -> None:
        with self._lock:
            self._active.discard(control)

    async def arun(
        self,
        prompt: Any,
        *,
        history: Sequence[Message] | None = None,
        images: Sequence[Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
        deps: Any = None,
        session_id: str | None = None,
        user_id: str | None = None,
        **overrides: Any,
    ) -> RunResult:
        """Run the agent on ``prompt`` and return the result.

        ``prompt`` is text, a message, or a list of messages; ``history`` the conversation
        so far (not repeated in the result); ``images`` paths, URLs, bytes or ImageParts
        added to the user's message; ``deps`` is handed to tools and hooks as ``ctx.deps``.
        """
        run = self._new_run(
            prompt,
            history=history,
            images=images,
            template_params=template_params,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            overrides=overrides,
            streaming=False,
        )
        task = asyncio.ensure_future(run.execute())
        control = self._register(run, task)
        try:
            return await task
        except asyncio.CancelledError:
            if run.aborted and task.cancelled():
                raise RunAbortedError("the run was aborted", partial=run.partial()) from None
            raise
        finally:
            self._unregister(control)

    async def astream(
        self,
        prompt: Any,
        *,
        history: Sequence[Message] | None = None,
        images: Sequence[Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
        deps: Any = None,
        session_id: str | None = None,
        user_id: str | None = None,
        **overrides: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Run the agent, yielding its events; the last one is :class:`~agentkit.RunCompleted`.

        Leaving the loop early cancels the run.
        """
        # One event in flight: the run waits for the consumer, so what the consumer does on
        # an event (abort, stop, leave) happens close to that point of the run.
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue(maxsize=1)

        run = self._new_run(
            prompt,
            history=history,
            images=images,
            template_params=template_params,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            overrides=overrides,
            streaming=True,
            sink=queue.put,
        )
        task = asyncio.ensure_future(run.execute())
        control = self._register(run, task)
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait((getter, task), return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                break
            if task.cancelled():
                if run.aborted:
                    raise RunAbortedError("the run was aborted", partial=run.partial())
                raise asyncio.CancelledError()
            error = task.exception()
            if error is not None:
                raise error
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self._unregister(control)

    def run(
        self,
        prompt: Any,
        *,
        history: Sequence[Message] | None = None,
        images: Sequence[Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
        deps: Any = None,
        session_id: str | None = None,
        user_id: str | None = None,
        **overrides: Any,
    ) -> RunResult:
        """:meth:`arun` from synchronous code (also inside a running event loop, as in Jupyter)."""
        kwargs = dict(
            history=history,
            images=images,
            template_params=template_params,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            **overrides,
        )

        return run_sync(lambda: self.arun(prompt, **kwargs))

    def stream(
        self,
        prompt: Any,
        *,
        history: Sequence[Message] | None = None,
        images: Sequence[Any] | None = None,
        template_params: Mapping[str, Any] | None = None,
        deps: Any = None,
        session_id: str | None = None,
        user_id: str | None = None,
        **overrides: Any,
    ) -> Iterator[StreamEvent]:
        """:meth:`astream` from synchronous code: an iterator of events."""
        kwargs = dict(
            history=history,
            images=images,
            template_params=template_params,
            deps=deps,
            session_id=session_id,
            user_id=user_id,
            **overrides,
        )

        return iterate_sync(lambda: self.astream(prompt, **kwargs))

    # -- control ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Let every run of this agent finish its current turn, then end (``result.stopped``).

        Safe from hooks, tools and other threads.
        """
        with self._lock:
            controls = list(self._active)
        for control in controls:
            control.stop()

    def abort(self) -> None:
        """Cancel every run of this agent at once: they raise
        :class:`~agentkit.errors.RunAbortedError` carrying what they had so far.

        Safe from hooks, tools and other threads.
        """
        with self._lock:
            controls = list(self._active)
        for control in controls:
            control.abort()

    def session(self, session_id: str | None = None, user_id: str | None = None) -> Session:
        """A :class:`agentkit.sessions.Session`: runs that remember the conversation.

        Without ``session_id`` the session is ephemeral: a generated id, and its conversation
        kept in memory for the session's life, unless the agent has a store (``storage=``),
        where it is then stored like any other. ``with agent.session() as ask: ask("...")``.
        """
        from .sessions import Session

        return Session(self, session_id, user_id=user_id)

    async def _close_loop_resources(self) -> None:
        """Close providers' connections bound to the current event loop (it is about to end)."""
        with self._lock:
            providers = {id(p): p for p in self._providers.values()}
        if self._provider is not None:
            providers[id(self._provider)] = self._provider
        for provider in providers.values():
            try:
                await provider.aclose()
            except Exception as exc:
                log.warning("closing provider %r failed: %s: %s", provider.name, type(exc).__name__, exc)

    async def aclose(self) -> None:
        """Close the providers' connections of this event loop, and the toolsets the agent
        used (MCP servers: their connections and child processes). The agent stays usable:
        a toolset reconnects when it is used again.

        Sync runs close the providers' connections by themselves; async code calls this (or
        uses ``async with agent:``) before its event loop ends.
        """
        await self._aclose(skip=())

    async def _aclose(self, *, skip: Iterable[Any]) -> None:
        try:
            await self._close_loop_resources()
        finally:
            with self._lock:
                toolsets = [t for t in self._toolsets if all(t is not s for s in skip)]
            for toolset in toolsets:
                try:
                    await toolset.aclose()
                except Exception as exc:
                    log.warning("closing toolset %s failed: %s: %s", toolset.name, type(exc).__name__, exc)

    def close(self) -> None:
        """:meth:`aclose` from synchronous code (``with agent:`` calls it at the end).

        Inside a running event loop (a notebook), the connections of that loop's async runs
        are closed too, as the loop goes on (``await agent.aclose()`` there closes them at once).
        """
        run_sync(self.aclose)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._close_loop_resources())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    async def __aenter__(self) -> Agent:
        """Enter the agent's toolsets too: an MCP server then keeps its connection in this loop."""
        from .toolsets import Toolset

        for item in self._settings.tools:
            if isinstance(item, Toolset):
                await item.__aenter__()
                self._entered.append(item)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        entered, self._entered = self._entered, []
        try:
            for item in entered:
                await item.__aexit__(*exc_info)  # closes it
        finally:
            await self._aclose(skip=entered)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ``help(Agent)`` and IDEs show every option with its default, from the one declaration
# (as overrides of a config file's values, ``None`` by default, for ``from_profile``/``from_config``).
setattr(
    Agent.__init__, "__signature__", signature(Agent.__init__, RunSettings)
)
for _name in ("from_profile", "from_config"):
    _method = vars(Agent)[_name].__func__  # the function under the classmethod
    setattr(_method, "__signature__", signature(_method, RunSettings, overrides=True))
del _name, _method
