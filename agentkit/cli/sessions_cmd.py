"""``agentkit sessions list|show|export|import|delete|migrate``.

The store is ``--store`` (a registered name, ``name:path``, such as ``jsonl:./sessions``),
else the storage of the agent named by ``-a`` (or the config's default agent), else the
default store (SQLite at ``$AGENTKIT_HOME/agentkit.db``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import AsyncRunner, load_config, print_json, say
from ._exit import UsageFailure

__all__ = ["run", "store_spec"]


def store_spec(args: argparse.Namespace) -> Any:
    """Which store the options name (see the module docstring), with the settings its plugin
    reads from the config file (``[postgres] dsn = ...``)."""
    if args.store:
        return _with_section_settings(args, args.store)
    config = load_config(args)
    ac = config.agent_config(args.agent)
    storage = ac.options.get("storage")
    if storage is None:
        return None
    from .._interpolate import interpolate

    spec = interpolate(storage, config.environ or {}, file=config.file, path=("agents", ac.name, "storage"))
    return config.with_section_settings("store", spec)


def _with_section_settings(args: argparse.Namespace, spec: str) -> Any:
    """``spec`` from the command line; the config file is read only for a store that takes
    settings from it (so a broken file does not stop ``--store sqlite:x``)."""
    from ..plugins import get_host

    registry = get_host().registry("store")
    name = spec.partition(":")[0].strip()
    if name not in registry or not registry.get(name).extra.get("settings_section"):
        return spec
    return load_config(args).with_section_settings("store", spec)


def run(args: argparse.Namespace) -> int:
    from ..stores import open_store

    spec = store_spec(args)
    action = {
        "list": _list,
        "show": _show,
        "export": _export,
        "import": _import,
        "delete": _delete,
        "migrate": _migrate,
    }[args.action]
    with AsyncRunner() as runner:
        store = open_store(spec)
        try:
            return int(runner.run(action(store, args)) or 0)
        finally:
            runner.run(store.aclose())


async def _list(store: Any, args: argparse.Namespace) -> int:
    from ..stores import info_to_dict

    infos = await store.list_sessions(user_id=args.user, limit=args.limit)
    if args.json:
        print_json([info_to_dict(i) for i in infos])
        return 0
    if not infos:
        say(f"no sessions in the {store.name} store")
        return 0
    width = max(len(i.id) for i in infos)
    for info in infos:
        when = info.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        title = f"  {info.title}" if info.title else ""
        sys.stdout.write(f"{info.id:<{width}}  {when}  {info.message_count:>4} msgs  {info.model or '-'}{title}\n")
    return 0


async def _show(store: Any, args: argparse.Namespace) -> int:
    from ..serialization import to_dict

    await store.get_session(args.session_id)
    messages = await store.load_messages(args.session_id)
    out = sys.stdout
    if args.json:
        for message in messages:
            out.write(json.dumps(to_dict(message), ensure_ascii=False) + "\n")
        return 0
    for message in messages:
        out.write(_format_message(message) + "\n")
    return 0


def _format_message(message: Any) -> str:
    from ._render import compact_call

    role = message.role
    if role == "assistant":
        lines = [f"assistant: {message.content}"] if message.content else []
        lines += [f"assistant: ⚙ {compact_call(c.name, c.arguments)}" for c in message.tool_calls]
        return "\n".join(lines) or "assistant:"
    if role == "tool":
        mark = " (error)" if message.is_error else ""
        return f"tool {message.name}{mark}: {message.content}"
    if role == "user":
        images = f" [+{len(message.images)} image(s)]" if message.images else ""
        return f"user: {message.text}{images}"
    return f"{role}: {message.text}"


async def _export(store: Any, args: argparse.Namespace) -> int:
    from ..stores import export_session

    document = await export_session(store, args.session_id)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.output:
        path = Path(args.output)
        path.write_text(text, encoding="utf-8")
        say(f"exported session {args.session_id!r} to {path}")
    else:
        sys.stdout.write(text)
    return 0


async def _import(store: Any, args: argparse.Namespace) -> int:
    from ..errors import CorruptSessionError
    from ..stores import import_session

    source = "<stdin>" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageFailure(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptSessionError(
            f"{source} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path=source
        ) from None
    info = await import_session(store, document, session_id=args.session_id, overwrite=args.overwrite)
    say(f"imported session {info.id!r} ({info.message_count} messages) into the {store.name} store")
    return 0


async def _delete(store: Any, args: argparse.Namespace) -> int:
    from ..errors import SessionNotFoundError

    missing = []
    for session_id in args.session_ids:
        if await store.delete_session(session_id):
            say(f"deleted session {session_id!r}")
        else:
            missing.append(session_id)
    if missing:
        raise SessionNotFoundError(
            f"no session {', '.join(repr(m) for m in missing)} in the {store.name} store",
            store=store.name,
            session_id=missing[0],
            hint="`agentkit sessions list` shows the ids",
        )
    return 0


async def _migrate(store: Any, args: argparse.Namespace) -> int:
    from .._interpolate import mask_credentials
    from ..stores import migrate

    target = _with_section_settings(args, args.target)
    copied = await migrate(store, target, args.session_ids or None, on_conflict=args.on_conflict)
    say(f"copied {len(copied)} session(s) from the {store.name} store to {mask_credentials(args.target)}")
    return 0
