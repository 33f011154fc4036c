"""A tool the CLI tests name by import path (``otel_cli_tools:calc``); this folder is put on the
subprocesses' PYTHONPATH."""

from __future__ import annotations

__all__ = ["calc"]


def calc(a: int, b: int) -> int:
    """Add two integers.

    :param a: the first
    :param b: the second
    """
    return a + b
