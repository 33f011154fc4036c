"""Running the model's regular expression in a child process that can be killed.

The pure-Python grep walks and reads files itself (with the confinement rules of
:mod:`agentkit_files.paths`), but it never runs the model's expression in this process: a
backtracking one (``(a+)+$``) can take hours on a short line while holding the GIL, so no
timeout here could fire. :class:`Matcher` hands each file's lines to
:mod:`agentkit_files._match_worker` and waits for the numbers of the matching lines, never
past the deadline; :meth:`Matcher.kill` (safe from any thread) ends the child at once, which
is how ``grep_timeout`` and a cancelled tool (``tool_timeout``) stop a runaway search.

Only the worker's thread starts, reads from and closes the child; other threads only kill
it. Starting a child costs ~30 ms, like running ripgrep.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agentkit.errors import ToolError

__all__ = ["Matcher"]

_WORKER = str(Path(__file__).with_name("_match_worker.py"))


class Matcher:
    """The model's expression, compiled and run in a child process; one per grep call."""

    def __init__(self, pattern: str, *, ignore_case: bool, first_only: bool) -> None:
        self._head = json.dumps({"pattern": pattern, "ignore_case": ignore_case, "first_only": first_only})
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = False
        self._buffer = b""

    def kill(self) -> None:
        """Stop the child now (from any thread); a search waiting on it ends with TimeoutError."""
        with self._lock:
            self._killed = True
            proc = self._proc
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(OSError):
                    proc.kill()

    @contextlib.contextmanager
    def running(self, deadline: float) -> Iterator[Matcher]:
        """Start the child and compile the expression there; kill and reap it on the way out."""
        with self._lock:
            if self._killed:
                raise TimeoutError
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._send(self._head.encode() + b"\n")
            answer = json.loads(self._line(deadline))
            if "error" in answer:
                raise ToolError(f"grep failed: invalid regular expression {json.loads(self._head)['pattern']!r}: "
                                f"{answer['error']}")  # fmt: skip
            yield self
        finally:
            self._close()

    def search(self, lines: Sequence[str], deadline: float) -> list[int]:
        """The 1-based numbers of the lines that match (just the first with ``first_only``)."""
        data = "\n".join(lines).encode("utf-8")
        self._send(struct.pack("<Q", len(data)) + data)
        hits: Any = json.loads(self._line(deadline))
        return [int(n) for n in hits]

    # -- the pipes ------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            self._gone()

    def _line(self, deadline: float) -> bytes:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._gone()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _gone(self) -> None:
        if self._killed:
            raise TimeoutError
        proc = self._proc
        code = proc.poll() if proc is not None else None
        raise ToolError(f"grep failed: its search process ended unexpectedly (exit status {code})")

    def _close(self) -> None:
        with self._lock:
            proc, self._killed = self._proc, True
            if proc is None:
                return
            if proc.returncode is None:
                with contextlib.suppress(OSError):
                    proc.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        proc.wait()
