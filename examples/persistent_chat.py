"""A chat that remembers: sessions and long-term memory in SQLite, across processes.

Each command below is a separate process; everything lives in ``$AGENTKIT_HOME`` (default
``~/.agentkit``): sessions in ``agentkit.db``, memories in ``memory.db``.

    export OPENAI_API_KEY=sk-...
    python examples/persistent_chat.py --user ada --session trip-1 "Hi! Please remember that I prefer window seats."
    python examples/persistent_chat.py --user ada --session trip-1 "What did I just ask you to remember?"
    python examples/persistent_chat.py --user ada --session trip-2 "Book me window seats to Oslo on Friday."
    python examples/persistent_chat.py --user ada --session trip-1 --show

The second run continues session ``trip-1``: the model is sent the first exchange, loaded from
the store. The third run is a *new* session, but the agent recalls what it knows about Ada (the
model stored it with its ``remember`` tool) and adds it to the context before the first model
call. ``--show`` prints a stored session and Ada's memories without calling the model.

Options: ``--model`` (any provider, e.g. ``ollama/qwen3:8b``, or ``llamacpp/smollm2`` in-process), ``--base-url`` (any
OpenAI-compatible server), ``--home`` (another data directory).
"""

from __future__ import annotations

import argparse
import os

from agentkit import Agent
from agentkit.cli import run_script


def build_agent(model: str, base_url: str | None) -> Agent:
    return Agent(
        model,
        base_url=base_url,
        name="concierge",
        system=(
            "You are a travel concierge. When the user tells you a lasting preference or fact about "
            "themselves, store it with the remember tool. Be brief."
        ),
        storage="sqlite",  # sessions: $AGENTKIT_HOME/agentkit.db
        memory="sqlite",  # long-term memory: $AGENTKIT_HOME/memory.db
        memory_settings={"tools": True, "k": 5},  # remember/recall tools; recall before each run
        max_turns=6,
        final_turn="answer",  # the last turn has no tools: a run ends with an answer
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("message", nargs="?", help="what to say (omit with --show)")
    parser.add_argument("--user", default="ada", help="whose conversation and memories (default: ada)")
    parser.add_argument("--session", default="chat", help="the session id (default: chat)")
    parser.add_argument(
        "--show", action="store_true", help="print the stored session and memories, then exit"
    )
    parser.add_argument("--model", default=os.environ.get("AGENTKIT_EXAMPLE_MODEL", "openai/gpt-4o-mini"))
    parser.add_argument(
        "--base-url",
        default=os.environ.get("AGENTKIT_EXAMPLE_BASE_URL"),
        help="an OpenAI-compatible server to use instead of the provider's own",
    )
    parser.add_argument("--home", help="where to keep the data (default: $AGENTKIT_HOME or ~/.agentkit)")
    args = parser.parse_args()
    if args.home:
        os.environ["AGENTKIT_HOME"] = args.home  # read when the stores open, below
    if not args.show and not args.message:
        parser.error("give a message, or --show")

    agent = build_agent(args.model, args.base_url)
    session = agent.session(args.session, user_id=args.user)

    if not args.show:
        before = session.info.message_count
        result = session.run(args.message)
        for message in result.messages:
            if message.role == "assistant" and message.tool_calls:
                for call in message.tool_calls:
                    print(f"  tool {call.name}({call.arguments})")
        print(f"{agent.name}: {result.text}")
        print(
            f"(session {session.id!r}: {before} stored messages before this run, {session.info.message_count} now)"
        )
        return 0

    print(f"session {session.id!r} of {session.user_id!r}: {session.info.message_count} messages")
    for message in session.history:
        print(f"  {message.role:>9}: {message.text[:100]}")
    memories = agent.memory.for_user(args.user).list()
    print(f"memories about {args.user!r}: {len(memories)}")
    for record in memories:
        print(f"  - {record.text}")
    return 0


if __name__ == "__main__":
    run_script(main)  # a failure ends as one line and a hint, as with the agentkit command
