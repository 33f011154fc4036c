"""Toolsets: objects that provide several tools and may own a connection.

An MCP server is the model case: its tools are known only once it is connected, they may
change while it runs (``notifications/tools/list_changed``), and the connection must be
closed when the agent is done. A :class:`Toolset` goes in ``Agent(tools=[...])`` beside
plain tools; the loop asks it for its current tools before every model call
(:meth:`Toolset.list_tools`), and ``agent.close()`` / ``await agent.aclose()`` close it.

Plugins also resolve names into toolsets: ``registry.add_source("mcp", resolver)`` in
``register_tools`` makes ``"mcp:<name>"`` in an agent's ``tools`` mean whatever
``resolver("<name>", context)`` returns (tools, toolsets, or both).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .run_context import RunContext
    from .tools import Tool

__all__ = ["SourceContext", "Toolset", "ToolsetContext"]


@attrs.frozen
class ToolsetContext:
    """What a toolset is told when asked for its tools: the agent, its ``tool_settings``
    (an MCP client advertises the file tools' root as its root), the plugin host, and the
    run asking (``None`` outside a run)."""

    agent: Any = None
    tool_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    host: PluginHost | None = attrs.field(default=None, repr=False)
    run: RunContext | None = attrs.field(default=None, repr=False)


@attrs.frozen
class SourceContext:
    """What a tool source's resolver gets besides the name: the agent's ``tool_settings``,
    the config file's plugin sections (``None`` when the agent was not built from a config
    file), the plugin host, and ``shared``: a dict that lives as long as the agent (or the
    one resolution), so that ``"mcp:x"`` and ``"mcp:x/tool"`` share one connection."""

    settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    sections: Mapping[str, Any] | None = None
    host: PluginHost | None = attrs.field(default=None, repr=False)
    shared: MutableMapping[str, Any] = attrs.field(factory=dict, repr=False)


class Toolset(abc.ABC):
    """Several tools behind one object that may hold a connection (see the module docs).

    Subclasses implement :meth:`list_tools`, and :meth:`aclose` when they hold anything.
    ``async with toolset:`` and ``with toolset:`` close it at the end.
    """

    #: Shown in messages (``"mcp:github"``).
    name: str = "toolset"
    #: How the application asks its user a question on the toolset's behalf (an MCP server's
    #: elicitation): ``ask_user(request)`` with ``request.message`` and ``request.schema``
    #: (JSON Schema of the answer) returns the answer as a dict, or ``None`` to decline.
    #: ``agentkit chat`` sets it to ask at the terminal; ``None``: the toolset cannot ask.
    ask_user: Callable[[Any], Any] | None = None

    @abc.abstractmethod
    async def list_tools(self, ctx: ToolsetContext) -> Sequence[Tool]:
        """The tools as of now. Called before every model call of a run that uses the
        toolset, so keep it cheap: connect on first use, then answer from a cache that is
        refreshed when the tools change."""

    async def check(self, ctx: ToolsetContext) -> None:
        """Check the toolset against what it reaches (``agentkit config check`` calls it for
        every configured agent's toolsets): raise :class:`agentkit.ConfigError` for a mistake
        of configuration, such as a tool name the server does not have, listing what exists.
        The default asks for the tools once; the caller closes the toolset afterwards."""
        await self.list_tools(ctx)

    async def aclose(self) -> None:
        """Release what the toolset holds (a connection, a child process). It may be used
        again afterwards (it reconnects)."""

    def close(self) -> None:
        """:meth:`aclose` from synchronous code."""
        from ._sync import run_sync

        run_sync(self.aclose)

    async def __aenter__(self) -> Toolset:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> Toolset:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def merge_tools(
    static: Mapping[str, Tool], groups: Sequence[tuple[Toolset, Sequence[Tool]]]
) -> dict[str, Tool]:
    """The agent's own tools plus each toolset's; two different tools with one name is an error."""
    from .errors import ToolDefinitionError

    merged = dict(static)
    origin: dict[str, str] = {}
    for toolset, tools in groups:
        for t in tools:
            existing = merged.get(t.name)
            if existing is not None and existing is not t:
                where = origin.get(t.name, "the agent's tools")
                raise ToolDefinitionError(
                    f"two tools are named {t.name!r}: one from {where} and one from {toolset.name}; "
                    "give one toolset a prefix (prefix=...) or exclude the tool",
                    tool=t.name,
                )
            merged[t.name] = t
            origin[t.name] = toolset.name
    return merged
