"""Serving agentkit tools to any MCP client: ``agentkit mcp serve``.

Any tool an agentkit plugin registers (or any tool of a configured agent, MCP servers' tools
included) becomes an MCP tool: its JSON Schema is the ``inputSchema``, arguments are checked
against it before the call (an error result names what is wrong, ``message @ $.path``), the
result is text (images as image content), an exception is an ``isError`` result, and
``ctx.report_progress`` in a tool becomes ``notifications/progress`` when the client asked for
progress. Transports: stdio, or Streamable HTTP on 127.0.0.1 by default.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from agentkit import ImagePart, RunContext, Tool, ToolCall
from agentkit.errors import ToolArgumentsError, ToolTimeoutError
from agentkit.run_context import tool_call_scope
from agentkit.tools import render_result

__all__ = ["build_server", "serve_http", "serve_stdio"]

log = logging.getLogger("agentkit.mcp.serve")

#: Results longer than this many characters are cut (like an agent's tool results).
RESULT_LIMIT = 50_000


def build_server(tools: Sequence[Tool], *, name: str = "agentkit", timeout: float | None = 60.0) -> Any:
    """An MCP server (the SDK's low-level ``Server``) exposing ``tools``."""
    import mcp_types as types
    from mcp.server.lowlevel.server import Server

    from agentkit import __version__

    by_name = {t.name: t for t in tools}

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description, input_schema=dict(t.parameters))
                for t in by_name.values()
            ]
        )

    async def call_tool(ctx: Any, params: Any) -> Any:
        tool = by_name.get(params.name)
        if tool is None:
            listing = ", ".join(sorted(by_name)) or "none"
            return _error(f"unknown tool {params.name!r}; the tools: {listing}")
        try:
            arguments = tool.validate(dict(params.arguments or {}))
        except ToolArgumentsError as exc:
            return _error("invalid arguments:\n" + "\n".join(f"- {e}" for e in exc.errors))
        call = ToolCall(id=str(ctx.request_id or uuid.uuid4().hex), name=tool.name, arguments="")
        run = RunContext(agent=None, run_id=uuid.uuid4().hex, model="mcp")
        meta = ctx.meta or {}
        token = meta.get("progress_token", meta.get("progressToken")) if isinstance(meta, dict) else None
        if token is not None:
            session = ctx.session

            async def emit(event: Any) -> None:
                if getattr(event, "type", None) == "tool_progress":
                    await session.send_progress_notification(
                        token, event.progress, event.total, event.message, related_request_id=ctx.request_id
                    )

            run._emit = emit
        limit = tool.timeout if tool.timeout is not None else timeout
        try:
            with tool_call_scope(call):
                value = await tool._invoke(arguments, run, limit)
        except ToolTimeoutError as exc:
            return _error(str(exc))
        except ToolArgumentsError as exc:
            return _error("invalid arguments:\n" + "\n".join(f"- {e}" for e in exc.errors))
        except Exception as exc:
            return _error(f"{type(exc).__name__}: {exc}")
        return types.CallToolResult(content=_content(value))

    return Server(name, version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)


def _error(text: str) -> Any:
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _content(value: Any) -> list[Any]:
    import mcp_types as types

    items = value if isinstance(value, list | tuple) and any(isinstance(v, ImagePart) for v in value) else [value]
    if isinstance(value, ImagePart):
        items = [value]
    content: list[Any] = []
    for item in items:
        if isinstance(item, ImagePart) and (item.url is None or item.url.startswith("data:")):
            data, media_type = item.load()
            content.append(types.ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mime_type=media_type))
        else:
            shown = item.url if isinstance(item, ImagePart) else item
            content.append(types.TextContent(type="text", text=render_result(shown, limit=RESULT_LIMIT)))
    return content


async def serve_stdio(tools: Sequence[Tool], *, timeout: float | None = 60.0) -> None:
    """Serve ``tools`` on this process's stdin/stdout until the client disconnects."""
    from mcp.server.stdio import stdio_server

    server = build_server(tools, timeout=timeout)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(
    tools: Sequence[Tool], *, host: str = "127.0.0.1", port: int = 8000, timeout: float | None = 60.0, ready: Any = None
) -> None:
    """Serve ``tools`` over Streamable HTTP at ``http://host:port/mcp`` until cancelled."""
    import uvicorn

    server = build_server(tools, timeout=timeout)
    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    userver = uvicorn.Server(config)
    if ready is not None:
        ready(userver)
    await userver.serve()
