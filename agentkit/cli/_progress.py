"""A batch job's progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise.

The bar: done out of total, failures, runs per second, tokens and cost so far, and the time
left at the current speed. Messages (notes, Ctrl-C) are printed above the bar. When stderr
is a file or a pipe (CI logs), one plain line every few seconds says the same.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..batch import BatchProgress

__all__ = ["ProgressPrinter", "describe", "duration"]

_BAR = 24


def duration(seconds: float) -> str:
    """``0:07``, ``12:30``, ``3:02:10``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(p: BatchProgress, *, concurrency: int) -> str:
    """The figures of a progress snapshot, as words."""
    finished = p.skipped + p.done
    if p.total is not None:
        pct = 100.0 * finished / p.total if p.total else 100.0
        parts = [f"{finished:,}/{p.total:,} done ({pct:.0f}%)"]
    else:
        parts = [f"{finished:,} done"]
    if p.skipped:
        parts.append(f"{p.skipped:,} skipped")
    parts.append(f"{p.failed:,} failed")
    parts.append(f"{p.rate:.1f} runs/s")
    parts.append(f"{p.usage.total_tokens:,} tokens")
    if p.usage.cost is not None:
        parts.append(f"${p.usage.cost:.4f}")
    eta = p.eta
    if eta is not None and not p.stopping:
        parts.append(f"ETA {duration(eta)}")
    if p.waiting > 0:
        parts.append(f"rate limited: waiting {p.waiting:.0f}s")
    if p.limit and p.limit < concurrency:
        parts.append(f"{p.limit} in flight at most")
    if p.stopping:
        parts.append(f"stopping: {p.running} running")
    return ", ".join(parts)


class ProgressPrinter:
    """Shows progress snapshots on ``stream`` (stderr): a bar on a terminal, lines otherwise."""

    def __init__(
        self, *, concurrency: int, stream: TextIO | None = None, interval: float | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.tty = self.tty and os.environ.get("TERM") != "dumb"
        self.concurrency = concurrency
        self.interval = interval if interval is not None else (0.2 if self.tty else 5.0)
        self._last = 0.0
        self._drawn = False

    def update(self, p: BatchProgress, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            self._write("\r\x1b[2K" + self._bar(p))
            self._drawn = True
        else:
            self._write(f"agentkit batch: {describe(p, concurrency=self.concurrency)}\n")

    def message(self, text: str) -> None:
        """A line of its own, above the bar."""
        if self.tty and self._drawn:
            self._write("\r\x1b[2K")
            self._drawn = False
        self._write(text + "\n")

    def finish(self) -> None:
        """Leave the bar's line."""
        if self.tty and self._drawn:
            self._write("\n")
            self._drawn = False

    def _bar(self, p: BatchProgress) -> str:
        if p.total:
            filled = (p.skipped + p.done) * _BAR / p.total
            whole = int(filled)
            bar = "█" * whole + ("▌" if filled - whole >= 0.5 and whole < _BAR else "")
            bar = "▕" + bar.ljust(_BAR) + "▏ "
        else:
            bar = ""
        return bar + describe(p, concurrency=self.concurrency)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
