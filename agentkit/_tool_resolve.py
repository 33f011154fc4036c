"""Turning what an agent names as tools into :class:`~agentkit.tools.Tool` objects.

Tool objects, functions, registered tool or toolset names, ``"package.module:function"``
paths, and ``"prefix:spec"`` strings of a plugin's tool source, in any mix: resolved in
order, without duplicates (public home: :mod:`agentkit.tools`).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ConfigError, ToolDefinitionError, ToolError, UnknownToolError
from .tools import Tool, _make_tool

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .toolsets import Toolset

__all__ = ["ResolvedTools", "as_tool", "resolve_tool_items", "resolve_tools"]


def as_tool(obj: Any) -> Tool:
    """A :class:`Tool` from a Tool, a plain function, or an import path ``"pkg.mod:func"``."""
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, str):
        return _import_tool(obj)
    if callable(obj) and not inspect.isclass(obj):
        return _make_tool(obj)
    raise ToolDefinitionError(
        f"cannot make a tool of {obj!r} ({type(obj).__name__}); "
        "expected a Tool, a function, or an import path 'package.module:function'"
    )


def _import_tool(path: str) -> Tool:
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ToolDefinitionError(f"invalid tool import path {path!r}; expected 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolDefinitionError(f"cannot import tool {path!r}: {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ToolDefinitionError(
                f"cannot import tool {path!r}: {module_name} has no attribute {attr!r}"
            ) from None
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, list | tuple):
        raise ToolDefinitionError(f"{path!r} is a list of tools; name one function")
    return _make_tool(obj)


@attrs.frozen
class ResolvedTools:
    """What an agent's ``tools`` resolve to: plain tools, and toolsets (whose tools are
    known only when they are asked, such as an MCP server's)."""

    tools: list[Tool]
    toolsets: list[Toolset]


def resolve_tools(
    items: Iterable[Any],
    *,
    host: PluginHost | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Tool]:
    """Tools from any mix of Tool objects, functions, registered tool or toolset names, and
    ``"pkg.mod:func"`` paths, in order, without duplicates.

    A name registered with ``add_factory(name, factory, settings_key="files")`` is built as
    ``factory(**settings["files"])``. An unknown name raises
    :class:`~agentkit.errors.UnknownToolError` listing the installed tools; two different
    tools with the same name raise :class:`~agentkit.errors.ToolDefinitionError`. Items that
    are :class:`~agentkit.toolsets.Toolset` objects (or names that resolve to them, such as
    ``"mcp:github"``) need :func:`resolve_tool_items`; here they are an error.
    """
    resolved = resolve_tool_items(items, host=host, settings=settings)
    if resolved.toolsets:
        names = ", ".join(t.name for t in resolved.toolsets)
        raise ToolDefinitionError(
            f"{names} provide tools only when connected; pass them to Agent(tools=...) "
            "(or use agentkit.tools.resolve_tool_items)"
        )
    return resolved.tools


def resolve_tool_items(
    items: Iterable[Any],
    *,
    host: PluginHost | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    sections: Mapping[str, Any] | None = None,
    shared: dict[str, Any] | None = None,
) -> ResolvedTools:
    """:func:`resolve_tools`, also for toolsets: Toolset objects are kept as they are, and a
    string ``"prefix:spec"`` whose prefix a plugin registered as a tool source
    (``registry.add_source("mcp", resolver)``) is resolved by that plugin; other strings with a
    colon are import paths. ``sections`` are the config file's plugin sections (for sources
    configured there) and ``shared`` a dict kept across resolutions of one agent.
    """
    from .toolsets import SourceContext, Toolset

    settings = settings or {}
    out: dict[str, Tool] = {}
    toolsets: list[Toolset] = []
    context: SourceContext | None = None

    def add(t: Tool) -> None:
        existing = out.get(t.name)
        if existing is None:
            out[t.name] = t
        elif existing is not t and existing.function is not t.function:
            where = lambda x: f" (from {x.plugin})" if x.plugin else ""  # noqa: E731
            raise ToolDefinitionError(
                f"two different tools are named {t.name!r}: {_label(existing)}{where(existing)} and "
                f"{_label(t)}{where(t)}; rename one with tool(func, name=...)",
                tool=t.name,
            )

    def add_any(value: Any) -> None:
        if isinstance(value, Toolset):
            if all(value is not t for t in toolsets):
                toolsets.append(value)
        else:
            add(as_tool(value))

    if isinstance(items, str | Tool | Toolset) or callable(items):
        items = [items]
    for item in items:
        if isinstance(item, str) and ":" not in item:
            if host is None:
                from .plugins import get_host

                host = get_host()
            for t in _by_name(item, host, settings, ()):
                add(t)
        elif isinstance(item, str):
            if host is None:
                from .plugins import get_host

                host = get_host()
            prefix, _, spec = item.partition(":")
            sources = host.registry("tool_source")
            if prefix in sources:
                if context is None:
                    context = SourceContext(
                        settings=settings, sections=sections, host=host, shared=shared if shared is not None else {}
                    )
                entry = sources.get(prefix)
                found = entry.value(spec, context)
                for value in found if isinstance(found, list | tuple) else [found]:
                    add_any(value)
            else:
                add(as_tool(item))
        else:
            add_any(item)
    return ResolvedTools(list(out.values()), toolsets)


def _label(t: Tool) -> str:
    return getattr(t.function, "__qualname__", None) or repr(t.function)


def _by_name(
    name: str, host: PluginHost, settings: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...]
) -> list[Tool]:
    tools = host.registry("tool")
    toolsets = host.registry("toolset")
    if name in tools:
        entry = tools.get(name)
        key = entry.extra.get("settings_key")
        options = dict(settings.get(key, {})) if key else {}
        from .registry import build_from

        try:
            built = build_from(entry, options, key_path=f"tool_settings.{key}" if key else None, wrap=False)
        except ConfigError:
            raise  # an option it does not take, or a value it refuses: named at its key path
        except Exception as exc:
            where = f" from tool_settings[{key!r}]" if key else ""
            raise ToolError(
                f"tool {name!r} (plugin {entry.plugin}) could not be built{where}: {type(exc).__name__}: {exc}",
                tool=name,
                hint=f"check the settings under tool_settings.{key}" if key else None,
            ) from exc
        many = list(built) if isinstance(built, list | tuple) else [built]
        result = []
        for item in many:
            t = as_tool(item)
            if len(many) == 1 and t.name != name:
                t = t.renamed(name)
            if t.plugin is None:
                t = t.from_plugin(entry.plugin)
            result.append(t)
        return result
    if name in toolsets:
        if name in seen:
            raise ToolDefinitionError(f"toolset {name!r} includes itself ({' -> '.join((*seen, name))})")
        members = toolsets.get(name).value
        return [t for member in members for t in _by_name(member, host, settings, (*seen, name))]
    known = sorted({*tools.names(), *toolsets.names()})
    close = difflib.get_close_matches(name, known, n=1)
    text = f"unknown tool {name!r}"
    if seen:
        text += f" (in toolset {seen[-1]!r})"
    if close:
        text += f"; did you mean {close[0]!r}?"
    if known:
        listing = ", ".join(f"{n} ({(tools if n in tools else toolsets).get(n).plugin})" for n in known)
        text += f"; installed tools and toolsets: {listing}"
    else:
        text += "; no plugin provides tools"
    raise UnknownToolError(
        text,
        tool=name,
        available=tuple(known),
    )
