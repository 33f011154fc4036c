"""The example scripts run, as users run them: subprocesses against a loopback fake OpenAI server.

Each example takes ``--base-url`` (any OpenAI-compatible server); here it is a
:class:`~agentkit.testing.fake_openai.FakeOpenAIServer` playing the model from a script, so
the tests check the protocol (what the model was sent, which tools ran, what was stored), not
a model's wording. ``local_tool_call.py`` runs a real local model, and ``travel_assistant.py`` and
``persistent_chat.py`` run on one too (``--model llamacpp/smollm2``); those tests are marked ``llama``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake(server: FakeOpenAIServer) -> FakeOpenAIServer:
    return server.reset()


def example(
    name: str, *args: str, home: Path, server: FakeOpenAIServer | None = None, timeout: float = 120
) -> str:
    """Run ``examples/<name>`` in a subprocess; return its output (it must exit 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1")
    extra = ["--base-url", server.base_url] if server is not None else []
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args, *extra],
        cwd=home.parent, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return list(request["messages"])


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content or ""


# -- travel_assistant.py ---------------------------------------------------------------------------


def test_travel_assistant_uses_tools_templates_and_guardrails(fake: FakeOpenAIServer, tmp_path: Path) -> None:
    fake.reset([
        [tool_call("get_weather", {"city": "Paris", "date": "2025-06-06"}),
         tool_call("find_flights", {"origin": "LIS", "destination": "PAR", "date": "2025-06-06"})],
        tool_call("book_flight", {"flight_id": "AK311"}),   # 320 EUR: over the budget, refused
        tool_call("book_flight", {"flight_id": "AK205"}),   # 145 EUR: booked
        "Light rain in Paris; I booked AK205 at 12:45 for 145 EUR.",
    ])  # fmt: skip
    out = example("travel_assistant.py", "--budget", "200", home=tmp_path / "home", server=fake)

    first = messages(fake.chat_requests[0])
    system, user = first[0], first[-1]
    assert system["role"] == "system"
    assert "travel assistant of Acme Travel" in text_of(
        system
    ) and "Ada, whose flight budget is 200 EUR" in text_of(system)
    assert "{{" not in text_of(system)
    assert "ada@example.com" not in text_of(user) and "(Answer in at most three sentences.)" in text_of(user)
    assert {t["function"]["name"] for t in fake.chat_requests[0]["tools"]} == {
        "get_weather",
        "find_flights",
        "book_flight",
    }

    weather, flights = messages(fake.chat_requests[1])[-2:]
    assert weather["role"] == flights["role"] == "tool"
    assert json.loads(weather["content"])["city"] == "Paris"
    assert [f["id"] for f in json.loads(flights["content"])] == ["AK101", "AK205", "AK311"]
    refused = messages(fake.chat_requests[2])[-1]
    assert "over the traveller's budget of 200 EUR" in refused["content"]
    booked = messages(fake.chat_requests[3])[-1]
    assert booked["content"].startswith("Booked AK205 for Ada.")

    assert "tool book_flight" in out and "refused/failed" in out
    assert "answer: Light rain in Paris; I booked AK205" in out
    assert len(fake.chat_requests) == 4


# -- persistent_chat.py ----------------------------------------------------------------------------


