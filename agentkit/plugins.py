"""The plugin host: one pluggy manager, built on first use, and the registries it fills.

Loading order: the hookspecs, then the built-in plugins of :mod:`agentkit.default_plugins`,
then installed distributions' ``agentkit`` entry points sorted by distribution name.

- ``AGENTKIT_LOAD_PLUGINS=a,b`` loads only the installed distributions named (empty: none;
  built-ins always load unless disabled).
- ``AGENTKIT_DISABLE_PLUGINS=x,y`` blocks plugins by distribution name, entry-point name or
  built-in name (``guardrails``).

A plugin that fails to import, implements a hook that does not exist, or whose registration
hook raises, is reported by name as a :class:`~agentkit.registry.PluginWarning` and left out
(nothing it registered is kept); everything else keeps working. ``AGENTKIT_LOAD_PLUGINS``
naming a distribution that is not installed is reported the same way, listing what is.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._plugin_diagnostics import failure_place, undecorated_hooks
from .errors import PluginError
from .registry import KINDS, REGISTRARS, PluginWarning, Registry

__all__ = ["PluginHost", "PluginInfo", "get_host", "list_plugins", "set_host"]


ENTRY_POINT_GROUP = "agentkit"

#: Built-in plugins, registered through the same hooks as third-party ones.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "agentkit.default_plugins.guardrails",
    "agentkit.default_plugins.stores",
    "agentkit.default_plugins.memory",
    "agentkit.default_plugins.tokens",
    "agentkit.default_plugins.testing",
    "agentkit.default_plugins.batch",
)


@attrs.frozen
class PluginInfo:
    """What ``agentkit plugins`` shows about one plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    registered: Mapping[str, tuple[str, ...]]
    builtin: bool = False
    error: str | None = None


