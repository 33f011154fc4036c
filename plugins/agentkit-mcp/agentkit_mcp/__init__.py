"""agentkit-mcp: MCP servers' tools in agentkit agents, and agentkit's tools as an MCP server.

``from agentkit_mcp import MCPServer``; see ``docs/tools/mcp.md``. Names are imported on first
use (PEP 562), so loading the plugin's entry point (``agentkit_mcp.plugin``) does not import
the MCP SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
