"""A travel assistant: tools, a templated system prompt, and two guardrails.

    export OPENAI_API_KEY=sk-...
    python examples/travel_assistant.py "I fly from Lisbon to Paris on 2025-06-06. Weather? Flights? ada@example.com"

    python examples/travel_assistant.py --model ollama/qwen3:8b "..."          # any provider
    python examples/travel_assistant.py --model llamacpp/smollm2               # in-process, no key
    python examples/travel_assistant.py --base-url http://127.0.0.1:8080/v1 "..."  # any OpenAI-compatible server

What it shows:

- tools (``get_weather``, ``find_flights``, ``book_flight``) with typed arguments, one of them
  reading the traveller from the run's context (``deps``);
- a system prompt with ``{{placeholders}}`` filled from ``template_params``, and a user template;
- guardrails: the built-in ``pii_redactor`` (the model never sees the e-mail address) and a
  custom one that refuses to book a flight over the traveller's budget (the model is told
  why, and can offer something else);
- a hook that prints every tool call and its result as it happens;
- ``final_turn="answer"``: the last turn ``max_turns`` allows has no tools, so even a small local
  model that keeps calling ends with an answer (the loop guard answers a repeated call).

The flight and weather data are made up, so the answers are only as true as a demo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os

import attrs

from agentkit import Agent, RunContext, ToolCall, ToolMessage, tool
from agentkit.cli import run_script
from agentkit.guardrails import Guardrail, Verdict


@attrs.frozen
class Flight:
    """A flight on offer."""

    id: str
    origin: str
    destination: str
    departs: str
    price_eur: float


FLIGHTS = (
    Flight("AK101", "LIS", "PAR", "07:10", 89.0),
    Flight("AK205", "LIS", "PAR", "12:45", 145.0),
    Flight("AK311", "LIS", "PAR", "19:30", 320.0),
    Flight("AK402", "PAR", "LIS", "09:05", 99.0),
)


@attrs.frozen
class Traveller:
    """Who the assistant works for; tools and guardrails get it as ``ctx.deps``."""

    name: str
    budget_eur: float


@tool
def get_weather(city: str, date: str) -> dict[str, object]:
    """Get the weather forecast for a city on a day.

    Args:
        city: The city, e.g. "Paris".
        date: The day, as YYYY-MM-DD.
    """
    score = sum(map(ord, city.lower() + date)) % 4
    sky = ("sunny", "cloudy", "light rain", "showers")[score]
    return {
        "city": city,
        "date": date,
        "sky": sky,
        "high_c": 18 + score * 2,
        "umbrella": "rain" in sky or "shower" in sky,
    }


@tool
def find_flights(origin: str, destination: str, date: str) -> list[Flight]:
    """Find flights between two airports on a day, cheapest first.

    Args:
        origin: IATA code of the departure airport, e.g. "LIS".
        destination: IATA code of the arrival airport, e.g. "PAR".
        date: The day, as YYYY-MM-DD.
    """
    found = [f for f in FLIGHTS if (f.origin, f.destination) == (origin.upper(), destination.upper())]
    return sorted(found, key=lambda f: f.price_eur)


@tool
def book_flight(flight_id: str, ctx: RunContext) -> str:
    """Book a flight for the traveller.

    Args:
        flight_id: The id of a flight that find_flights returned.
    """
    traveller: Traveller = ctx.deps
    code = sum(map(ord, flight_id + traveller.name)) * 7919 % 10_000
    return f"Booked {flight_id} for {traveller.name}. Confirmation code: X{code:04d}."


class WithinBudget(Guardrail):
    """Refuses to book a flight that costs more than the traveller's budget."""

    name = "within_budget"

    async def check_tool_call(self, call: ToolCall, ctx: RunContext | None) -> Verdict:
        if call.name != "book_flight" or ctx is None:
            return Verdict.allow()
        flight_id = json.loads(call.arguments or "{}").get("flight_id")
        flight = next((f for f in FLIGHTS if f.id == flight_id), None)
        budget = ctx.deps.budget_eur
        if flight is not None and flight.price_eur > budget:
            return Verdict.refuse(
                f"{flight.id} costs {flight.price_eur:.0f} EUR, over the traveller's budget of {budget:.0f} EUR; "
                "offer a cheaper flight instead"
            )
        return Verdict.allow()


def show_tool_call(call: ToolCall, result: ToolMessage) -> None:
    """An ``after_tool_call`` hook: print each call as it is answered."""
    status = "refused/failed" if result.is_error else "ok"
    print(f"  tool {call.name}({call.arguments}) -> {status}: {result.content[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("question", nargs="?", default=(
        "I'm flying from Lisbon to Paris on 2025-06-06. What's the weather there, and can you book "
        "the 19:30 flight? Send the details to ada@example.com."
    ))  # fmt: skip
    parser.add_argument("--model", default=os.environ.get("AGENTKIT_EXAMPLE_MODEL", "openai/gpt-4o-mini"))
    parser.add_argument(
        "--base-url",
        default=os.environ.get("AGENTKIT_EXAMPLE_BASE_URL"),
        help="an OpenAI-compatible server to use instead of the provider's own",
    )
    parser.add_argument("--traveller", default="Ada")
    parser.add_argument("--budget", type=float, default=200.0, help="flight budget in EUR (default 200)")
    args = parser.parse_args()

    agent = Agent(
        args.model,
        base_url=args.base_url,
        system=(
            "You are the travel assistant of {{agency}}. You work for {{traveller}}, whose flight budget "
            "is {{budget}} EUR. Today is {{today}}. Use the tools; never invent flights or weather."
        ),
        template_params={"agency": "Acme Travel", "today": dt.date.today().isoformat()},
        user_template="{{message}}\n\n(Answer in at most three sentences.)",
        tools=[get_weather, find_flights, book_flight],
        guardrails=["pii_redactor", WithinBudget()],
        hooks={"after_tool_call": show_tool_call},
        max_turns=6,
        final_turn="answer",
    )
    traveller = Traveller(args.traveller, args.budget)
    print(f"question: {args.question}")
    result = agent.run(
        args.question,
        deps=traveller,
        template_params={"traveller": traveller.name, "budget": f"{traveller.budget_eur:.0f}"},
    )
    print(f"answer: {result.text}")
    print(
        f"({result.turns} model calls, {result.usage.input_tokens} tokens in, {result.usage.output_tokens} out)"
    )


if __name__ == "__main__":
    run_script(main)  # a failure ends as one line and a hint, as with the agentkit command
