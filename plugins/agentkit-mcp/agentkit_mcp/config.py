"""``[mcp.servers.<name>]`` in ``agentkit.toml``, and ``"mcp:<name>"`` / ``"mcp:<name>/<tool>"``
in an agent's ``tools``.

::

    [mcp.servers.time]
    command = "python"
    args = ["-m", "mcp_server_time", "--local-timezone", "UTC"]

    [mcp.servers.docs]
    url = "http://127.0.0.1:8000/mcp"
    headers = { Authorization = "Bearer ${DOCS_TOKEN}" }
    prefix = "docs_"

    [agents.helper]
    model = "openai/gpt-4o-mini"
    tools = ["mcp:time", "mcp:docs/search"]

``${VAR}`` references are filled by agentkit's config loader. This module imports neither
the MCP SDK nor the server code until a server is built.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from agentkit.errors import ConfigError

__all__ = ["SCHEMA", "build_server", "check_names", "configured_servers", "resolve"]

_STRINGS = {"type": "array", "items": {"type": "string"}}
_SERVER = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "minLength": 1, "description": "the server's executable (stdio)"},
        "args": _STRINGS,
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "cwd": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://", "description": "a Streamable HTTP endpoint"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "include": _STRINGS,
        "exclude": _STRINGS,
        "prefix": {"type": "string"},
        "tool_timeout": {"type": "number", "exclusiveMinimum": 0},
        "connect_timeout": {"type": "number", "exclusiveMinimum": 0},
        "sampling_model": {"type": "string", "pattern": "^[^/]+/.+"},
        "roots": _STRINGS,
        "resources_as_tools": {"type": "boolean"},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["command"], "not": {"required": ["url"]}}, {"required": ["url"], "not": {"required": ["command"]}}],
}

#: The JSON Schema of the ``[mcp]`` table.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"servers": {"type": "object", "additionalProperties": _SERVER}},
    "additionalProperties": False,
}

_STDIO_ONLY = ("command", "args", "env", "cwd")
_HTTP_ONLY = ("url", "headers")


def configured_servers(sections: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The ``[mcp.servers]`` tables of a config's plugin sections."""
    table = (sections or {}).get("mcp") or {}
    return dict(table.get("servers") or {})


def check_names(config: Any) -> None:
    """Every ``"mcp:<name>"`` in an agent's or a profile's ``tools`` names a configured server
    (checked when the file loads; tool names need the server running: ``agentkit config check``
    starts each agent's servers and checks them)."""
    servers = configured_servers(config.sections)
    problems: list[ConfigError] = []
    for kind in ("agents", "profiles"):
        tables = config.data.get(kind)
        for table_name, table in (tables or {}).items() if isinstance(tables, Mapping) else ():
            tools = table.get("tools") if isinstance(table, Mapping) else None
            for index, item in enumerate(tools if isinstance(tools, list) else ()):
                if not isinstance(item, str) or not item.startswith("mcp:"):
                    continue
                name = item[4:].partition("/")[0]
                if name not in servers:
                    problems.append(
                        ConfigError(
                            _unknown_server(name, servers),
                            file=config.file,
                            key_path=f"{kind}.{table_name}.tools[{index}]",
                            hint=_HINT,
                        )
                    )
    if problems:
        first = problems[0]
        if len(problems) > 1:
            first.more = problems[1:]  # type: ignore[attr-defined]  # `agentkit config check` lists them all
        raise first


_HINT = "add [mcp.servers.NAME] with command = ... or url = ... (see docs/tools/mcp.md)"


def _unknown_server(name: str, servers: Mapping[str, Any]) -> str:
    known = sorted(servers)
    text = f"no MCP server named {name!r}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    return text + (f"; configured: {', '.join(known)}" if known else "; agentkit.toml has no [mcp.servers.<name>] tables")


def build_server(name: str, table: Mapping[str, Any], *, plugin_host: Any = None) -> Any:
    """An :class:`~agentkit_mcp.MCPServer` from a ``[mcp.servers.<name>]`` table."""
    from .server import MCPServer

    options = {k: v for k, v in table.items() if k not in _STDIO_ONLY + _HTTP_ONLY}
    options["plugin_host"] = plugin_host
    if "command" in table:
        return MCPServer.stdio(
            table["command"], args=table.get("args", ()), env=table.get("env"), cwd=table.get("cwd"), name=name, **options
        )
    if "url" in table:
        return MCPServer.http(table["url"], headers=table.get("headers"), name=name, **options)
    raise ConfigError(f"MCP server {name!r} needs command (stdio) or url (Streamable HTTP)", key_path=f"mcp.servers.{name}")


def resolve(spec: str, context: Any) -> Any:
    """``"mcp:<name>"`` (all its tools) or ``"mcp:<name>/<tool>"`` (one): the server's toolset,
    one per agent, shared by every name that points at it."""
    name, _, tool = spec.partition("/")
    sections = context.sections
    if sections is None:  # an agent built in Python: the config file it would have used
        from agentkit.config import load_config

        sections = load_config(host=context.host).sections
    servers = configured_servers(sections)
    if name not in servers:
        raise ConfigError(_unknown_server(name, servers), hint=_HINT)
    key = f"mcp:{name}"
    server = context.shared.get(key)
    if server is None:
        server = context.shared[key] = build_server(name, servers[name], plugin_host=context.host)
        server._wanted = set()  # tools named one by one ("mcp:x/tool")
        server._configured_include = server.include
        server._all = False
    if tool:
        server._wanted.add(tool)
    else:
        server._all = True
    include = server._configured_include
    if not server._all:
        named = sorted(server._wanted)
        include = named if include is None else [n for n in named if n in include] + [
            n for n in named if n not in include
        ]
    if include != server.include:
        server.include = None if include is None else tuple(include)
        server._listed = None
    return server
