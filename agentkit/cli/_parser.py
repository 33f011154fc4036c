"""The ``agentkit`` command line: every command and option, in one argparse tree.

This module imports argparse and nothing else, so ``agentkit --help`` stays fast: each
command's code lives in its own module, named by ``COMMAND`` below and imported only when
that command runs.
"""

from __future__ import annotations

import argparse

__all__ = ["COMMAND", "PLUGIN_COMMAND", "add_plugin_commands", "build_parser", "builtin_commands", "command_word"]

#: ``args.command`` -> the module (under agentkit.cli) whose ``run(args)`` carries it out.
COMMAND = "_command"
#: For a plugin's command: the :class:`agentkit.registry.Command` that carries it out.
PLUGIN_COMMAND = "_plugin_command"

EPILOG = """\
exit codes: 0 ok, 1 unexpected error, 2 usage, 3 config, 4 provider, 5 tool,
6 guardrail tripwire, 7 storage or memory, 8 plugin, 9 run limit (max_turns, output),
10 batch finished with failed items, 130 interrupted (Ctrl-C), 141 output pipe closed.
plugins add commands of their own: `agentkit plugins` lists them.
docs: docs/cli.md and docs/config.md"""


def _common(debug_default: object = argparse.SUPPRESS) -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument("-c", "--config", metavar="FILE", default=debug_default, help="config file (default: "
                       "$AGENTKIT_CONFIG, else ./agentkit.toml, else $AGENTKIT_HOME/agentkit.toml)")
    group.add_argument("--trust-config", action="store_true", default=debug_default,
                       help="let a project config's base_url receive API keys from the environment")
    group.add_argument("--debug", action="store_true", default=debug_default,
                       help="show tracebacks and debug logs")
    group.add_argument("--log-level", metavar="LEVEL", type=_log_level, default=debug_default,
                       help="log to standard error from this level on: debug, info, warning, error")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="agentkit",
        description="Run LLM agents, chat with them, and manage plugins, sessions and config.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(debug_default=None)],
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.set_defaults(config=None, trust_config=False, debug=False, log_level=None)
    common = _common()
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    def command(name: str, module: str, help: str, **kw: object) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common], **kw)  # type: ignore[arg-type]
        p.set_defaults(**{COMMAND: module})
        return p

    # -- run ------------------------------------------------------------------------------------
    run = command("run", "run_cmd", "Run an agent once on a prompt and stream the answer.",
                  epilog="PROMPT '-' or no PROMPT reads the prompt from standard input.")
    _agent_options(run)
    _adjust_options(run)
    run.add_argument("-T", "--tool", dest="tools", action="append", default=[], metavar="TOOL",
                     help="add a tool: a registered tool or toolset name, or package.module:function "
                     "(repeatable)")
    run.add_argument("--session", metavar="ID", help="continue (or start) the stored session ID")
    run.add_argument("--json", action="store_true", help="print every event as a JSON line")
    run.add_argument("--schema", metavar="FILE", help="answer as JSON matching the JSON Schema in FILE")
    run.add_argument("--image", dest="images", action="append", default=[], metavar="PATH_OR_URL",
                     help="attach an image (repeatable)")
    run.add_argument("prompt", nargs="?", metavar="PROMPT", help="what to ask")

    # -- chat -----------------------------------------------------------------------------------
    chat = command("chat", "chat_cmd", "Chat with an agent in the terminal.",
                   epilog="In the chat: /new, /model [MODEL], /root [PATH], /tools, /session, /help, /exit. "
                   "Ctrl-C cancels the current answer; Ctrl-D or /exit leaves.")
    _agent_options(chat)
    _adjust_options(chat)
    chat.add_argument("-T", "--tool", dest="tools", action="append", default=[], metavar="TOOL",
                      help="add a tool (repeatable)")
    chat.add_argument("--session", metavar="ID", help="store the chat as session ID (continues it if it exists)")

    # -- batch ----------------------------------------------------------------------------------
    batch = command("batch", "batch_cmd", "Run an agent on every item of a JSONL file, with resume.",
                    epilog='Each line of INPUTS is an item, {"id": ..., "input": "...", "template_params": {...}, '
                    '"session": "...", "user_id": "..."}, or a JSON string (its id is its position). '
                    "Results are written to OUTPUT as items finish; the same command again skips what is "
                    "done. Ctrl-C stops starting items; a second Ctrl-C cancels the running ones. "
                    "See docs/batch.md.")
    _agent_options(batch)
    batch.add_argument("inputs", metavar="INPUTS", help="JSONL file of items ('-' reads standard input)")
    batch.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                       help="results file (JSONL, one line per item); an existing one is resumed")
    batch.add_argument("-n", "--concurrency", type=int, default=16, metavar="N",
                       help="items in flight at once (default 16)")
    batch.add_argument("--executor", default="local", metavar="NAME",
                       help="where items run: local (default), or one a plugin adds, such as ray")
    batch.add_argument("-X", "--executor-option", dest="executor_options", action="append", default=[],
                       metavar="KEY=VALUE", help="an option for the executor (JSON values; repeatable)")
    batch.add_argument("--retry-failed", action="store_true", help="run the items OUTPUT records as failed again")
    batch.add_argument("--overwrite", action="store_true", help="empty OUTPUT first instead of resuming")
    batch.add_argument("--progress-interval", type=float, default=None, metavar="SECONDS",
                       help="seconds between progress lines when stderr is not a terminal (default 5)")

    # -- plugins, tools, models -----------------------------------------------------------------
    plugins = command("plugins", "plugins_cmd", "List installed plugins: versions, hooks, what they registered.")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    install = command("install", "install_cmd", "Install plugins into agentkit's environment (pip or uv).")
    install.add_argument("packages", nargs="+", metavar="PACKAGE", help="what to install (as pip takes it)")
    install.add_argument("-U", "--upgrade", action="store_true", help="upgrade if already installed")
    install.add_argument("-e", "--editable", action="store_true", help="install a local project in editable mode")
    install.add_argument("--dry-run", action="store_true", help="print the installer command, do not run it")

    uninstall = command("uninstall", "install_cmd", "Uninstall plugins from agentkit's environment.")
    uninstall.add_argument("packages", nargs="+", metavar="PACKAGE", help="distribution names")
    uninstall.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    uninstall.add_argument("--dry-run", action="store_true", help="print the installer command, do not run it")

    tools = command("tools", "plugins_cmd", "List the tools and toolsets plugins registered.")
    tools.add_argument("--json", action="store_true", help="print JSON")

    models = command("models", "plugins_cmd", "List models of providers that can list them.")
    models.add_argument("providers", nargs="*", metavar="PROVIDER",
                        help="providers to ask (default: those configured or with a key set)")
    models.add_argument("--json", action="store_true", help="print JSON")

    # -- sessions -------------------------------------------------------------------------------
    sessions = command("sessions", "sessions_cmd", "List, show, export, import, delete and migrate sessions.")
    sessions.add_argument("--store", metavar="STORE",
                          help="store to use: a name, name:path, such as jsonl:./sessions (default: the "
                          "agent's storage, else sqlite)")
    sessions.add_argument("-a", "--agent", metavar="AGENT", help="use this configured agent's store")
    ssub = sessions.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    s_list = ssub.add_parser("list", help="list sessions, most recent first", parents=[common])
    s_list.add_argument("-n", "--limit", type=int, default=50, help="at most this many (default 50)")
    s_list.add_argument("--user", metavar="USER_ID", help="only this user's sessions")
    s_list.add_argument("--json", action="store_true", help="print JSON")
    s_show = ssub.add_parser("show", help="print a session's messages", parents=[common])
    s_show.add_argument("session_id", metavar="ID")
    s_show.add_argument("--json", action="store_true", help="print the messages as JSON lines")
    s_export = ssub.add_parser("export", help="write a session as a JSON document", parents=[common])
    s_export.add_argument("session_id", metavar="ID")
    s_export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    s_import = ssub.add_parser("import", help="read a session from a JSON export", parents=[common])
    s_import.add_argument("file", metavar="FILE", help="export document ('-' reads standard input)")
    s_import.add_argument("--id", dest="session_id", metavar="ID", help="import under this id")
    s_import.add_argument("--overwrite", action="store_true", help="replace a session with the same id")
    s_delete = ssub.add_parser("delete", help="delete sessions", parents=[common])
    s_delete.add_argument("session_ids", nargs="+", metavar="ID")
    s_migrate = ssub.add_parser("migrate", help="copy sessions to another store", parents=[common])
    s_migrate.add_argument("--to", dest="target", required=True, metavar="STORE", help="target store")
    s_migrate.add_argument("session_ids", nargs="*", metavar="ID", help="sessions to copy (default: all)")
    s_migrate.add_argument("--on-conflict", choices=("error", "skip", "replace"), default="error",
                           help="when the target has a session already (default: error)")

    # -- config ---------------------------------------------------------------------------------
    config = command("config", "config_cmd", "Check the config file, or show it resolved.")
    csub = config.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    csub.add_parser("check", help="validate the file and build every agent", parents=[common])
    c_show = csub.add_parser("show", help="print the resolved config, secrets masked", parents=[common])
    c_show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    csub.add_parser("path", help="print which config file is used", parents=[common])
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError("the parser has no commands")


