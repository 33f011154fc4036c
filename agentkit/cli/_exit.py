"""Exit codes, and how a failure is told to the user: one line, then a hint.

Each kind of failure has its own exit code, so scripts can tell a bad config from a provider
outage. The error classes are imported only when an error has to be classified.
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = [
    "EXIT_CONFIG",
    "EXIT_ERROR",
    "EXIT_GUARDRAIL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_PLUGIN",
    "EXIT_PROVIDER",
    "EXIT_RUN_LIMIT",
    "EXIT_STORAGE",
    "EXIT_TOOL",
    "EXIT_USAGE",
    "UsageFailure",
    "exit_code_for",
    "report",
]

EXIT_OK = 0
EXIT_ERROR = 1  # unexpected: a bug, or an error of no other kind
EXIT_USAGE = 2  # bad arguments
EXIT_CONFIG = 3  # config file, template parameters
EXIT_PROVIDER = 4  # the model provider failed (auth, rate limit, connection, ...)
EXIT_TOOL = 5  # a tool failed and the agent raises on tool errors
EXIT_GUARDRAIL = 6  # a guardrail stopped the run: a tripwire, or a check that failed
EXIT_STORAGE = 7  # session store or memory backend
EXIT_PLUGIN = 8  # a plugin is missing or broken
EXIT_RUN_LIMIT = 9  # max_turns reached, structured output never validated
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_PIPE = 141  # standard output was closed early (128 + SIGPIPE)


class UsageFailure(Exception):
    """Bad command-line usage found after parsing (exit code 2)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error."""
    from .. import errors as e

    if isinstance(exc, KeyboardInterrupt | e.RunAbortedError):
        return EXIT_INTERRUPTED
    if isinstance(exc, UsageFailure):
        return EXIT_USAGE
    table: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
        ((e.ConfigError, e.TemplateError), EXIT_CONFIG),
        (e.ProviderError, EXIT_PROVIDER),
        (e.ToolError, EXIT_TOOL),
        (e.GuardrailError, EXIT_GUARDRAIL),  # a tripwire, or a guardrail whose check failed
        ((e.StorageError, e.MemoryStoreError), EXIT_STORAGE),
        (e.PluginError, EXIT_PLUGIN),
        ((e.MaxTurnsError, e.OutputValidationError), EXIT_RUN_LIMIT),
        (e.BatchError, EXIT_USAGE),  # a batch's inputs or results file is wrong
    )
    for kinds, code in table:
        if isinstance(exc, kinds):
            return code
    return EXIT_ERROR


_DEFAULT_HINTS = {
    EXIT_CONFIG: "`agentkit config check` lists every problem; docs/config.md describes every key",
    EXIT_PROVIDER: "check the provider's settings, key and network",
    EXIT_TOOL: "the tool failed; its agent raises on tool errors (tool_errors = \"raise\")",
    EXIT_GUARDRAIL: "a guardrail stopped the run on purpose",
    EXIT_STORAGE: "check the store's settings and files",
    EXIT_PLUGIN: "`agentkit plugins` lists what is installed",
    EXIT_RUN_LIMIT: "raise max_turns or output_retries, or simplify the task",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report(
    exc: BaseException,
    *,
    debug: bool = False,
    stream: TextIO | None = None,
    debug_hint: str = "run again with --debug to see the traceback",
) -> int:
    """Tell the user about ``exc`` on stderr (one line and a hint); return the exit code."""
    from ..errors import AgentkitError

    out = stream if stream is not None else sys.stderr
    code = exit_code_for(exc)
    if debug:
        import traceback

        traceback.print_exception(exc, file=out)
    if isinstance(exc, AgentkitError | UsageFailure):
        message = str(exc) or type(exc).__name__
        hint = getattr(exc, "hint", None)
        more = getattr(exc, "more", None)
        if more and not hint:
            hint = f"{len(more)} more problem(s): run `agentkit config check`"
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        hint = None
    if hint is None:
        hint = _DEFAULT_HINTS.get(code) or ("" if debug else debug_hint)
    try:
        out.write(f"agentkit: error: {_one_line(message)}\n")
        if hint:
            out.write(f"hint: {_one_line(hint)}\n")
        out.flush()
    except (OSError, ValueError):
        pass
    return code
