"""A SQLite session store filled by real runs, for agentkit-ui's tests (conftest.py makes it
once per test run; the module's name is unique, as plugins' tests share the interpreter).

``agent.run()`` through sessions, against the fake OpenAI-compatible server on 127.0.0.1
(agentkit.testing.fake_openai): a tool call and its result, a message holding ``<script>``,
a structured answer, an image, a long multi-call session with prices (so costs). One more
session of 10,000 messages is written through the store API (``put_session``): a run that
long would only slow the tests down, and the viewer reads it the same way.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

from agentkit import Agent, ImagePart, UserMessage, tool
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, Usage
from agentkit.stores import SessionInfo, close_shared_stores, open_store, utcnow
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call

KEY = "sk-test-ui-3b7e"
SCRIPT = "<script>document.title='pwned'</script>"
XSS_ANSWER = f"Here it is: {SCRIPT}<img src=x onerror=\"document.title='pwned'\"> &amp; done"
PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}
# a 2x2 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
BIG = "long-haul"
BIG_COUNT = 10_000


@tool
def get_weather(city: str) -> dict[str, object]:
    """Today's weather in a city."""
    return {"city": city, "sky": "sunny", "celsius": 21}


def fill(db: Path) -> None:
    storage = f"sqlite:{db}"
    with FakeOpenAIServer(api_key=KEY) as server:

        def agent(**options: Any) -> Agent:
            return Agent(
                "openai/gpt-4o-mini",
                base_url=server.base_url,
                api_key=KEY,
                storage=storage,
                prices=PRICES,
                **options,
            )

        server.reset([tool_call("get_weather", {"city": "Paris"}), "It is sunny in Paris, 21 °C."])
        agent(tools=[get_weather]).session("weather-paris", user_id="ada").run("What's the weather in Paris?")

        server.reset([XSS_ANSWER])
        agent().session("xss", user_id="mallory").run(f"Repeat this back: {SCRIPT}")

        server.reset(['{"name": "Ada Lovelace", "born": 1815, "fields": ["mathematics", "computing"]}'])
        agent(
            output_type={
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "born": {"type": "integer"},
                    "fields": {"type": "array", "items": {"type": "string"}},
                },
            }
        ).session("structured", user_id="ada").run("Who was Ada Lovelace? Answer as JSON.")

        server.reset(["A small red square."])
        agent().session("picture", user_id="bob").run(
            UserMessage(["What is in this picture?", ImagePart(data=PNG)])
        )

        server.reset(
            [
                FakeReply(
                    text="Let me check.",
                    tool_calls=(tool_call("get_weather", {"city": c}),),
                    usage={"prompt_tokens": 200 + 150 * n, "completion_tokens": 30 + 10 * n},
                )
                for n, c in enumerate(["Oslo", "Rome", "Lima", "Kyiv"])
            ]
            + [FakeReply(text="Oslo is coldest.", usage={"prompt_tokens": 900, "completion_tokens": 80})]
        )
        agent(tools=[get_weather]).session("tour", user_id="bob").run(
            "Which of Oslo, Rome, Lima, Kyiv is coldest?"
        )
    close_shared_stores()


def big(db: Path) -> None:
    import asyncio

    async def write() -> None:
        store = open_store(f"sqlite:{db}")
        messages: list[object] = [UserMessage("Start the long job.")]
        n = 0
        while len(messages) < BIG_COUNT:
            n += 1
            call = ToolCall(f"c{n}", "step", f'{{"n": {n}}}')
            messages.append(
                AssistantMessage(
                    f"step {n}",
                    (call,),
                    model="gpt-4o-mini",
                    usage=Usage(100 + n % 50, 10 + n % 7, requests=1),
                )
            )
            messages.append(ToolMessage(f"c{n}", "step", f"done {n}"))
        messages = messages[:BIG_COUNT]
        now = utcnow()
        info = SessionInfo(
            BIG,
            "ops",
            now,
            now,
            "A 10,000-message session",
            "openai/gpt-4o-mini",
            usage=Usage(1_000_000, 100_000, requests=n),
        )
        await store.put_session(info, messages)  # type: ignore[arg-type]
        await store.aclose()

    asyncio.run(write())


def need(message: str) -> NoReturn:
    """Skip for want of a test prerequisite, except under CI, where that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must install it (dev.sh test_prerequisites, requirements-dev.txt)")
    pytest.skip(message)


def chromium_path() -> str:
    """Debian's Chromium (``.ci/run`` installs it: dev.sh test_prerequisites); its tests are
    skipped without it, except under CI, where that is a failure."""
    path = os.environ.get("AGENTKIT_TEST_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        need(f"Chromium not found at {path} (apt-get install chromium)")
    return path
