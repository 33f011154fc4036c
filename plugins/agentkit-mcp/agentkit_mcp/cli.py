"""``agentkit mcp``: ``list`` the configured servers (does each start? its tools), and
``serve`` agentkit tools to MCP clients over stdio or Streamable HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

__all__ = ["configure", "probe", "run", "source_listing"]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    listing = sub.add_parser("list", help="configured MCP servers: whether each starts, and its tools")
    listing.add_argument("names", nargs="*", metavar="SERVER", help="only these servers")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each server (default 30)")
    serve = sub.add_parser(
        "serve",
        help="serve agentkit tools to MCP clients",
        description="Serve agentkit tools over MCP: on stdin/stdout (default) or Streamable HTTP.",
    )
    which = serve.add_mutually_exclusive_group(required=True)
    which.add_argument("--tools", metavar="NAMES", help="comma-separated tool or toolset names (read,grep,web_fetch)")
    which.add_argument("-a", "--agent", metavar="AGENT", help="serve this configured agent's tools")
    serve.add_argument(
        "--tool-setting",
        dest="tool_settings",
        action="append",
        default=[],
        metavar="KEY.NAME=VALUE",
        help="a tool setting such as files.root=./docs (JSON values; repeatable)",
    )
    serve.add_argument("--http", metavar="[HOST:]PORT", help="serve Streamable HTTP at http://HOST:PORT/mcp (host 127.0.0.1)")
    serve.add_argument("--timeout", type=float, default=60.0, help="seconds a tool call may take (default 60)")


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "serve": _serve}[args.action](args)


# -- list ------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from agentkit.cli._common import load_config
    from agentkit.errors import ConfigError

    from .config import configured_servers

    config = load_config(args)
    servers = configured_servers(config.sections)
    names = list(args.names) or sorted(servers)
    unknown = [n for n in names if n not in servers]
    if unknown:
        known = ", ".join(sorted(servers)) or "none"
        raise ConfigError(f"no MCP server named {unknown[0]!r}; configured: {known}", file=config.file)
    if not names:
        sys.stderr.write("no MCP servers are configured; add [mcp.servers.NAME] to agentkit.toml (docs/tools/mcp.md)\n")
        return 0

    rows = asyncio.run(probe(servers, names, config.get_host(), args.timeout))
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        for row in rows:
            state = f"ok, {len(row['tools'])} tool(s)" if row["ok"] else "FAILED"
            sys.stdout.write(f"{row['name']}  ({row['transport']}: {row['target']})  {state}\n")
            if not row["ok"]:
                sys.stdout.write(f"  error: {row['error']}\n")
            for t in row["tools"]:
                sys.stdout.write(f"  {t['name']}  {t['description']}".rstrip() + "\n")
    return 0 if all(r["ok"] for r in rows) else 8


async def probe(
    servers: dict[str, Any], names: list[str], host: Any, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Start each named server, list its tools, stop it: one row per server (``ok``, ``error``)."""
    from .config import build_server

    async def one(name: str) -> dict[str, Any]:
        server = build_server(name, {**servers[name], "connect_timeout": timeout}, plugin_host=host)
        row: dict[str, Any] = {"name": name, "transport": server.transport.kind, "target": server.transport.describe()}
        try:
            tools = await server.list_tools()
            row.update(ok=True, tools=[{"name": t.name, "description": _first_line(t.description)} for t in tools])
        except Exception as exc:
            row.update(ok=False, error=" ".join(str(exc).split()), tools=[])
        finally:
            await server.aclose()
        return row

    return list(await asyncio.gather(*(one(n) for n in names)))


def source_listing(sections: Any, host: Any) -> list[dict[str, Any]]:
    """What ``agentkit tools`` shows for the configured servers."""
    from .config import configured_servers

    servers = configured_servers(sections)
    rows = asyncio.run(probe(servers, sorted(servers), host)) if servers else []
    return [{"name": f"mcp:{r['name']}", "tools": r["tools"], "error": r.get("error")} for r in rows]


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


# -- serve -----------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from agentkit.cli._exit import UsageFailure

    host, port = "127.0.0.1", None
    if args.http:
        text = args.http
        if ":" in text:
            host, _, text = text.rpartition(":")
            host = host.strip("[]")
        try:
            port = int(text)
        except ValueError:
            raise UsageFailure(f"--http takes [HOST:]PORT, got {args.http!r}", hint="for example --http 127.0.0.1:8765") from None
    tools, toolsets, agent = _tools(args)
    return asyncio.run(_serve_async(tools, toolsets, agent, host, port, args.timeout))


async def _serve_async(tools: list[Any], toolsets: list[Any], agent: Any, host: str, port: int | None, timeout: float) -> int:
    from agentkit.toolsets import ToolsetContext

    from .serve import serve_http, serve_stdio

    try:
        if toolsets:
            context = ToolsetContext(agent=agent, tool_settings=getattr(agent.settings, "tool_settings", None) or {})
            for toolset in toolsets:
                tools.extend(await toolset.list_tools(context))
        if port is None:
            await serve_stdio(tools, timeout=timeout)
        else:
            if host not in ("127.0.0.1", "localhost", "::1"):
                sys.stderr.write(f"agentkit: note: serving on {host}, not only this machine: anyone who reaches it can call the tools\n")
            sys.stderr.write(f"agentkit: serving {len(tools)} tool(s) at http://{host}:{port}/mcp\n")
            await serve_http(tools, host=host, port=port, timeout=timeout)
    finally:
        for toolset in toolsets:
            await toolset.aclose()
    return 0


def _tools(args: argparse.Namespace) -> tuple[list[Any], list[Any], Any]:
    from agentkit.cli._common import load_config, parse_params
    from agentkit.cli._exit import UsageFailure
    from agentkit.tools import resolve_tool_items

    settings: dict[str, dict[str, Any]] = {}
    for key, value in parse_params(args.tool_settings).items():
        table, dot, name = key.partition(".")
        if not dot or not table or not name:
            raise UsageFailure(f"--tool-setting takes TABLE.NAME=VALUE, got {key!r}", hint="for example files.root=./docs")
        settings.setdefault(table, {})[name] = value
    if args.agent:
        config = load_config(args)
        agent = config.agent(args.agent)
        merged = {k: dict(v) for k, v in (agent.settings.tool_settings or {}).items()}
        for table, values in settings.items():
            merged.setdefault(table, {}).update(values)
        resolved = resolve_tool_items(agent.settings.tools, host=config.get_host(), settings=merged, sections=config.sections)
        return list(resolved.tools), list(resolved.toolsets), agent
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    if not names:
        raise UsageFailure("--tools names no tool", hint="for example --tools read,grep")
    if settings:
        from agentkit._config_schema import tool_settings_problem
        from agentkit.plugins import get_host

        problem = tool_settings_problem(settings, get_host())
        if problem is not None:
            raise UsageFailure(f"--tool-setting {problem[0]}: {problem[1]}")
    resolved = resolve_tool_items(names, settings=settings)
    return list(resolved.tools), list(resolved.toolsets), None
