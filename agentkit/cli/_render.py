"""Showing a run's events: text as it arrives, tool calls compactly, or every event as JSON.

Text deltas go to stdout as they come. Tool calls are one compact line each,
``⚙ name(arg=value, ...)``, then ``… name 3/10 message`` for each progress report the tool
makes, then a short ``↳ result`` line: on stdout when it is a
terminal (so they sit in the conversation), on stderr otherwise (so piped output holds the
answer alone). ``--json`` prints every event as one JSON line instead (the last one holds the
result, with its ``finish_reason``). An answer cut by the output token limit (finish reason
``length``) is followed by a notice on stderr, so it never just stops mid-word.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

__all__ = ["CUT_NOTICE", "EventPrinter", "compact_call", "one_line"]

#: Printed on stderr after an answer the output token limit cut (finish reason ``length``).
CUT_NOTICE = (
    "agentkit: the answer was cut off by the output token limit (finish reason 'length'); "
    "allow more with -p max_tokens=N"
)

_ARGS_LIMIT = 120
_RESULT_LIMIT = 100


def one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact_call(name: str, arguments: str) -> str:
    """``name(a=1, b="x")`` from a tool call's raw JSON arguments, cut to a sensible length."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in parsed.items())
    else:
        inner = arguments or ""
    return f"{name}({one_line(inner, _ARGS_LIMIT)})"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class EventPrinter:
    """Prints a run's events; ``close()`` ends the answer with a newline when needed."""

    def __init__(
        self,
        *,
        json_lines: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
        show_output: bool = False,
    ) -> None:
        self.json_lines = json_lines
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.tty = _is_tty(self.out)
        self.color = self.tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self.side = self.out if self.tty else self.err  # where tool lines go
        self.show_output = show_output  # structured output: print the final value as JSON
        # the loop's own tool for structured answers is an implementation detail, not a tool call
        self.hidden_tools = frozenset({"final_answer"}) if show_output else frozenset()
        self._open_line = False  # answer text written without a final newline
        self.result: Any = None

    def event(self, event: Any) -> None:
        if self.json_lines:
            from ..serialization import to_dict

            self.out.write(json.dumps(to_dict(event), ensure_ascii=False, default=str) + "\n")
            self.out.flush()
            if getattr(event, "type", None) == "run_completed":
                self.result = event.result
            return
        kind = getattr(event, "type", None)
        if kind == "text_delta" and not self.show_output:
            if event.text:
                self.out.write(event.text)
                self.out.flush()
                self._open_line = not event.text.endswith("\n")
        elif kind == "turn_completed":
            for call in event.response.message.tool_calls:
                if call.name not in self.hidden_tools:
                    self._side_line(f"⚙ {compact_call(call.name, call.arguments)}")
        elif kind == "tool_progress":
            if event.name in self.hidden_tools:
                return
            done = f"{event.progress:g}/{event.total:g}" if event.total else f"{event.progress:g}"
            note = f" {one_line(event.message, _RESULT_LIMIT)}" if event.message else ""
            self._side_line(f"  … {event.name} {done}{note}")
        elif kind == "tool_result":
            result = event.result
            if event.call.name in self.hidden_tools:
                return
            mark = "✗" if result.is_error else "↳"
            images = getattr(result, "images", None)
            extra = f" [+{len(images)} image{'s' if len(images) > 1 else ''}]" if images else ""
            self._side_line(f"  {mark} {one_line(result.content, _RESULT_LIMIT)}{extra}")
        elif kind == "run_completed":
            self.result = event.result
            if self.show_output:
                output = event.result.output
                self.out.write(json.dumps(output, ensure_ascii=False, indent=2, default=str) + "\n")
                self.out.flush()
            if getattr(event.result, "finish_reason", None) == "length":
                self.close()
                self.err.write(CUT_NOTICE + "\n")
                self.err.flush()

    def _side_line(self, text: str) -> None:
        if self._open_line and self.side is self.out:
            self.out.write("\n")
            self._open_line = False
        if self.side is self.out and self.color:
            text = f"\x1b[2m{text}\x1b[0m"
        self.side.write(text + "\n")
        self.side.flush()

    def close(self) -> None:
        """End the answer's last line."""
        if self._open_line:
            self.out.write("\n")
            self.out.flush()
            self._open_line = False

