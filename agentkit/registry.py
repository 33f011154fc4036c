"""Registries of what plugins contribute, and the registrars their hooks receive.

Each ``register_*`` hook implementation is called with a registrar bound to its plugin, so
every entry records the plugin it came from. A name registered twice keeps its first
registration (built-ins are registered first, then installed plugins by distribution name)
and the clash is reported as a :class:`PluginWarning` naming both plugins: never a silent
winner. The one exception is declared by the loser: a provider registered with
``fallback=True`` serves its name only while no other plugin registers it (agentkit-openai's
OpenAI-compatible ``anthropic`` gives way to agentkit-anthropic's native one), whatever the
order.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from .errors import ConfigError, PluginError

__all__ = [
    "CommandRegistrar",
    "ConfigSectionRegistrar",
    "Entry",
    "ExecutorRegistrar",
    "GuardrailRegistrar",
    "MemoryRegistrar",
    "PluginWarning",
    "ProviderRegistrar",
    "Registry",
    "StoreRegistrar",
    "TokenCounterRegistrar",
    "ToolRegistrar",
    "build_from",
    "check_options",
    "option_names",
]

log = logging.getLogger("agentkit.plugins")

T = TypeVar("T")

#: The kinds of things plugins register, as used in messages and introspection.
KINDS = (
    "provider",
    "tool",
    "toolset",
    "tool_source",
    "store",
    "cache",
    "memory",
    "guardrail",
    "token_counter",
    "config_section",
    "command",
    "executor",
)


class PluginWarning(UserWarning):
    """A plugin failed to load or clashed with another; the rest keep working.

    ``plugin`` names the plugin; ``error`` is the exception behind a failure, when there is
    one (``agentkit --debug`` prints its traceback).
    """

    def __init__(self, message: str = "", *, plugin: str | None = None, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.error = error


@attrs.frozen
class Entry(Generic[T]):
    """One registered thing: its kind, name, value, the plugin it came from, and extras."""

    kind: str
    name: str
    value: T
    plugin: str
    description: str = ""
    extra: Mapping[str, Any] = attrs.field(factory=dict)


class Registry(Generic[T]):
    """Everything of one kind that plugins registered, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def _add(self, entry: Entry[T]) -> None:
        existing = self._entries.get(entry.name)
        if existing is not None:
            if existing.plugin == entry.plugin:
                self._entries[entry.name] = entry
                return
            if entry.extra.get("fallback") or existing.extra.get("fallback"):
                # a declared fallback gives way to any other registration, without a warning
                if existing.extra.get("fallback") and not entry.extra.get("fallback"):
                    self._entries[entry.name] = entry
                return
            warnings.warn(
                PluginWarning(
                    f"{self.kind} {entry.name!r} is registered by both {existing.plugin!r} and {entry.plugin!r}; "
                    f"{existing.plugin!r}'s is used. To use {entry.plugin!r}'s, leave {existing.plugin!r} out "
                    f"with AGENTKIT_DISABLE_PLUGINS={existing.plugin} (all it registers goes with it); "
                    f"AGENTKIT_DISABLE_PLUGINS={entry.plugin} keeps {existing.plugin!r}'s without this warning",
                    plugin=entry.plugin,
                ),
                stacklevel=2,
            )
            return
        self._entries[entry.name] = entry

    def get(self, name: str) -> Entry[T]:
        """The entry named ``name``; an unknown name raises a PluginError listing what exists."""
        try:
            return self._entries[name]
        except KeyError:
            raise PluginError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        close = difflib.get_close_matches(name, known, n=1)
        text = f"unknown {self.kind} {name!r}"
        if close:
            text += f" (did you mean {close[0]!r}?)"
        if known:
            listing = ", ".join(f"{n} ({self._entries[n].plugin})" for n in known)
            text += f"; installed: {listing}"
        else:
            text += f"; no plugin provides a {self.kind}"
        return text

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def by_plugin(self, plugin: str) -> list[str]:
        return sorted(n for n, e in self._entries.items() if e.plugin == plugin)


