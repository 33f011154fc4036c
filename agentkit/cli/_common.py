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
    "load_config",
    "parse_params",
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
    """The config named by ``-c``, else the one found; notices go to stderr."""
    from ..config import load_config as load

    config = load(args.config, trust_config=True if args.trust_config else None)
    for notice in config.notices:
        say(f"agentkit: note: {notice}")
    return config


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


def read_schema(path: str) -> dict[str, Any]:
    """The JSON Schema in ``--schema FILE``."""
    from .._config_schema import load_json_schema

    return load_json_schema(path, base_dir=Path.cwd(), file=None, key_path=("--schema",))


def build_agent(args: argparse.Namespace, config: Config | None = None, **extra: Any) -> Agent:
    """The agent the options name: ``-a``, then ``-m``/``-s``/``-T``/``-p`` over it."""
    config = config if config is not None else load_config(args)
    overrides: dict[str, Any] = dict(extra)
    if getattr(args, "model", None):
        overrides["model"] = args.model
    if getattr(args, "system", None) is not None:
        overrides["system"] = args.system
    if getattr(args, "tools", None):
        overrides["tools"] = list(args.tools)
    if getattr(args, "params", None):
        overrides["params"] = parse_params(args.params)
    if getattr(args, "schema", None):
        overrides["output_type"] = read_schema(args.schema)
    return config.agent(getattr(args, "agent", None), **overrides)


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
