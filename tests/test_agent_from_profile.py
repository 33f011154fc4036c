"""Profiles from code, as users of the async loop wrote them: ``Agent.from_profile("openai")``.

A real ``agentkit.toml`` (found in the working directory, or named by ``$AGENTKIT_CONFIG``),
the real plugin host, and runs against a loopback OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentkit
from agentkit import Agent, ConfigError
from agentkit.config import CONFIG_ENV, find_config, load_config
from agentkit.plugins import PluginHost, set_host
from agentkit.testing.fake_openai import FakeOpenAIServer

KEY = "sk-test-profile-key"


@pytest.fixture
def host() -> Iterator[PluginHost]:
    """The plugin host users get: built-ins and every installed plugin."""
    host = PluginHost()
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY, default="ok") as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAIServer) -> Path:
    """A project folder with an agentkit.toml, as the working directory."""
    folder = tmp_path / "project"
    folder.mkdir()
    write_toml(folder / "agentkit.toml", fake)
    monkeypatch.chdir(folder)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("PROFILE_TEST_KEY", KEY)
    fake.reset([], default="ok")
    return folder


def write_toml(path: Path, server: FakeOpenAIServer, *, system: str = "You are terse.") -> Path:
    path.write_text(
        textwrap.dedent(
            f"""
            [profiles.default]
            params = {{ temperature = 0.2 }}

            [profiles.openai]
            model = "openai/gpt-4o-mini"
            system = "{system}"
            max_turns = 4

            [profiles.local]
            model = "ollama/llama3.2"

            [providers.openai]
            base_url = "{server.base_url}"
            api_key_env = "PROFILE_TEST_KEY"
            max_retries = 0

            [agents.helper]
            profile = "openai"
            system = "You help."
            """
        ),
        encoding="utf-8",
    )
    return path


def test_from_profile_builds_and_runs_the_profile(
    project: Path, host: PluginHost, fake: FakeOpenAIServer
) -> None:
    agent = Agent.from_profile("openai")
    assert agent.name == "openai" and agent.model == "openai/gpt-4o-mini"
    assert agent.settings.max_turns == 4
    assert agent.run("Hi").text == "ok"
    body = fake.chat_requests[-1]
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.2  # from [profiles.default], under the profile
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert fake.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_keyword_overrides(project: Path, host: PluginHost, fake: FakeOpenAIServer) -> None:
    agent = Agent.from_profile("openai", model="openai/gpt-4o", max_turns=2, params={"seed": 7})
    assert (agent.model, agent.settings.max_turns) == ("openai/gpt-4o", 2)
    agent.run("Hi")
    body = fake.chat_requests[-1]
    assert body["model"] == "gpt-4o"
    assert (body["temperature"], body["seed"]) == (0.2, 7)  # params merged over the file's
    assert (
        fake.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    )  # the provider's settings still apply

    with pytest.raises(ConfigError, match=r"unknown option 'max_turn' \(did you mean 'max_turns'\?\)"):
        Agent.from_profile("openai", max_turn=3)


def test_async_use(project: Path, host: PluginHost, fake: FakeOpenAIServer) -> None:
    async def main() -> str:
        async with Agent.from_profile("openai") as agent:
            return (await agent.arun("Hi")).text

    assert asyncio.run(main()) == "ok"
    assert fake.chat_requests[-1]["model"] == "gpt-4o-mini"


def test_from_config_with_a_loaded_config(project: Path, host: PluginHost, fake: FakeOpenAIServer) -> None:
    cfg = agentkit.load_config()
    assert Agent.from_config(cfg, profile="openai").model == "openai/gpt-4o-mini"

    helper = Agent.from_config(cfg, "helper", max_turns=3)
    assert (helper.name, helper.settings.max_turns, helper.system) == ("helper", 3, "You help.")
    helper.run("Hi")
    assert fake.chat_requests[-1]["messages"][0]["content"] == "You help."

    swapped = Agent.from_config(cfg, "helper", profile="local")  # the agent, on another profile
    assert (swapped.model, swapped.system) == ("ollama/llama3.2", "You help.")

    default = Agent.from_config(
        load_config(cwd=project), model="openai/gpt-4o-mini"
    )  # [profiles.default] alone
    assert default.settings.params == {"temperature": 0.2}

    with pytest.raises(ConfigError, match="expected a Config"):
        Agent.from_config({"model": "openai/gpt-4o"})  # type: ignore[arg-type]


def test_agentkit_config_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost, fake: FakeOpenAIServer
) -> None:
    elsewhere = write_toml(tmp_path / "team.toml", fake, system="From AGENTKIT_CONFIG.")
    work = tmp_path / "work"
    work.mkdir()
    write_toml(work / "agentkit.toml", fake, system="From the working directory.")
    monkeypatch.chdir(work)
    monkeypatch.setenv("PROFILE_TEST_KEY", KEY)
    monkeypatch.setenv(CONFIG_ENV, str(elsewhere))
    fake.reset([], default="ok")

    assert find_config() == (elsewhere, "explicit")
    assert Agent.from_profile("openai").system == "From AGENTKIT_CONFIG."
    assert Agent.from_profile("openai", config=work / "agentkit.toml").system == "From the working directory."

    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError) as info:
        Agent.from_profile("openai")
    assert info.value.file == str(tmp_path / "missing.toml")
    assert "no such config file" in str(info.value) and CONFIG_ENV in (info.value.hint or "")


def test_agentkit_config_for_the_command_line(
    tmp_path: Path, fake: FakeOpenAIServer, agentkit: object, home: Path
) -> None:
    from _cli_helpers import env_for

    elsewhere = write_toml(tmp_path / "team.toml", fake)
    fake.reset([], default="ok")
    env = env_for(home, AGENTKIT_CONFIG=str(elsewhere), PROFILE_TEST_KEY=KEY)
    shown = agentkit("config", "path", env=env)  # type: ignore[operator]
    assert shown.returncode == 0 and shown.stdout.strip() == str(elsewhere)
    ran = agentkit("run", "-a", "helper", "Hi", env=env)  # type: ignore[operator]
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "ok"
    assert fake.chat_requests[-1]["messages"][0]["content"] == "You help."


def test_errors_name_the_file_and_what_it_defines(project: Path, host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        Agent.from_profile("opnai")
    error = info.value
    assert error.file == str(project / "agentkit.toml")
    assert str(error) == (
        f"{project / 'agentkit.toml'}: profiles: no profile named 'opnai' (did you mean 'openai'?); "
        "defined: default, local, openai; agents: helper"
    )
    with pytest.raises(ConfigError, match=r"no profile named 'helper'.*agents: helper"):
        Agent.from_profile("helper")  # an agent, not a profile: the message lists it
    with pytest.raises(ConfigError, match=r"no agent named 'helpr' \(did you mean 'helper'\?\)"):
        Agent.from_config(load_config(), "helpr", profile="openai")


def test_without_any_file_the_error_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError, match="no profile named 'openai': no config file was found") as info:
        Agent.from_profile("openai")
    assert "agentkit.toml" in (info.value.hint or "") and CONFIG_ENV in (info.value.hint or "")


def test_the_signature_lists_the_options_from_their_one_declaration() -> None:
    from agentkit._run import OPTIONS

    for method in (Agent.from_profile, Agent.from_config):
        params = inspect.signature(method).parameters
        assert set(OPTIONS) <= set(params)
        assert all(params[name].default is None for name in OPTIONS)
        assert list(params.values())[-1].kind is inspect.Parameter.VAR_KEYWORD  # base_url=, api_key=, ...
