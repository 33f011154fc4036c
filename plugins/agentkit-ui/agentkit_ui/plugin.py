"""agentkit-ui's hook implementations (the ``agentkit`` entry point): the ``agentkit ui``
command. Its code is imported only when the command runs."""

from __future__ import annotations

import argparse
from typing import Any

from agentkit import hookimpl

__all__ = ["register_commands"]


def _configure(parser: argparse.ArgumentParser) -> None:
    from .cli import configure

    configure(parser)


def _run(args: argparse.Namespace) -> int:
    from .cli import run

    return run(args)


@hookimpl
def register_commands(registry: Any) -> None:
    """``agentkit ui``."""
    registry.add("ui", _configure, _run, help="Browse stored sessions in a local, read-only web viewer.")
