"""The ``agentkit`` command (also ``python -m agentkit``).

``main()`` parses the command line, imports the one module that carries out the command, and
turns every failure into one line, a hint and an exit code (see :mod:`agentkit.cli._exit`).
Nothing heavy is imported here: ``agentkit --help`` builds the argparse tree and stops, so it
never loads the plugin host, httpx, jsonschema, tiktoken or any plugin.

``run_script(main)`` gives a script (such as ``examples/*.py``) the same ending: a failure is
one line and a hint with the command's exit code, not a traceback.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["main", "run_script"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``agentkit`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    words = list(argv) if argv is not None else sys.argv[1:]
    debug = "--debug" in words or os.environ.get("AGENTKIT_DEBUG", "") not in ("", "0")
    previous = warnings.showwarning
    warnings.showwarning = _plugin_warning_display(previous, debug=debug)
    try:
        return _main(words)
    finally:
        warnings.showwarning = previous


def _plugin_warning_display(previous: Any, *, debug: bool) -> Any:
    """How a PluginWarning reaches the terminal: one line (``agentkit: warning: ...``), with
    the traceback of the error behind it under ``--debug``; other warnings as Python shows them."""

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if getattr(category, "__name__", "") != "PluginWarning" or category.__module__ != "agentkit.registry":
            previous(message, category, filename, lineno, file, line)
            return
        out = file if file is not None else sys.stderr
        error = getattr(message, "error", None)
        try:
            if debug and error is not None:
                import traceback

                traceback.print_exception(error, file=out)
            more = " (--debug shows the traceback)" if error is not None and not debug else ""
            out.write(f"agentkit: warning: {' '.join(str(message).split())}{more}\n")
            out.flush()
        except (OSError, ValueError):
            pass

    return show


def _main(words: list[str]) -> int:
    from ._exit import EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, EXIT_USAGE, report
    from ._parser import COMMAND, PLUGIN_COMMAND, build_parser, builtin_commands, command_word

    parser = build_parser()
    word = command_word(words)
    if word is not None and word not in builtin_commands(parser):
        # Not a built-in command: only now are plugins loaded, for the commands they add
        # (an unknown command's error then lists theirs too).
        failed = _add_plugin_commands(parser)
        if failed is not None:
            return report(failed)
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug = bool(args.debug) or os.environ.get("AGENTKIT_DEBUG", "") not in ("", "0")
    args.debug = debug
    if args.version:
        from .. import __version__

        print(f"agentkit {__version__}")
        return EXIT_OK
    module_name = getattr(args, COMMAND, None)
    plugin_command = getattr(args, PLUGIN_COMMAND, None)
    if module_name is None and plugin_command is None:
        parser.print_help()
        return EXIT_USAGE
    if debug or args.log_level:
        import logging

        level = logging.DEBUG if debug else getattr(logging, str(args.log_level).upper())
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if plugin_command is not None:
            code = plugin_command.run(args)
        else:
            import importlib

            module = importlib.import_module(f"{__name__}.{module_name}")
            code = module.run(args)
        _flush_stdout()
        return int(code or 0)
    except BrokenPipeError:
        return _closed_pipe(EXIT_PIPE)
    except KeyboardInterrupt:
        _quiet_newline()
        return EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(exc, OSError) and _is_closed_pipe(exc):
            return _closed_pipe(EXIT_PIPE)
        from ._exit import UsageFailure

        if isinstance(exc, UsageFailure):
            sub = getattr(args, "command", None)
            try:
                sys.stderr.write(f"agentkit {sub}: error: {exc}\n" if sub else f"agentkit: error: {exc}\n")
                if exc.hint:
                    sys.stderr.write(f"hint: {exc.hint}\n")
            except OSError:
                pass
            return EXIT_USAGE
        return report(exc, debug=debug)


def _add_plugin_commands(parser: object) -> BaseException | None:
    """Add the commands plugins register to ``parser``; the error if the plugins cannot load."""
    from ._parser import add_plugin_commands

    try:
        from ..plugins import get_host

        commands = [(e.name, e.value) for e in get_host().registry("command")]
        add_plugin_commands(parser, commands)  # type: ignore[arg-type]
    except Exception as exc:
        return exc
    return None


def run_script(func: Callable[[], object], /) -> NoReturn:
    """Call a script's ``func()`` and exit as the ``agentkit`` command would.

    A failure is told in one line and a hint on standard error, with the exit code of
    ``docs/cli.md`` (``AGENTKIT_DEBUG=1`` also prints the traceback); Ctrl-C exits 130 and a
    closed output pipe 141, quietly. An ``int`` returned by ``func`` is the exit code.
    """
    from ._exit import EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, report

    debug = os.environ.get("AGENTKIT_DEBUG", "") not in ("", "0")
    try:
        result = func()
        _flush_stdout()
    except BrokenPipeError:
        code = _closed_pipe(EXIT_PIPE)
    except KeyboardInterrupt:
        _quiet_newline()
        code = EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(exc, OSError) and _is_closed_pipe(exc):
            code = _closed_pipe(EXIT_PIPE)
        else:
            code = report(exc, debug=debug, debug_hint="set AGENTKIT_DEBUG=1 to see the traceback")
    else:
        code = result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK
    raise SystemExit(code)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError):
        pass


def _is_closed_pipe(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.EPIPE, errno.EINVAL) and _stdout_broken()


def _stdout_broken() -> bool:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        return True
    return False


def _closed_pipe(code: int) -> int:
    """The reader of our output went away (``agentkit ... | head -1``): stop quietly.

    stdout is pointed at /dev/null so that the interpreter's final flush does not raise
    (and print) the same error again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return code


def _quiet_newline() -> None:
    try:
        sys.stderr.write("\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
