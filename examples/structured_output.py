"""Structured output: turn a traveller's message into a typed itinerary.

    export OPENAI_API_KEY=sk-...
    python examples/structured_output.py "Ada flies Lisbon to Paris on June 6, back on the 9th. Hotel under 150 a night."
    python examples/structured_output.py --model ollama/qwen3:8b "..."   # any provider

``Agent(output_type=Itinerary)`` asks the model for JSON matching the schema of the attrs
classes below (natively where the provider supports it, through a ``final_answer`` tool
elsewhere), checks the answer, asks again with the errors when it does not match, and
returns an ``Itinerary`` instance in ``result.output``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Literal

import attrs

from agentkit import Agent
from agentkit.cli import run_script


@attrs.frozen
class Leg:
    """One flight of the trip.

    Attributes:
        origin: departure city
        destination: arrival city
        date: the day, as YYYY-MM-DD
    """

    origin: str
    destination: str
    date: str


@attrs.frozen
class Itinerary:
    """A trip, as the traveller described it.

    Attributes:
        traveller: the traveller's name
        legs: the flights, in order
        hotel_budget_per_night: the most the traveller will pay a night, if they said
        purpose: why they travel
    """

    traveller: str
    legs: list[Leg]
    hotel_budget_per_night: float | None
    purpose: Literal["business", "leisure", "unknown"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("message", nargs="?", default=(
        "Hi, this is Ada. I need to be in Paris for a conference: leaving Lisbon on 2025-06-06 and flying "
        "back on 2025-06-09. Hotel up to 150 EUR a night."
    ))  # fmt: skip
    parser.add_argument("--model", default=os.environ.get("AGENTKIT_EXAMPLE_MODEL", "openai/gpt-4o-mini"))
    parser.add_argument(
        "--base-url",
        default=os.environ.get("AGENTKIT_EXAMPLE_BASE_URL"),
        help="an OpenAI-compatible server to use instead of the provider's own",
    )
    args = parser.parse_args()

    agent = Agent(
        args.model,
        base_url=args.base_url,
        system="Extract the itinerary from the traveller's message. Use null for what they did not say.",
        output_type=Itinerary,
        output_retries=2,  # re-ask at most twice when the answer does not match the schema
    )
    result = agent.run(args.message)
    itinerary: Itinerary = result.output
    print(f"{itinerary.traveller} ({itinerary.purpose}):")
    for leg in itinerary.legs:
        print(f"  {leg.date}  {leg.origin} -> {leg.destination}")
    if itinerary.hotel_budget_per_night is not None:
        print(f"  hotel: at most {itinerary.hotel_budget_per_night:g} a night")
    print("as JSON:", json.dumps(attrs.asdict(itinerary)))


if __name__ == "__main__":
    run_script(main)  # a failure ends as one line and a hint, as with the agentkit command
