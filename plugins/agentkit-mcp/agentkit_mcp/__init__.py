"""agentkit-mcp: MCP servers' tools in agentkit agents, and agentkit's tools as an MCP server.

``from agentkit_mcp import MCPServer``; see ``docs/tools/mcp.md``. Names are imported on first
use (PEP 562), so loading the plugin's entry point (``agentkit_mcp.plugin``) does not import
the MCP SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import MCPError, MCPServerCrashedError, MCPStartError, MCPToolError
    from .server import Elicitation, MCPServer

__all__ = ["Elicitation", "MCPError", "MCPServer", "MCPServerCrashedError", "MCPStartError", "MCPToolError"]

_EXPORTS = {
    "Elicitation": "agentkit_mcp.server",
    "MCPServer": "agentkit_mcp.server",
    "MCPError": "agentkit_mcp.errors",
    "MCPServerCrashedError": "agentkit_mcp.errors",
    "MCPStartError": "agentkit_mcp.errors",
    "MCPToolError": "agentkit_mcp.errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit_mcp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
