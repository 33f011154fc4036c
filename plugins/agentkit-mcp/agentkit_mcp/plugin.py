"""agentkit-mcp's hook implementations (the ``agentkit`` entry point). Code lives beside it
and is imported when first used: loading the plugin does not import the MCP SDK."""

from __future__ import annotations

import argparse
from typing import Any

from agentkit import hookimpl

__all__ = ["configure", "register_commands", "register_config_sections", "register_tools"]


def _resolve(spec: str, context: Any) -> Any:
    from .config import resolve

    return resolve(spec, context)


def _lister(sections: Any, host: Any) -> list[dict[str, Any]]:
    from .cli import source_listing

    return source_listing(sections, host)


@hookimpl
def register_tools(registry: Any) -> None:
    """``"mcp:<server>"`` and ``"mcp:<server>/<tool>"`` in an agent's tools."""
    registry.add_source(
        "mcp", _resolve, description="tools of the MCP servers in [mcp.servers.<name>]", lister=_lister
    )


@hookimpl
def register_config_sections(registry: Any) -> None:
    """The ``[mcp]`` table: ``[mcp.servers.<name>]``."""
    from .config import SCHEMA

    registry.add("mcp", SCHEMA, description="MCP servers agents use as 'mcp:<name>'")


def _configure(parser: argparse.ArgumentParser) -> None:
    from .cli import configure

    configure(parser)


def _run(args: argparse.Namespace) -> int:
    from .cli import run

    return run(args)


@hookimpl
def register_commands(registry: Any) -> None:
    """``agentkit mcp list`` and ``agentkit mcp serve``."""
    registry.add("mcp", _configure, _run, help="List configured MCP servers, or serve agentkit tools over MCP.")


@hookimpl
def configure(config: Any) -> None:
    """An agent naming an MCP server that is not configured is an error when the file loads."""
    from .config import check_names

    check_names(config)
