"""The child process of grep's pure-Python search: the only place the model's regex runs.

A backtracking regular expression can run for hours on a 41-byte line (``(a+)+$`` on forty
``a`` and a ``!``), and Python's ``re`` holds the GIL while it does: a thread running it can
be neither stopped nor preempted, and it freezes the event loop. So the expression runs here,
in a process the parent kills at ``grep_timeout`` or when the tool is cancelled
(:mod:`agentkit_files._matcher`). Standard library only; started with ``python -I -S``, so
nothing from the environment or site-packages comes in.

Protocol, on stdin and stdout:

- first line in: JSON ``{"pattern": str, "ignore_case": bool, "first_only": bool}``; first
  line out: ``{"ok": true}``, or ``{"error": "..."}`` (the expression does not compile) and
  the process ends;
- then per text in: 8 bytes (little-endian length) and that much UTF-8 text, its lines
  joined by ``"\\n"``; out: one line, the JSON list of the 1-based numbers of the lines that
  match (only the first with ``first_only``). End of input ends the process.
"""

import json
import re
import struct
import sys

__all__ = ["main"]


def main() -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    head = json.loads(inp.readline())
    try:
        regex = re.compile(head["pattern"], re.IGNORECASE if head["ignore_case"] else 0)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        out.write(json.dumps({"error": str(exc)}).encode() + b"\n")
        out.flush()
        return
    out.write(b'{"ok": true}\n')
    out.flush()
    first_only = bool(head["first_only"])
    while True:
        size = inp.read(8)
        if len(size) < 8:
            return
        text = inp.read(struct.unpack("<Q", size)[0]).decode("utf-8")
        hits = []
        for number, line in enumerate(text.split("\n"), start=1):
            if regex.search(line):
                hits.append(number)
                if first_only:
                    break
        out.write(json.dumps(hits).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
