"""What several commands share: loading the config, building the agent, running async code
so that Ctrl-C cancels the work in progress cleanly, and writing to a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ._exit import UsageFailure

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import Config

__all__ = [
    "AsyncRunner",
    "build_agent",
    "check_model",
    "load_config",
    "files_root",
    "parse_extra",
    "parse_params",
    "provider_notices",
    "print_json",
    "read_schema",
    "say",
]

T = TypeVar("T")


def say(text: str, stream: TextIO | None = None) -> None:
    """Write a line to stderr (or ``stream``)."""
    out = stream if stream is not None else sys.stderr
    out.write(text + "\n")
    out.flush()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def load_config(args: argparse.Namespace) -> Config:
    """The config named by ``-c``, else the one found (see :func:`provider_notices`)."""
    from ..config import load_config as load

    return load(args.config, trust_config=True if args.trust_config else None)


def provider_notices(config: Config, providers: list[str]) -> None:
    """Tell on stderr what the user should know about the providers a command uses (a key
    withheld from a project config's ``base_url``); the others are none of its business."""
    for name in providers:
        settings = config.providers.get(name)
        if settings is not None and settings.notice:
            say(f"agentkit: note: {settings.notice}")


def parse_extra(items: list[str]) -> dict[str, Any]:
    """``-e JSON`` options: JSON objects, merged in order."""
    merged: dict[str, Any] = {}
    for item in items:
        try:
            value = json.loads(item)
        except json.JSONDecodeError as exc:
            raise UsageFailure(
                f"-e expects a JSON object, got {item!r} ({exc.msg} at character {exc.pos})",
                hint="""for example -e '{"top_k": 20}'""",
            ) from None
        if not isinstance(value, dict):
            raise UsageFailure(
                f"-e expects a JSON object, got {type(value).__name__} {item!r}",
                hint="""for example -e '{"top_k": 20}'""",
            )
        merged.update(value)
    return merged


def parse_params(items: list[str]) -> dict[str, Any]:
    """``-p key=value`` options; values are JSON when they parse as JSON, else text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageFailure(f"expected KEY=VALUE, got {item!r}", hint="for example -p temperature=0.2")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def check_model(model: str) -> None:
    """``-m`` takes ``provider/name``."""
    provider, sep, name = model.partition("/")
    if not sep or not provider.strip() or not name.strip():
        raise UsageFailure(
            f"-m expects provider/name, got {model!r}",
            hint="for example -m openai/gpt-4o-mini; `agentkit models` lists models of providers that can list them",
        )


def read_schema(path: str) -> dict[str, Any]:
    """The JSON Schema in ``--schema FILE``."""
    from .._config_schema import load_json_schema

    return load_json_schema(path, base_dir=Path.cwd(), file=None, key_path=("--schema",))


#: Options of ``run`` and ``chat`` that are Agent keywords of the same name.
_AGENT_KEYWORDS = ("max_turns", "tool_timeout", "cache", "base_url", "api_key")


def build_agent(args: argparse.Namespace, config: Config | None = None, **extra: Any) -> Agent:
    """The agent the options name: ``-a``, then the other options of ``run``/``chat`` over it."""
    config = config if config is not None else load_config(args)
    overrides: dict[str, Any] = dict(extra)
    if getattr(args, "model", None):
        check_model(args.model)
        overrides["model"] = args.model
    if getattr(args, "system", None) is not None:
        overrides["system"] = args.system
    if getattr(args, "tools", None):
        overrides["tools"] = list(args.tools)
    params = parse_params(getattr(args, "params", None) or [])
    params = {**parse_extra(getattr(args, "extra", None) or []), **params}
    if getattr(args, "think", None):
        params.setdefault("reasoning_effort", "medium")
    if params:
        overrides["params"] = params
    if getattr(args, "schema", None):
        overrides["output_type"] = read_schema(args.schema)
    for key in _AGENT_KEYWORDS:
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    if getattr(args, "root", None):
        overrides["tool_settings"] = {"files": {"root": files_root(args.root, config)}}
    agent = config.agent(getattr(args, "agent", None), **overrides)
    if not getattr(args, "base_url", None):
        provider_notices(config, [agent.model.partition("/")[0]])
    if getattr(args, "root", None) and not _has_file_tools(agent, config):
        say("agentkit: note: --root has no effect: the agent has no file tools (add them with -T files)")
    return agent


def _has_file_tools(agent: Agent, config: Config) -> bool:
    files = {e.name for e in config.get_host().registry("tool") if e.extra.get("settings_key") == "files"}
    return any(getattr(t, "name", None) in files for t in agent.settings.tools)


def files_root(path: str, config: Config) -> str:
    """``--root PATH``: an existing folder, for the file tools (``tool_settings.files``)."""
    tools = config.get_host().registry("tool")
    if not any(e.extra.get("settings_key") == "files" for e in tools):
        from ..errors import PluginError

        raise PluginError(
            "--root sets the folder of the file tools, and no installed plugin provides them",
            hint="agentkit install agentkit-files",
        )
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UsageFailure(f"--root {path!r} is not a folder", hint="give the folder the file tools may work in")
    return str(folder.resolve())


class AsyncRunner:
    """One event loop for a command's lifetime; Ctrl-C cancels the running coroutine.

    The first Ctrl-C cancels the task (the run stops, what was stored stays stored) and
    :meth:`run` raises KeyboardInterrupt; a second one, while the task is still winding
    down, interrupts at once. A chat keeps one runner across turns, so providers' HTTP
    connections stay bound to one loop.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        task = self.loop.create_task(coro)
        interrupted = False
        main_thread = threading.current_thread() is threading.main_thread()

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()
            # the next Ctrl-C gets Python's default behaviour: KeyboardInterrupt right away
            self.loop.remove_signal_handler(signal.SIGINT)

        if main_thread:
            try:
                self.loop.add_signal_handler(signal.SIGINT, on_sigint)
            except (NotImplementedError, RuntimeError):  # no loop signal handlers (Windows)
                main_thread = False
        try:
            return self.loop.run_until_complete(task)
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            if main_thread:
                self.loop.remove_signal_handler(signal.SIGINT)
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def close(self) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def __enter__(self) -> AsyncRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
