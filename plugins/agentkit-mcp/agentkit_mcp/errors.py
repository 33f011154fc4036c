"""The MCP plugin's errors, in agentkit's error tree::

    AgentkitError
    └── ToolError
        └── MCPError               anything an MCP server did wrong (names the server)
            ├── MCPStartError      the server did not start (names the command, stderr tail)
            ├── MCPServerCrashedError  it exited or broke mid-connection (stderr tail)
            └── MCPToolError       the tool answered with isError: the model reads the text
"""

from __future__ import annotations

from agentkit.errors import ToolError

__all__ = ["MCPError", "MCPServerCrashedError", "MCPStartError", "MCPToolError"]


class MCPError(ToolError):
    """An MCP server failed; ``server`` names it."""

    def __init__(self, message: str, *, server: str | None = None, tool: str | None = None, hint: str | None = None):
        super().__init__(message, tool=tool, hint=hint)
        self.server = server


class MCPStartError(MCPError):
    """The server could not be started or did not finish the handshake."""


class MCPServerCrashedError(MCPError):
    """The server exited or the connection broke; it is restarted on the next call."""


class MCPToolError(MCPError):
    """The tool reported an error (``isError``); the text is what the server said."""