def test_persistent_chat_keeps_sessions_and_memories_across_processes(
    fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    fake.reset([tool_call("remember", {"text": "Prefers window seats"}), "Noted: window seats."])
    out = example(
        "persistent_chat.py",
        "--session",
        "trip-1",
        "Remember that I prefer window seats.",
        home=home,
        server=fake,
    )
    assert "tool remember" in out and "concierge: Noted: window seats." in out
    assert "0 stored messages before this run, 4 now" in out
    assert {t["function"]["name"] for t in fake.chat_requests[0]["tools"]} == {"remember", "recall"}

    # A second process continues the session: the model is sent the first exchange from SQLite.
    fake.reset(["You asked me to remember that you prefer window seats."])
    out = example(
        "persistent_chat.py", "--session", "trip-1", "What did I ask you to remember?", home=home, server=fake
    )
    sent = [(m["role"], text_of(m)) for m in messages(fake.chat_requests[0])]
    assert ("user", "Remember that I prefer window seats.") in sent
    assert ("assistant", "Noted: window seats.") in sent
    assert sent[-1] == ("user", "What did I ask you to remember?")
    assert "4 stored messages before this run, 6 now" in out

    # A third process, a new session: nothing of trip-1 is sent, but the memory is recalled.
    fake.reset(["Window seats to Oslo, noted."])
    example(
        "persistent_chat.py",
        "--session",
        "trip-2",
        "Book me window seats to Oslo on Friday.",
        home=home,
        server=fake,
    )
    sent_text = [text_of(m) for m in messages(fake.chat_requests[0])]
    assert not any("What did I ask" in t for t in sent_text)
    memory_blocks = [t for t in sent_text if t.startswith("<memory>")]
    assert len(memory_blocks) == 1 and "Prefers window seats" in memory_blocks[0]

    # --show reads it all back without calling the model.
    fake.reset()
    out = example("persistent_chat.py", "--session", "trip-1", "--show", home=home)
    assert "session 'trip-1' of 'ada': 6 messages" in out
    assert "memories about 'ada': 1" in out and "- Prefers window seats" in out
    assert fake.chat_requests == []
    assert (home / "agentkit.db").is_file() and (home / "memory.db").is_file()


# -- structured_output.py --------------------------------------------------------------------------


def test_structured_output_returns_a_typed_itinerary(fake: FakeOpenAIServer, tmp_path: Path) -> None:
    itinerary = {
        "traveller": "Ada",
        "legs": [
            {"origin": "Lisbon", "destination": "Paris", "date": "2025-06-06"},
            {"origin": "Paris", "destination": "Lisbon", "date": "2025-06-09"},
        ],
        "hotel_budget_per_night": 150,
        "purpose": "business",
    }
    fake.reset(['{"traveller": "Ada", "legs": "two"}', json.dumps(itinerary)])  # a bad answer first: re-asked
    out = example("structured_output.py", home=tmp_path / "home", server=fake)

    response_format = fake.chat_requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert set(schema["properties"]) == {"traveller", "legs", "hotel_budget_per_night", "purpose"}
    assert schema["properties"]["purpose"]["enum"] == ["business", "leisure", "unknown"]
    assert len(fake.chat_requests) == 2
    retry = text_of(messages(fake.chat_requests[1])[-1])
    assert "does not match the required schema" in retry and "$.legs" in retry
    assert "Ada (business):" in out
    assert "2025-06-06  Lisbon -> Paris" in out and "hotel: at most 150 a night" in out
    printed = json.loads(out.split("as JSON:", 1)[1])
    assert printed == {**itinerary, "hotel_budget_per_night": 150.0}


# -- config_agent.py and agentkit.toml -------------------------------------------------------------


def test_config_agent_builds_the_agent_from_the_file(fake: FakeOpenAIServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    fake.reset([tool_call("forecast", {"city": "Lisbon", "days": 2}), "Sunny in Lisbon both days."])
    out = example(
        "config_agent.py", "--session", "weekend", "Weather in Lisbon this weekend?", home=home, server=fake
    )

    request = fake.chat_requests[0]
    assert request["model"] == "gpt-4o-mini" and request["temperature"] == 0.2
    assert text_of(request["messages"][0]).startswith("You are the travel assistant of Acme Travel.")
    assert {t["function"]["name"] for t in request["tools"]} == {"forecast", "convert_temperature"}
    days = json.loads(messages(fake.chat_requests[1])[-1]["content"])
    assert [d["city"] for d in days] == ["Lisbon", "Lisbon"] and {d["units"] for d in days} == {"celsius"}
    assert "agent 'travel': openai/gpt-4o-mini" in out and "answer: Sunny in Lisbon both days." in out
    assert (home / "agentkit.db").is_file()  # storage = "sqlite", from the file

    fake.reset([tool_call("forecast", {"city": "Boston"}), "Mild."])
    example("config_agent.py", "--agent", "travel-us", "Boston?", home=home, server=fake)
    (day,) = json.loads(messages(fake.chat_requests[1])[-1]["content"])
    assert day["units"] == "fahrenheit"


def test_the_example_config_passes_agentkit_config_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env["AGENTKIT_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "config", "check", "-c", str(EXAMPLES / "agentkit.toml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- failures end as the agentkit command's do ----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["travel_assistant.py", "structured_output.py", "config_agent.py", "persistent_chat.py"]
)
def test_an_example_without_a_key_ends_with_the_clis_two_line_error(name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env["AGENTKIT_HOME"] = str(tmp_path / "home")
    args = ["--session", "s1", "Hi"] if name == "persistent_chat.py" else []
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr  # a provider error, as docs/cli.md says
    assert proc.stderr.splitlines() == [
        "agentkit: error: openai/gpt-4o-mini: no API key: set the environment variable OPENAI_API_KEY",
        "hint: export OPENAI_API_KEY=..., or pass api_key= / api_key_env= in the provider settings",
    ]
    assert "Traceback" not in proc.stdout


def test_agentkit_debug_shows_an_examples_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), AGENTKIT_DEBUG="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "structured_output.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 4
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().endswith("or pass api_key= / api_key_env= in the provider settings")


# -- local_tool_call.py: a real local model --------------------------------------------------------


@pytest.mark.llama
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_local_tool_call_with_smollm2(tmp_path: Path) -> None:
    out = example("local_tool_call.py", "--city", "Lisbon", home=tmp_path / "home", timeout=600)
    lines = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    call = lines["tool call"].strip()
    assert call.startswith("get_weather(") and json.loads(call[len("get_weather(") : -1])["city"]
    assert lines["tool result"].strip().startswith("The weather in ")
    assert lines["answer"].strip()


def example_on_smollm2(name: str, *args: str, home: Path) -> tuple[str, str]:
    """Run an agent example on SmolLM2 in-process; its stdout and stderr (it must exit 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--model", "llamacpp/smollm2", *args],
        cwd=home.parent, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    return proc.stdout, proc.stderr


@pytest.mark.llama
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_travel_assistant_on_smollm2_ends_with_an_answer(tmp_path: Path) -> None:
    out, _ = example_on_smollm2("travel_assistant.py", home=tmp_path / "home")
    answer = next(line for line in out.splitlines() if line.startswith("answer:"))
    assert answer[len("answer:") :].strip()
    calls = [line for line in out.splitlines() if line.strip().startswith("tool ")]
    assert not [line for line in calls if "invalid arguments" in line]  # the grammar made them valid


@pytest.mark.llama
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_persistent_chat_on_smollm2_ends_with_an_answer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    message = "Remember that I prefer window seats, eat vegetarian meals and fly from Lisbon."
    out, _ = example_on_smollm2("persistent_chat.py", "--session", "trip-1", message, home=home)
    reply = next(line for line in out.splitlines() if line.startswith("concierge:"))
    assert reply[len("concierge:") :].strip()
    out, _ = example_on_smollm2("persistent_chat.py", "--session", "trip-1", "--show", home=home)
    assert "session 'trip-1' of 'ada'" in out