class _Registrar:
    """Base of the registrars handed to ``register_*`` hooks."""

    def __init__(self, registries: Mapping[str, Registry[Any]], plugin: str, *, staged: bool = False) -> None:
        self._registries = registries
        self.plugin = plugin
        # The plugin host stages a hook's entries and commits them only when the hook returns,
        # so a hook that raises halfway leaves nothing of its plugin behind.
        self._staged = staged
        self._pending: list[Entry[Any]] = []

    def _put(self, kind: str, name: str, value: Any, description: str = "", **extra: Any) -> None:
        options = extra.get("options")
        if options is not None:
            if isinstance(options, str):
                if ":" not in options:
                    raise PluginError(
                        f"plugin {self.plugin!r} registered {kind} {name!r} with options={options!r}; "
                        "give the option names, or the import path 'module:Class' whose signature names them",
                        plugin=self.plugin,
                    )
            elif not all(isinstance(o, str) for o in options):
                raise PluginError(
                    f"plugin {self.plugin!r} registered {kind} {name!r} with options={options!r}; "
                    "options is a list of the option names its factory takes",
                    plugin=self.plugin,
                )
            else:
                options = tuple(options)
            extra["options"] = options
        else:
            extra.pop("options", None)
        if not isinstance(name, str) or not name or "/" in name or name != name.strip():
            raise PluginError(
                f"plugin {self.plugin!r} registered a {kind} with an invalid name {name!r} "
                "(names are non-empty strings without '/' or surrounding spaces)",
                plugin=self.plugin,
            )
        entry = Entry(kind, name, value, self.plugin, description, dict(extra))
        if self._staged:
            self._pending.append(entry)
        else:
            self._registries[kind]._add(entry)

    def _commit(self) -> None:
        """Add the staged entries to the registries (clashes are reported here)."""
        pending, self._pending = self._pending, []
        for entry in pending:
            self._registries[entry.kind]._add(entry)


class ProviderRegistrar(_Registrar):
    """Given to ``register_providers``."""

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        env_var: str | None = None,
        base_url: str | None = None,
        options: Iterable[str] | None = None,
        fallback: bool = False,
    ) -> None:
        """Register provider ``name``, built by ``factory(base_url=..., api_key=..., **settings)``.

        ``env_var`` names the environment variable holding its API key and ``base_url`` its
        default endpoint: both are shown by ``agentkit plugins`` and used in error hints.
        ``options`` names the settings a ``**settings`` factory takes (or is the import path
        ``"module:Class"`` of what it builds, read only when settings are checked), so a
        misspelt one gets a "did you mean" before anything is built (a factory with named
        parameters needs none). ``fallback=True``: serve ``name`` only while no other plugin
        registers it; another plugin's registration replaces this one, with no clash warning.
        """
        extra: dict[str, Any] = {"fallback": True} if fallback else {}
        self._put(
            "provider", name, factory, description, env_var=env_var, base_url=base_url, options=options, **extra
        )


class ToolRegistrar(_Registrar):
    """Given to ``register_tools``."""

    def add(self, tool: Any, *, name: str | None = None) -> None:
        """Register a ready tool (an :class:`agentkit.Tool` or a plain function to wrap)."""
        from .tools import as_tool

        tool = as_tool(tool)
        if name is not None and name != tool.name:
            tool = tool.renamed(name)
        tool = tool.from_plugin(self.plugin)
        self._put("tool", tool.name, _ReadyTool(tool), tool.description)

    def add_factory(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        settings_key: str | None = None,
        description: str = "",
        options: Iterable[str] | None = None,
    ) -> None:
        """Register a tool built from settings: ``factory(**settings)`` returns the tool.

        ``settings_key`` names the settings table the tool reads (``"files"`` reads
        ``tool_settings.files`` in Python and ``[agents.x.tool_settings.files]`` in config);
        tools sharing a key share their settings. ``options`` names the settings a
        ``**settings`` factory takes (see :meth:`ProviderRegistrar.add`). A factory that is
        not a function building the tool (a ready tool, a string) fails here, when the plugin
        loads, naming the plugin.
        """
        _check_factory(self.plugin, name, factory)
        if settings_key is not None and (not isinstance(settings_key, str) or not settings_key.strip()):
            raise PluginError(
                f"plugin {self.plugin!r} registered tool factory {name!r} with settings_key={settings_key!r}; "
                "it names the settings table the tool reads, such as \"files\"",
                plugin=self.plugin,
            )
        self._put("tool", name, factory, description, settings_key=settings_key, options=options)

    def add_set(self, name: str, tools: Iterable[str], *, description: str = "") -> None:
        """Register ``name`` as a group of tool names (``"files-readonly"``)."""
        self._put("toolset", name, tuple(tools), description)

    def add_source(
        self,
        prefix: str,
        resolver: Callable[..., Any],
        *,
        description: str = "",
        lister: Callable[..., Any] | None = None,
    ) -> None:
        """Make ``"prefix:spec"`` in an agent's tools mean ``resolver(spec, context)``.

        ``context`` is an :class:`agentkit.toolsets.SourceContext`; the resolver returns
        tools, :class:`agentkit.toolsets.Toolset` objects, or a list of them (``"mcp:github"``
        is the MCP plugin's). An unknown ``spec`` raises an error listing what exists.
        ``lister(sections, host)``, if given, tells ``agentkit tools`` what the source offers:
        a list of ``{"name": "mcp:time", "tools": [{"name", "description"}], "error": None}``.
        """
        if ":" in prefix:
            raise PluginError(f"plugin {self.plugin!r}: a tool source prefix cannot contain ':'", plugin=self.plugin)
        self._put("tool_source", prefix, resolver, description, lister=lister)


