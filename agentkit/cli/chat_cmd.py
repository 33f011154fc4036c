"""``agentkit chat``: a terminal conversation with an agent.

Line editing and history come from readline (history kept in
``$AGENTKIT_HOME/chat_history``). Commands: ``/new`` (a fresh conversation), ``/model
[MODEL]`` (show or switch the model), ``/root [PATH]`` (show or move the file tools' folder),
``/tools``, ``/session`` (where the conversation is stored), ``/help``, ``/exit``.
Ctrl-C while the agent answers cancels that answer only; at the prompt it clears the line;
Ctrl-D or ``/exit`` leaves. Without ``--session`` the conversation lives in memory; with it,
every complete turn is stored.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import Any

from ._common import AsyncRunner, build_agent, load_config, say
from ._exit import report
from ._render import EventPrinter
from .run_cmd import close_agent

__all__ = ["Chat", "run"]

PROMPT = "> "
HELP = """\
/new            start a new conversation
/model [MODEL]  show the model, or switch to MODEL (provider/name)
/root [PATH]    show the folder the file tools work in, or move them to PATH
/tools          list the agent's tools
/session        show where the conversation is stored
/exit           leave (also Ctrl-D)
Ctrl-C cancels the answer in progress."""


def _setup_readline() -> None:
    """Line editing and a history file, when readline is available (not on every platform)."""
    try:
        import atexit
        import readline
    except ImportError:
        return
    from ..config import agentkit_home

    path = agentkit_home() / "chat_history"
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)

    def save() -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            readline.write_history_file(path)
            os.chmod(path, 0o600)
        except OSError:
            pass

    atexit.register(save)


def _ask_here(agent: Any) -> None:
    """Toolsets that need the user's input (an MCP server's elicitation) ask at the terminal."""
    from ..toolsets import Toolset
    from ._ask import ask_at_terminal

    for item in getattr(agent.settings, "tools", ()):
        if isinstance(item, Toolset) and item.ask_user is None:
            item.ask_user = ask_at_terminal


class Chat:
    """The chat's state: the agent, the conversation (in memory or a session) and the loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.config = load_config(args)
        self.model: str | None = args.model
        self.root: str | None = args.root
        self.agent: Any = self._build()
        self.session_id: str | None = args.session
        self.history: list[Any] = []
        self.runner = AsyncRunner()

    def _build(self) -> Any:
        args = argparse.Namespace(**{**vars(self.args), "model": self.model, "root": self.root})
        agent = build_agent(args, self.config)
        _ask_here(agent)
        return agent

    def _rebuild(self, **changes: Any) -> bool:
        """Build the agent again with ``changes`` (model, root); keep the old one if that fails."""
        old = {key: getattr(self, key) for key in changes}, self.agent
        for key, value in changes.items():
            setattr(self, key, value)
        try:
            self.agent = self._build()
        except Exception as exc:
            for key, value in old[0].items():
                setattr(self, key, value)
            report(exc, debug=self.args.debug)
            return False
        self.runner.run(close_agent(old[1]))
        return True

    def _session_place(self) -> str:
        """Where session ``self.session_id`` is stored, as the user can find it again."""
        store = self.agent.session(self.session_id).store
        where = getattr(store, "path", None)
        place = f"the {store.name} store" + (f" at {where}" if where else "")
        return f"session {self.session_id} in {place} (`agentkit sessions show {self.session_id}` prints it)"

    def _files_root(self) -> str | None:
        settings = getattr(getattr(self.agent, "settings", None), "tool_settings", None) or {}
        root = settings.get("files", {}).get("root") if isinstance(settings.get("files"), dict) else None
        return str(root) if root else None

    # -- commands ------------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Carry out a /command; ``False`` means leave."""
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            print(HELP)
        elif name == "/new":
            self.history.clear()
            if self.session_id is not None:
                self.session_id = datetime.now().strftime("chat-%Y%m%d-%H%M%S")
                print(f"new session {self.session_id}")
            else:
                print("new conversation")
        elif name == "/model":
            if not rest:
                print(getattr(self.agent, "model", None) or self.model or "?")
            elif self._rebuild(model=rest):
                print(f"model: {rest}")
        elif name == "/root":
            if not rest:
                root = self._files_root()
                print(root or f"{os.getcwd()} (the working folder: no root is set)")
            elif self._rebuild(root=rest):
                print(f"files root: {self._files_root()}")
        elif name == "/tools":
            settings = getattr(self.agent, "settings", None)
            tools = [t for t in getattr(settings, "tools", ()) if hasattr(t, "name")]
            if not tools:
                print("no tools")
            for t in tools:
                description = (t.description or "").strip().splitlines()
                print(f"{t.name}  {description[0] if description else ''}".rstrip())
        elif name == "/session":
            if self.session_id is None:
                print("not stored: the conversation lives in memory until you leave (start with --session ID to keep it)")
            else:
                print(self._session_place())
        else:
            print(f"unknown command {name}; /help lists the commands")
        return True

    # -- turns ---------------------------------------------------------------------------------

    async def _turn(self, text: str, printer: EventPrinter) -> None:
        result = None
        user = self.args.user
        if self.session_id is not None:
            stream = self.agent.session(self.session_id, user_id=user).astream(text)
        else:
            stream = self.agent.astream(text, history=list(self.history), user_id=user)
        async for event in stream:
            printer.event(event)
            if getattr(event, "type", None) == "run_completed":
                result = event.result
        if result is not None and self.session_id is None:
            self.history.extend(result.messages)

    def turn(self, text: str) -> None:
        printer = EventPrinter()
        try:
            self.runner.run(self._turn(text, printer))
        except KeyboardInterrupt:
            printer.close()
            say("[cancelled]")
            return
        except Exception as exc:
            printer.close()
            if isinstance(exc, BrokenPipeError):
                raise
            report(exc, debug=self.args.debug)
            return
        printer.close()

    def loop(self) -> int:
        name = getattr(self.agent, "name", None) or "agent"
        model = getattr(self.agent, "model", None) or self.model or ""
        say(f"agentkit chat with {name} ({model}); /help for commands, Ctrl-D to leave")
        try:
            while True:
                try:
                    line = input(PROMPT)
                except EOFError:
                    print()
                    break
                except KeyboardInterrupt:
                    print()
                    continue
                line = line.strip()
                if not line:
                    continue
                if line.startswith("/"):
                    if not self.command(line):
                        break
                    continue
                self.turn(line)
        finally:
            try:
                self.runner.run(close_agent(self.agent))
            finally:
                self.runner.close()
        return 0


def run(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        _setup_readline()
    return Chat(args).loop()
