"""A local model calls a tool: SmolLM2-135M, in-process, through agentkit-llamacpp.

    python examples/local_tool_call.py                     # what `./dev.sh demo` runs
    python examples/local_tool_call.py --city Oslo

No key, no server, no network: llama-cpp-python runs the model inside this process. The
agent *forces* one round of calls to ``get_weather`` with ``tool_choice`` (a 135M-parameter
model will not reliably choose to call a tool on its own, but with the tool forced, a grammar
makes its arguments valid JSON of the tool's schema); once the tool's result is in, the model
answers from it. The answer's wording is the small model's own.
"""

from __future__ import annotations

import argparse
import sys

from agentkit import Agent, tool
from agentkit.cli import run_script


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    return f"The weather in {city} is sunny, 24 degrees Celsius."


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--city", default="Paris")
    parser.add_argument("--model", default="llamacpp/smollm2", help="default: llamacpp/smollm2")
    args = parser.parse_args()

    agent = Agent(
        args.model,
        system="You are a weather assistant. Use the get_weather tool, then answer in one sentence.",
        tools=[get_weather],
        tool_choice="get_weather",  # one forced round of tool calls, then the answer
        params={"temperature": 0, "seed": 42, "max_tokens": 96},
        max_turns=3,
    )
    result = agent.run(f"What is the weather like in {args.city}?")

    calls = [call for m in result.messages if m.role == "assistant" for call in m.tool_calls]
    results = [m for m in result.messages if m.role == "tool"]
    for call in calls:
        print(f"tool call:   {call.name}({call.arguments})")
    for message in results:
        print(f"tool result: {message.content}")
    print(f"answer:      {result.text.strip()}")

    # The protocol, not the wording: one forced call with a city, its result, a text answer.
    ok = (
        len(calls) == 1
        and calls[0].name == "get_weather"
        and len(results) == 1
        and not results[0].is_error
        and bool(result.text.strip())
        and result.turns == 2
    )
    if not ok:
        print(
            "unexpected run: expected one get_weather call, its result, then a text answer", file=sys.stderr
        )
    return 0 if ok else 1


if __name__ == "__main__":
    run_script(main)  # a failure ends as one line and a hint, as with the agentkit command