def _check_factory(plugin: str, name: str, factory: Any) -> None:
    """A tool factory is a function of the settings that returns the tool (or tools)."""
    from .tools import Tool

    if isinstance(factory, Tool):
        problem = "a ready Tool; register it with registry.add(tool) (a factory is a function that builds one)"
    elif not callable(factory):
        problem = f"a {type(factory).__name__}, which cannot be called; pass a function that returns the tool"
    else:
        return
    raise PluginError(f"plugin {plugin!r} registered tool factory {name!r} as {problem}", plugin=plugin)


@attrs.frozen
class _ReadyTool:
    """A tool that needs no settings; calling it like a factory returns the tool."""

    tool: Any

    def __call__(self, **_settings: Any) -> Any:
        return self.tool


class StoreRegistrar(_Registrar):
    """Given to ``register_stores``."""

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        options: Iterable[str] | None = None,
        settings_section: str | None = None,
    ) -> None:
        """Register session store ``name``; ``factory(**settings)`` returns a Store.

        ``options`` names the options a ``**options`` factory takes (or is the import path
        ``"module:Class"`` of what it builds), so a misspelt one gets a "did you mean" before
        anything is built (a factory with named parameters needs none). ``settings_section``
        names a top-level table of agentkit.toml (one the plugin adds with
        ``register_config_sections``) whose keys are the store's default settings when a
        config names it (``storage = "postgres"`` with ``[postgres] dsn = "${DATABASE_URL}"``);
        the factory gets those of its options, under any given with the name.
        """
        self._put("store", name, factory, description, options=options, settings_section=settings_section)

    def add_cache(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        options: Iterable[str] | None = None,
    ) -> None:
        """Register response cache ``name``; ``factory(**settings)`` returns a ResponseCache."""
        self._put("cache", name, factory, description, options=options)


class MemoryRegistrar(_Registrar):
    """Given to ``register_memory``."""

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        options: Iterable[str] | None = None,
        settings_section: str | None = None,
    ) -> None:
        """Register memory backend ``name``; ``factory(**settings)`` returns a Memory.

        ``options`` names the options a ``**options`` factory takes (or is the import path
        ``"module:Class"`` of what it builds), so a misspelt one gets a "did you mean" before
        anything is built (a factory with named parameters needs none). ``settings_section``:
        as for stores (:meth:`StoreRegistrar.add`).
        """
        self._put("memory", name, factory, description, options=options, settings_section=settings_section)


class GuardrailRegistrar(_Registrar):
    """Given to ``register_guardrails``."""

    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        options: Iterable[str] | None = None,
    ) -> None:
        """Register guardrail ``name``; ``factory(**options)`` returns a Guardrail.

        ``options`` names the options a ``**options`` factory takes (or is the import path
        ``"module:Class"`` of what it builds), so a misspelt one gets a "did you mean" before
        anything is built (a factory with named parameters needs none).
        """
        self._put("guardrail", name, factory, description, options=options)


class TokenCounterRegistrar(_Registrar):
    """Given to ``register_token_counters``."""

    def add(self, name: str, counter: Callable[[str], int], *, models: str, description: str = "") -> None:
        """Register ``counter(text) -> int`` for model strings matching the glob ``models``."""
        self._put("token_counter", name, counter, description, models=models)


class ConfigSectionRegistrar(_Registrar):
    """Given to ``register_config_sections``."""

    def add(self, name: str, schema: Mapping[str, Any], *, description: str = "") -> None:
        """Allow a top-level ``[name]`` table in agentkit.toml, validated by ``schema``."""
        self._put("config_section", name, dict(schema), description)


@attrs.frozen
class Command:
    """A plugin's ``agentkit <name>`` command: how to set up its parser, and how to run it."""

    configure: Callable[[Any], None]
    run: Callable[[Any], int | None]
    help: str = ""


class CommandRegistrar(_Registrar):
    """Given to ``register_commands``."""

    def add(
        self,
        name: str,
        configure: Callable[[Any], None],
        run: Callable[[Any], int | None],
        *,
        help: str = "",
    ) -> None:
        """Register ``agentkit <name>``: ``configure(parser)`` adds its arguments to an
        ``argparse.ArgumentParser``; ``run(args)`` carries it out and returns the exit code.

        Keep both cheap to import: import the command's code inside them.
        """
        self._put("command", name, Command(configure, run, help), help)


# -- building from a factory with the user's options ------------------------------------------------

#: Parameters agentkit passes itself, never options a user gives (``host`` to a guardrail).
_NOT_OPTIONS = frozenset({"host"})


