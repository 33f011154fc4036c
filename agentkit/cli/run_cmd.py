"""``agentkit run``: one prompt, one streamed answer.

The prompt is the PROMPT argument, or standard input when PROMPT is ``-`` or missing (and
stdin is not a terminal). With ``--session ID`` the exchange is stored in that session, one
complete turn at a time, so Ctrl-C (exit code 130) keeps everything up to the last complete
turn.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import AsyncRunner, build_agent, say
from ._exit import UsageFailure
from ._render import EventPrinter

__all__ = ["read_prompt", "run"]


def read_prompt(args: argparse.Namespace) -> str:
    """PROMPT, or all of standard input for ``-`` or no PROMPT."""
    prompt = args.prompt
    if prompt is not None and prompt != "-":
        if not prompt.strip():
            raise UsageFailure("the prompt is empty", hint='ask something: agentkit run "..."')
        return str(prompt)
    if prompt is None and sys.stdin is not None and sys.stdin.isatty():
        raise UsageFailure("no prompt", hint='give one (agentkit run "...") or pipe it: echo "..." | agentkit run')
    text = sys.stdin.read() if sys.stdin is not None else ""
    if not text.strip():
        raise UsageFailure("the prompt read from standard input is empty")
    return text


async def close_agent(agent: Any) -> None:
    """Release the agent's connections, if it holds any."""
    aclose = getattr(agent, "aclose", None)
    if aclose is not None:
        await aclose()


def run(args: argparse.Namespace) -> int:
    prompt = read_prompt(args)
    agent = build_agent(args)
    structured = getattr(getattr(agent, "settings", None), "output_type", None) is not None
    printer = EventPrinter(json_lines=args.json, show_output=structured and not args.json)
    kwargs: dict[str, Any] = {}
    if args.images:
        kwargs["images"] = list(args.images)
    if args.user and not args.session:
        kwargs["user_id"] = args.user

    async def go() -> None:
        try:
            source: Any = agent.session(args.session, user_id=args.user) if args.session else agent
            async for event in source.astream(prompt, **kwargs):
                printer.event(event)
        finally:
            await close_agent(agent)

    with AsyncRunner() as runner:
        try:
            runner.run(go())
        except KeyboardInterrupt:
            printer.close()
            if args.session:
                say(f"agentkit: interrupted; session {args.session!r} keeps every complete exchange (not this one)")
            raise
        printer.close()
    return 0