def _split_env(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [p.strip() for p in value.split(",") if p.strip()]


class PluginHost:
    """A plugin manager and the registries its plugins filled.

    Tests build their own with ``PluginHost(entry_points=False)`` and register ad-hoc
    plugins with :meth:`register` before the registries are first read.
    """

    def __init__(
        self,
        *,
        entry_points: bool = True,
        defaults: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.pm = pluggy.PluginManager("agentkit")
        self.pm.add_hookspecs(hookspecs)
        # Lifecycle calls nothing implements are skipped, unless hook calls are monitored
        # (add_hookcall_monitoring replaces this): then pluggy makes them, to be seen.
        self.unmonitored_hookexec = self.pm._inner_hookexec
        self._lock = threading.RLock()
        self._registries: dict[str, Registry[Any]] | None = None
        self._dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._builtin: set[str] = set()
        self.failures: dict[str, str] = {}  # plugin or distribution name -> error summary
        self.errors: dict[str, BaseException] = {}  # the exceptions behind failures, for --debug
        self._only = _split_env(env.get("AGENTKIT_LOAD_PLUGINS"))
        self._blocked = set(_split_env(env.get("AGENTKIT_DISABLE_PLUGINS")) or ())
        # Plugins that extend agentkit's hooks with their own get called as they register.
        self.pm.hook.add_hookspecs.call_historic(kwargs={"plugin_manager": self.pm})
        if defaults:
            for module_name in DEFAULT_PLUGINS:
                short = module_name.rsplit(".", 1)[-1]
                if {short, module_name, "agentkit:" + short} & self._blocked:
                    continue
                try:
                    self.pm.register(importlib.import_module(module_name), name=module_name)
                except Exception as exc:
                    self._report("agentkit:" + short, f"failed to load ({type(exc).__name__}: {exc})")
                    continue
                self._builtin.add(module_name)
        if entry_points:
            self._load_entry_points()
        for plugin_name in list(self._plugin_order()):
            problem = self._unknown_hooks(plugin_name)
            if problem:
                shown = self.display_name(plugin_name)
                self.pm.unregister(name=plugin_name)
                self._builtin.discard(plugin_name)
                self._report(shown, problem)

    # -- loading ----------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        found = []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else ep.name
            version = dist.version if dist is not None else ""
            found.append((_normalize(dist_name), ep.name, dist_name, version, ep))
        found.sort(key=lambda t: (t[0], t[1]))
        if self._only is not None:
            wanted = {_normalize(n): n for n in self._only}
            missing = sorted(set(wanted) - {norm for norm, *_ in found})
            if missing:
                installed = sorted({dist_name for _, _, dist_name, _, _ in found})
                for norm in missing:
                    self._report(
                        wanted[norm],
                        "is named in AGENTKIT_LOAD_PLUGINS but is not installed "
                        f"(installed: {', '.join(installed) or 'none'})",
                    )
        blocked = {_normalize(b) for b in self._blocked} | self._blocked
        for norm, ep_name, dist_name, version, ep in found:
            if self._only is not None and norm not in {_normalize(n) for n in self._only}:
                continue
            if {norm, ep_name, dist_name} & blocked:
                continue
            name = ep_name
            if self.pm.has_plugin(name):  # two distributions chose the same entry-point name
                name = f"{dist_name}:{ep_name}"
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take the program down
                place = failure_place(exc, ep.module.split(".")[0])
                where = f", at {place}" if place else ""
                self._report(dist_name, f"failed to import ({type(exc).__name__}: {exc}{where})", exc)
                continue
            try:
                self.pm.register(plugin, name=name)
            except Exception as exc:
                self._report(dist_name, f"could not be registered ({type(exc).__name__}: {exc})", exc)
                continue
            self._dists[name] = (dist_name, version)
            self._check_decorated(plugin, dist_name)

    def _unknown_hooks(self, plugin_name: str) -> str | None:
        """Why a plugin cannot be used: it implements hooks no spec declares (a typo)."""
        plugin = self.pm.get_plugin(plugin_name)
        unknown = sorted(
            caller.name
            for caller in self.pm.get_hookcallers(plugin) or ()
            if caller.spec is None
            and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls())
        )
        if not unknown:
            return None
        return f"implements unknown hook(s) {', '.join(unknown)} (see docs/plugins.md for the hooks)"

    def _check_decorated(self, plugin: object, shown: str) -> None:
        """Warn about functions named like hooks that pluggy ignores (no ``@hookimpl``)."""
        names = undecorated_hooks(plugin, vars(self.pm.hook), f"{self.pm.project_name}_impl")
        if names:
            listed = ", ".join(names)
            self._warn(
                f"agentkit plugin {shown!r} defines {listed} without @agentkit.hookimpl, so agentkit never "
                f"calls {'it' if len(names) == 1 else 'them'} (decorate each hook with @agentkit.hookimpl)",
                shown,
            )

    def _report(self, name: str, problem: str, error: BaseException | None = None) -> None:
        """A plugin is left out: recorded once in ``failures``, told once as a PluginWarning."""
        if self.failures.get(name) == problem:
            return
        self.failures[name] = problem
        if error is not None:
            self.errors[name] = error
        self._warn(f"agentkit plugin {name!r} {problem}; it is left out", name, error)

    def _warn(self, text: str, name: str, error: BaseException | None = None) -> None:
        # A warning only, not also a log line: each problem is told once.
        warnings.warn(PluginWarning(text, plugin=name, error=error), stacklevel=4)

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object or module; raises PluginError if it implements unknown hooks.

        Registered after the registries were first read, its ``register_*`` hooks run at once.
        """
        with self._lock:
            registered = self.pm.register(plugin, name=name)
            if registered is None:
                raise PluginError(f"plugin {name!r} is blocked", plugin=name)
            problem = self._unknown_hooks(registered)
            if problem:
                self.pm.unregister(name=registered)
                raise PluginError(f"plugin {registered!r} {problem}", plugin=registered)
            self._check_decorated(plugin, registered)
            if self._registries is not None:
                self._collect_from(registered, self._registries)
            return registered

    # -- registries -------------------------------------------------------------------------

    def registry(self, kind: str) -> Registry[Any]:
        """The registry of ``kind`` (``"provider"``, ``"tool"``, ``"store"``, ...)."""
        if kind not in KINDS:
            raise KeyError(f"unknown registry kind {kind!r}; kinds: {', '.join(KINDS)}")
        return self._all_registries()[kind]

    def _all_registries(self) -> dict[str, Registry[Any]]:
        registries = self._registries
        if registries is None:
            with self._lock:
                if self._registries is None:
                    # Filled before it is published: another thread never sees half the plugins.
                    fresh: dict[str, Registry[Any]] = {kind: Registry(kind) for kind in KINDS}
                    for plugin_name in self._plugin_order():
                        self._collect_from(plugin_name, fresh)
                    self._registries = fresh
                registries = self._registries
        return registries

    def _plugin_order(self) -> list[str]:
        names = [n for n, _ in self.pm.list_name_plugin() if n is not None]
        builtins = [n for n in names if n in self._builtin]
        return builtins + [n for n in names if n not in self._builtin]

    def _collect_from(self, plugin_name: str, registries: dict[str, Registry[Any]]) -> None:
        """Run a plugin's register hooks; keep what they registered only if every one succeeds."""
        plugin = self.pm.get_plugin(plugin_name)
        staged = []
        for hook_name, registrar_cls in REGISTRARS.items():
            impl = _impl_of(self.pm, hook_name, plugin)
            if impl is None:
                continue
            registrar = registrar_cls(registries, self.display_name(plugin_name), staged=True)
            try:
                impl(registry=registrar)
            except Exception as exc:
                place = failure_place(exc, _package_of(plugin))
                where = f", at {place}" if place else ""
                self._report(
                    self.display_name(plugin_name), f"failed in {hook_name} ({type(exc).__name__}: {exc}{where})", exc
                )
                return
            staged.append(registrar)
        for registrar in staged:
            registrar._commit()

    def display_name(self, plugin_name: str) -> str:
        """A plugin's distribution name when installed, else its short built-in name."""
        if plugin_name in self._dists:
            return self._dists[plugin_name][0]
        if plugin_name in self._builtin:
            return "agentkit:" + plugin_name.rsplit(".", 1)[-1]
        return plugin_name

    # -- introspection ----------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin: distribution, version, hooks implemented, and what it registered."""
        registries = self._all_registries()
        infos = []
        for plugin_name in self._plugin_order():
            plugin = self.pm.get_plugin(plugin_name)
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            shown = self.display_name(plugin_name)
            registered = {
                kind: tuple(reg.by_plugin(shown)) for kind, reg in registries.items() if reg.by_plugin(shown)
            }
            dist, version = self._dists.get(plugin_name, (None, None))
            if plugin_name in self._builtin:
                dist, version = "agentkit", _version("agentkit")
            infos.append(
                PluginInfo(
                    name=shown,
                    distribution=dist,
                    version=version,
                    hooks=hooks,
                    registered=registered,
                    builtin=plugin_name in self._builtin,
                    error=self.failures.get(shown),
                )
            )
        for name, problem in sorted(self.failures.items()):
            if not any(i.name == name for i in infos):
                infos.append(PluginInfo(name, name, _version(name), (), {}, error=problem))
        return infos


def _impl_of(pm: pluggy.PluginManager, hook_name: str, plugin: object) -> Callable[..., Any] | None:
    caller = getattr(pm.hook, hook_name, None)
    if caller is None:
        return None
    for impl in caller.get_hookimpls():
        if impl.plugin is plugin:
            return impl.function
    return None


def _package_of(plugin: object) -> str:
    """The top-level package a plugin object (a module, or an instance) comes from."""
    module = getattr(plugin, "__name__", None) if inspect.ismodule(plugin) else type(plugin).__module__
    return str(module or "").split(".")[0]


def _normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process's plugin host, built on first call."""
    global _host
    host = _host
    if host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
            host = _host
    return host


def set_host(host: PluginHost | None) -> PluginHost | None:
    """Replace the process's plugin host (``None``: rebuild on next use). Returns the old one."""
    global _host
    with _host_lock:
        old, _host = _host, host
    return old


def list_plugins() -> list[PluginInfo]:
    """Every loaded plugin with its distribution, version, hooks and registrations."""
    return get_host().plugins()