def option_names(entry: Entry[Any], *, skip: Iterable[str] = ()) -> tuple[list[str], bool]:
    """The options ``entry``'s factory takes, and whether it takes others too (``**options``).

    Names declared at registration (``options=``) win; else the factory's signature tells.
    ``skip`` names parameters agentkit passes itself (a provider's ``base_url``).
    """
    declared = entry.extra.get("options")
    if isinstance(declared, str):  # "module:Class": its signature names them (imported only now)
        module_name, _, attr = declared.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:  # the factory reports it when called
            log.debug("cannot read the options of %s %r from %s: %s", entry.kind, entry.name, declared, exc)
            return [], True
        declared = _signature_names(target, _NOT_OPTIONS | set(skip))[0]
    if declared is not None:
        return sorted(set(declared) - set(skip)), False
    return _signature_names(entry.value, _NOT_OPTIONS | set(skip))


def _signature_names(func: Any, skip: Iterable[str]) -> tuple[list[str], bool]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return [], True
    names = [
        n
        for n, p in params.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in skip and not n.startswith("_")
    ]
    return names, any(p.kind is p.VAR_KEYWORD for p in params.values())


def _no_option(entry: Entry[Any], option: str, known: list[str], key_path: str | None) -> ConfigError:
    close = difflib.get_close_matches(option, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(known) if known else "none"
    return ConfigError(
        f"{entry.kind} {entry.name!r} has no option {option!r}{hint}; its options: {listing}",
        key_path=f"{key_path}.{option}" if key_path else option,
    )


def check_options(
    entry: Entry[Any], options: Mapping[str, Any], *, key_path: str | None, skip: Iterable[str] = ()
) -> None:
    """Raise a ConfigError naming the first option ``entry``'s factory does not take, with a
    "did you mean". Without building anything: ``config check`` and ``Agent(...)`` use it."""
    known, open_ended = option_names(entry, skip=skip)
    if open_ended:
        return
    for option in options:
        if option not in known:
            raise _no_option(entry, option, known, key_path)


def build_from(
    entry: Entry[Any], options: Mapping[str, Any], *, key_path: str | None, wrap: bool = True, **extra: Any
) -> Any:
    """``entry.value(**options, **extra)``, with the user's mistakes as ConfigErrors.

    An option the factory does not take is named with a "did you mean", also when the
    factory takes ``**options`` and passes them on (the callee's own parameters are found
    from the error). With ``wrap``, a ``TypeError`` or ``ValueError`` the factory raises
    about a value is reported at ``key_path`` with its message; else it propagates.
    """
    check_options(entry, options, key_path=key_path, skip=extra)
    try:
        return entry.value(**options, **extra)
    except (TypeError, ValueError) as exc:
        found = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
        if found and found.group(1) in options:
            known = option_names(entry, skip=extra)[0] or _callee_names(exc, skip=extra)
            raise _no_option(entry, found.group(1), known, key_path) from exc
        if not wrap:
            raise
        raise ConfigError(f"{entry.kind} {entry.name!r}: {exc}", key_path=key_path) from exc


def _callee_names(exc: BaseException, *, skip: Iterable[str] = ()) -> list[str]:
    """The parameters of the callable a ``**options`` factory passed its options to, found by
    the name Python puts in the error (``Store.__init__() got an unexpected keyword ...``),
    looked up where the failing call was made."""
    found = re.match(r"(\S+?)\(\)", str(exc))
    tb = exc.__traceback__
    if not found or tb is None:
        return []
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    parts = found.group(1).split(".")
    if "<locals>" in parts:  # a class or function defined in a function: found in its frame
        parts = parts[len(parts) - parts[::-1].index("<locals>") :]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    target: Any = frame.f_locals.get(parts[0], frame.f_globals.get(parts[0]))
    for part in parts[1:]:
        target = getattr(target, part, None)
    if target is None:
        return []
    return _signature_names(target, _NOT_OPTIONS | set(skip))[0]
class ExecutorRegistrar(_Registrar):
    """Given to ``register_executors``."""

    def add(self, name: str, factory: Callable[..., Any], *, description: str = "") -> None:
        """Register batch executor ``name``; ``factory(**options)`` returns an agentkit.batch.Executor."""
        self._put("executor", name, factory, description)


REGISTRARS: dict[str, type[_Registrar]] = {
    "register_providers": ProviderRegistrar,
    "register_tools": ToolRegistrar,
    "register_stores": StoreRegistrar,
    "register_memory": MemoryRegistrar,
    "register_guardrails": GuardrailRegistrar,
    "register_token_counters": TokenCounterRegistrar,
    "register_config_sections": ConfigSectionRegistrar,
    "register_commands": CommandRegistrar,
    "register_executors": ExecutorRegistrar,
}
