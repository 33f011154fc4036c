"""``agentkit plugins``, ``agentkit tools`` and ``agentkit models``: what is installed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import AsyncRunner, load_config, print_json, provider_notices, say

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    command = {"plugins": _plugins, "tools": _tools, "models": _models}[args.command]
    return command(args)


# -- plugins ---------------------------------------------------------------------------------


def _plugins(args: argparse.Namespace) -> int:
    from ..plugins import get_host

    infos = get_host().plugins()
    if args.json:
        print_json(
            [
                {
                    "name": i.name,
                    "distribution": i.distribution,
                    "version": i.version,
                    "builtin": i.builtin,
                    "hooks": list(i.hooks),
                    "registered": {k: list(v) for k, v in i.registered.items()},
                    "error": i.error,
                }
                for i in infos
            ]
        )
        return 0
    out = sys.stdout
    for info in infos:
        version = f" {info.version}" if info.version else ""
        origin = " (built in)" if info.builtin else ""
        out.write(f"{info.name}{version}{origin}\n")
        if info.error:
            out.write(f"  error: {info.error}\n")
            continue
        if info.hooks:
            out.write(f"  hooks: {', '.join(info.hooks)}\n")
        for kind, names in sorted(info.registered.items()):
            out.write(f"  {kind}: {', '.join(names)}\n")
    return 0


# -- tools -----------------------------------------------------------------------------------


def _tools(args: argparse.Namespace) -> int:
    from ..plugins import get_host

    host = get_host()
    tools: list[dict[str, Any]] = [
        {
            "name": e.name,
            "plugin": e.plugin,
            "description": _first_line(e.description),
            "settings": e.extra.get("settings_key"),
        }
        for e in host.registry("tool")
    ]
    toolsets: list[dict[str, Any]] = [
        {"name": e.name, "plugin": e.plugin, "tools": list(e.value), "description": _first_line(e.description)}
        for e in host.registry("toolset")
    ]
    sources = _source_tools(args, host)
    if args.json:
        print_json({"tools": tools, "toolsets": toolsets, "sources": sources})
        return 0
    out = sys.stdout
    if not tools and not toolsets and not sources:
        say("no plugin registers tools; `agentkit install agentkit-files` adds file tools")
        return 0
    width = max((len(t["name"]) for t in (*tools, *toolsets)), default=0)
    for t in tools:
        settings = f" [tool_settings.{t['settings']}]" if t["settings"] else ""
        out.write(f"{t['name']:<{width}}  {t['description']}{settings}  ({t['plugin']})\n")
    if toolsets:
        out.write("\ntoolsets:\n")
        for s in toolsets:
            out.write(f"{s['name']:<{width}}  {', '.join(s['tools'])}  ({s['plugin']})\n")
    for source in sources:
        out.write(f"\n{source['name']} ({source['plugin']}):\n")
        if source.get("error"):
            out.write(f"  error: {source['error']}\n")
        inner = max((len(t["name"]) for t in source["tools"]), default=0)
        for t in source["tools"]:
            out.write(f"  {t['name']:<{inner}}  {_first_line(t.get('description'))}".rstrip() + "\n")
    return 0


def _source_tools(args: argparse.Namespace, host: Any) -> list[dict[str, Any]]:
    """Tools that plugins' tool sources offer (an MCP server's), as their listers tell."""
    listers = [e for e in host.registry("tool_source") if e.extra.get("lister") is not None]
    if not listers:
        return []
    sections = load_config(args).sections
    found: list[dict[str, Any]] = []
    for entry in listers:
        for group in entry.extra["lister"](sections, host):
            found.append({"plugin": entry.plugin, **group})
    return found


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


# -- models ----------------------------------------------------------------------------------


def _models(args: argparse.Namespace) -> int:
    """Models of the providers named, else of those set up (configured, or with their key set)
    and of those that need no key (local models). A configured or named provider that fails is
    reported on its own line; local servers that are not running are named together."""
    import os

    from ..errors import AgentkitError, PluginError, ProviderConnectionError

    config = load_config(args)
    registry = config.get_host().registry("provider")
    asked = list(args.providers)
    for name in asked:
        if name not in registry:
            raise PluginError(registry.unknown_message(name))
    if asked:
        names, chosen = asked, set(asked)
    else:
        chosen = {
            e.name
            for e in registry
            if e.name in config.providers or (e.extra.get("env_var") and os.environ.get(e.extra["env_var"]))
        }
        keyless = {e.name for e in registry if not e.extra.get("env_var")}
        names = sorted(chosen | keyless)
    provider_notices(config, names)
    found: list[dict[str, Any]] = []
    failures: list[str] = []
    not_running: list[str] = []
    with AsyncRunner() as runner:
        for name in names:
            try:
                provider = config.provider(name)
            except AgentkitError as exc:
                failures.append(_about(name, exc))
                continue
            if not provider.capabilities.list_models:
                if name in chosen:
                    failures.append(f"provider {name!r} cannot list its models")
                runner.run(provider.aclose())
                continue
            try:
                models = runner.run(_list(provider))
            except ProviderConnectionError as exc:
                if name in chosen:
                    failures.append(_about(name, exc))
                else:  # a local server the user never set up: not an error, just not there
                    base_url = getattr(provider, "base_url", None) or registry.get(name).extra.get("base_url")
                    not_running.append(f"{name} ({base_url})" if base_url else name)
                continue
            except AgentkitError as exc:
                failures.append(_about(name, exc))
                continue
            for m in models:
                found.append({"id": f"{name}/{m.id}", "provider": name, "context_window": m.context_window})
    if args.json:
        print_json(found)
    else:
        for m in found:
            window = f"  ({m['context_window']} tokens)" if m["context_window"] else ""
            sys.stdout.write(f"{m['id']}{window}\n")
    for line in failures:
        say(f"agentkit: {line}")
    if not_running:
        say(f"agentkit: not running here: {', '.join(not_running)}")
    if failures and not found:
        from ..errors import ProviderError

        raise ProviderError("no provider could list its models", hint="see the lines above")
    if not found and not failures:
        say(
            "agentkit: no models found: no local model is installed, and no provider is configured or has its "
            "key set (`agentkit models PROVIDER` asks one)"
        )
    return 0


def _about(name: str, exc: Exception) -> str:
    """An error about provider ``name``, one line, naming the provider once."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    first = text.split(":", 1)[0].split("/", 1)[0].strip()
    return text if first == name or text.startswith(f"provider {name!r}") else f"{name}: {text}"


async def _list(provider: Any) -> list[Any]:
    try:
        return list(await provider.list_models())
    finally:
        await provider.aclose()