def builtin_commands(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The names of the built-in commands."""
    return frozenset(_subparsers(parser).choices)


def command_word(argv: list[str]) -> str | None:
    """The command named on a command line (the first word that is not an option), if any."""
    takes_value = {"-c", "--config"}
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--":
            return None
        if word in takes_value:
            skip = True
            continue
        if word.startswith("-"):
            continue
        return word
    return None


def add_plugin_commands(parser: argparse.ArgumentParser, commands: list[tuple[str, object]]) -> None:
    """Add plugins' commands (``(name, Command)`` pairs) that no built-in command shadows."""
    sub = _subparsers(parser)
    common = _common()
    for name, command in commands:
        if name in sub.choices:
            continue
        help_text = getattr(command, "help", "") or None
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(**{PLUGIN_COMMAND: command})
        command.configure(p)  # type: ignore[attr-defined]


def _agent_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--agent", metavar="AGENT", help="a named agent from the config (default: default_agent)")
    p.add_argument("-m", "--model", metavar="MODEL", help="model as provider/name, such as openai/gpt-4o-mini")


def _adjust_options(p: argparse.ArgumentParser) -> None:
    """What ``run`` and ``chat`` take to adjust the agent (docs/cli.md)."""
    p.add_argument("-s", "--system", metavar="SYSTEM", help="system prompt (replaces the agent's)")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="KEY=VALUE",
                   help="a generation parameter such as temperature=0.2 (JSON values; repeatable)")
    p.add_argument("-e", "--extra", dest="extra", action="append", default=[], metavar="JSON",
                   help="a JSON object merged into the request body (into params; repeatable)")
    p.add_argument("--think", action="store_true", default=None,
                   help="let the model reason before it answers, where the provider supports it "
                   "(reasoning_effort=medium; -p reasoning_effort=high for more)")
    p.add_argument("-n", "--max-turns", type=_positive_int, metavar="N", help="at most N model calls per answer")
    p.add_argument("--tool-timeout", type=_positive_float, metavar="SECONDS", help="cancel a tool call after SECONDS")
    p.add_argument("--root", metavar="PATH", help="the folder the file tools work in (tool_settings.files.root)")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=None,
                   help="replay answers to requests seen before from the response cache (--no-cache: never)")
    p.add_argument("--base-url", metavar="URL", help="where the model's provider is (replaces its base_url)")
    p.add_argument("--api-key", metavar="KEY",
                   help="the provider's API key (less safe than its environment variable: other users can "
                   "see a command line, and shells keep it in their history)")
    p.add_argument("--user", metavar="ID", help="whose long-term memories the agent recalls and keeps")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


_LEVELS = ("debug", "info", "warning", "error", "critical")


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in _LEVELS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(_LEVELS)}, got {text!r}")
    return level
