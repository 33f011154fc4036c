"""``agentkit config check|show|path``.

``check`` validates the file and builds every agent, listing every problem (not only the
first); ``show`` prints the config as agentkit uses it (profiles merged into agents,
``${VAR}`` filled in) with secrets masked; ``path`` says which file is used and why.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ConfigError
from ._common import load_config, print_json, say

__all__ = ["check_toolsets", "run", "to_toml"]


def run(args: argparse.Namespace) -> int:
    return {"check": _check, "show": _show, "path": _path}[args.action](args)


def _path(args: argparse.Namespace) -> int:
    from ..config import find_config

    path, source = find_config(args.config)
    if path is None:
        say("no config file: looked for ./agentkit.toml and $AGENTKIT_HOME/agentkit.toml ($AGENTKIT_CONFIG is unset)")
        return 0
    sys.stdout.write(f"{path}\n")
    say(f"({source} config)")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args)
    except ConfigError as exc:
        problems = [exc, *getattr(exc, "more", ())]
        for problem in problems:
            _print_problem(problem)
        raise ConfigError(
            f"{len(problems)} problem(s) in the config", file=exc.file, hint=problems[0].hint
        ) from None
    for notice in config.notices:
        say(f"agentkit: note: {notice}")
    problems = config.check()
    if not problems:
        problems = check_toolsets(config)
    for problem in problems:
        _print_problem(problem)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the config", file=config.file, hint=problems[0].hint)
    where = config.file or "no config file (defaults only)"
    agents = len(config.agents)
    sys.stdout.write(f"ok: {where} ({agents} agent{'s' if agents != 1 else ''}, {len(config.providers)} "
                     f"provider setting{'s' if len(config.providers) != 1 else ''})\n")
    return 0


def check_toolsets(config: Any) -> list[ConfigError]:
    """Each agent's toolsets checked against what they reach (an MCP server is started and
    asked for its tools: a tool name it lacks is a problem listing the ones it has)."""
    import asyncio

    from ..toolsets import Toolset, ToolsetContext

    names: list[str | None] = list(config.agents) or ([None] if "default" in config.profiles else [])
    checks: list[tuple[str, Any, Any]] = []
    for name in names:
        agent = config.agent(name)
        where = f"agents.{name}.tools" if name is not None else "profiles.default.tools"
        context = ToolsetContext(agent=agent, tool_settings=agent.settings.tool_settings or {}, host=config.get_host())
        checks.extend((where, item, context) for item in agent.settings.tools if isinstance(item, Toolset))
    if not checks:
        return []

    async def one(where: str, toolset: Any, context: Any) -> ConfigError | None:
        try:
            await toolset.check(context)
        except Exception as exc:
            text = " ".join(str(exc).split())
            message = text if isinstance(exc, ConfigError) else f"{toolset.name} could not be checked: {text}"
            return ConfigError(message, file=config.file, key_path=where, hint=getattr(exc, "hint", None))
        finally:
            await toolset.aclose()
        return None

    async def all_checks() -> list[ConfigError | None]:
        return list(await asyncio.gather(*(one(*check) for check in checks)))

    found = asyncio.run(all_checks())
    unique: dict[str, ConfigError] = {}
    for problem in found:
        if problem is not None:
            unique.setdefault(str(problem), problem)
    return list(unique.values())


def _print_problem(problem: Exception) -> None:
    say(f"  {' '.join(str(problem).split())}")


def _show(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config.path is None:
        return _show_defaults(args)
    resolved = config.resolved(mask=True)
    if args.json:
        print_json(resolved)
    else:
        sys.stdout.write(f"# {config.file} ({config.source} config), resolved; secrets masked\n")
        sys.stdout.write(to_toml(resolved))
    return 0


def _show_defaults(args: argparse.Namespace) -> int:
    """No config file: say so, and show what is in effect instead, as a config would write it."""
    from ..config import CONFIG_NAME, agentkit_home

    user = agentkit_home() / CONFIG_NAME
    say(f"agentkit: no config file: looked for ./{CONFIG_NAME} and {user}")
    defaults = {"profiles": {"default": defaults_in_effect()}}
    if args.json:
        print_json(defaults)
        return 0
    sys.stdout.write(
        "# no config file: these are the defaults in effect (an agent needs a model: -m provider/model,\n"
        f"# or model = \"...\" in ./{CONFIG_NAME}); sessions go to the sqlite store in {agentkit_home()}\n"
    )
    sys.stdout.write(to_toml(defaults))
    return 0


def defaults_in_effect() -> dict[str, Any]:
    """Every agent option a config file can set, with the value used when nothing sets it
    (from the options' declaration; options off by default are left out)."""
    from .._options import defaults
    from .._run import OPTIONS, RunSettings
    from ..stores import DEFAULT_STORE

    values = defaults(RunSettings)
    out: dict[str, Any] = {}
    for name, declared in OPTIONS.items():
        value = values.get(name)
        if declared.config_key is None or value is None or value is attrs.NOTHING or isinstance(value, Mapping | tuple):
            continue
        out[declared.config_key] = value
    out["storage"] = DEFAULT_STORE
    return out


# -- a small TOML writer (for show: strings, numbers, booleans, arrays and tables) -------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        return '""'
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """``data`` as TOML: plain keys first, then one ``[table]`` per nested mapping."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) and not _inline(prefix, key):
            tables.append((key, value))
        else:
            lines.append(f"{_key(str(key))} = {_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        path = (*prefix, str(key))
        body = to_toml(value, path)
        header = "[" + ".".join(_key(p) for p in path) + "]\n"
        has_plain = any(not isinstance(v, Mapping) or _inline(path, k) for k, v in value.items())
        out += ("\n" if out else "") + (header if has_plain or not value else "") + body
    return out


def _inline(prefix: tuple[str, ...], key: Any) -> bool:
    """JSON Schemas and named specs read better inline than as a forest of tables."""
    return len(prefix) >= 2 and prefix[0] == "agents" and key in ("output_schema", "storage", "memory")
