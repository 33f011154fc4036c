"""An agent assembled from a config file: examples/agentkit.toml.

    export OPENAI_API_KEY=sk-...
    python examples/config_agent.py "Weather in Lisbon this weekend?"
    python examples/config_agent.py --agent travel-us "Weather in Boston tomorrow?"
    python examples/config_agent.py --session weekend "Weather in Lisbon this weekend?"   # stored in SQLite

The model, system prompt, tools (by the names a plugin registered), their settings,
guardrails and the session store all come from the file; the code only picks an agent and
asks. ``--config`` reads another file, ``--base-url`` points the agent at any
OpenAI-compatible server. Needs the agentkit-weather plugin
(``pip install -e examples/plugins/agentkit-weather``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from agentkit import ToolMessage
from agentkit.cli import run_script
from agentkit.config import load_config

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("question", nargs="?", default="What's the weather in Lisbon for the next two days?")
    parser.add_argument("--config", default=str(HERE / "agentkit.toml"), help="the config file")
    parser.add_argument("--agent", help="which agent of the file (default: its default_agent)")
    parser.add_argument("--session", help="store the exchange in this session")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("AGENTKIT_EXAMPLE_BASE_URL"),
        help="an OpenAI-compatible server to use instead of the provider's own",
    )
    args = parser.parse_args()

    config = load_config(args.config)  # checked now: unknown keys, tools, guardrails, ... are errors
    for notice in config.notices:
        print(f"note: {notice}")
    agent = config.agent(args.agent, base_url=args.base_url)  # keyword overrides win over the file
    print(f"agent {agent.name!r}: {agent.model}, tools {[t.name for t in agent.settings.tools]}")
    runner = agent.session(args.session) if args.session else agent  # a session stores the exchange
    result = runner.run(args.question)
    for message in result.messages:
        if isinstance(message, ToolMessage):
            print(f"  tool {message.name} -> {message.content[:120]}")
    print(f"answer: {result.text}")


if __name__ == "__main__":
    run_script(main)  # a failure ends as one line and a hint, as with the agentkit command
