"""agentkit.toml: finding the file, profiles, interpolation, and every agent option assembled
from config into a real Agent (run against an ad-hoc provider plugin)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentkit
from agentkit.config import Config, find_config, load_agent, load_config
from agentkit.errors import ConfigError
from agentkit.events import ModelResponse
from agentkit.messages import AssistantMessage, SystemMessage
from agentkit.plugins import PluginHost
from agentkit.providers import ModelRequest, Provider

# -- an ad-hoc plugin: a provider that records how it was built, tools, a config section -----------


class RecordingProvider(Provider):
    """Answers "ok: <last user text>" and remembers its factory arguments and requests."""

    name = "echo"
    built: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.requests: list[ModelRequest] = []
        RecordingProvider.built.append(kwargs)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        last = request.messages[-1]
        return ModelResponse(AssistantMessage(content=f"ok: {getattr(last, 'text', '')}", model=request.model))


def echo_factory(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> RecordingProvider:
    import os

    # like real providers: no key given means "read my variable"; "" means no key at all
    key = api_key if api_key is not None else os.environ.get("ECHO_API_KEY")
    return RecordingProvider(base_url=base_url, api_key=key, **settings)


def get_weather(city: str) -> str:
    """Weather for a city.

    :param city: the city
    """
    return f"sunny in {city}"


def files_factory(root: str = ".", follow: bool = False) -> Any:
    def read(path: str) -> str:
        """Read a file under the root."""
        return (Path(root) / path).read_text()

    read.__doc__ = f"Read a file under {root}."
    return read


class TestPlugin:
    @agentkit.hookimpl
    def register_providers(self, registry: Any) -> None:
        registry.add("echo", echo_factory, env_var="ECHO_API_KEY", base_url="https://echo.example/v1")

    @agentkit.hookimpl
    def register_tools(self, registry: Any) -> None:
        registry.add(get_weather)
        registry.add_factory("read", files_factory, settings_key="files")
        registry.add_set("weather-set", ["get_weather"])

    @agentkit.hookimpl
    def register_config_sections(self, registry: Any) -> None:
        registry.add(
            "weather",
            {"type": "object", "properties": {"units": {"enum": ["metric", "imperial"]}}, "additionalProperties": False},
        )


@pytest.fixture
def host() -> Iterator[PluginHost]:
    from agentkit.plugins import set_host

    host = PluginHost(entry_points=False)
    host.register(TestPlugin(), name="agentkit-test")
    old = set_host(host)
    RecordingProvider.built.clear()
    try:
        yield host
    finally:
        set_host(old)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- finding the file ---------------------------------------------------------------------------


def test_project_file_wins_over_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AGENTKIT_HOME", str(home))
    user = write(home / "agentkit.toml", '[agents.u]\nmodel = "echo/a"\n')
    project = write(tmp_path / "proj" / "agentkit.toml", '[agents.p]\nmodel = "echo/b"\n')
    assert find_config(cwd=tmp_path / "proj") == (project, "project")
    assert find_config(cwd=tmp_path) == (user, "user")
    assert find_config(user) == (user, "user")  # given explicitly, still the user's own file
    assert find_config(project) == (project, "explicit")
    monkeypatch.setenv("AGENTKIT_HOME", str(tmp_path / "nowhere"))
    assert find_config(cwd=tmp_path) == (None, "none")
    config = load_config(cwd=tmp_path / "proj")
    assert list(config.agents) == ["p"] and config.source == "project"


def test_missing_explicit_file(tmp_path: Path, host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: no such config file"
    assert info.value.file == str(tmp_path / "nope.toml")


def test_no_file_builds_agents_from_arguments(tmp_path: Path, host: PluginHost) -> None:
    config = load_config(cwd=tmp_path)
    assert config.path is None and config.agents == {}
    agent = config.agent(model="echo/m")
    assert agent.run("hi").text == "ok: hi"
    with pytest.raises(ConfigError, match="no agent named 'x': no config file was found"):
        config.agent("x")


# -- profiles and agents ------------------------------------------------------------------------


def test_profiles_inherit_from_default(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [profiles.default]
        model = "echo/small"
        params = { temperature = 0.1, seed = 1 }
        system = "Be brief."

        [profiles.careful]
        model = "echo/large"
        params = { temperature = 0.0 }

        [agents.quick]
        system = "Be very brief."

        [agents.thinker]
        profile = "careful"
        params = { max_tokens = 50 }
        """,
    )
    config = load_config(path)
    quick = config.agent("quick")
    assert quick.model == "echo/small"
    assert quick.settings.system == "Be very brief."
    assert dict(quick.settings.params) == {"temperature": 0.1, "seed": 1}
    thinker = config.agent("thinker")
    assert thinker.model == "echo/large"
    assert thinker.settings.system == "Be brief."
    assert dict(thinker.settings.params) == {"temperature": 0.0, "seed": 1, "max_tokens": 50}
    assert config.agents["thinker"].profile == "careful"
    assert set(config.profiles) == {"default", "careful"}


def test_default_agent_and_profile_only(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        default_agent = "b"
        [profiles.default]
        model = "echo/m"
        [agents.a]
        system = "A"
        [agents.b]
        system = "B"
        """,
    )
    assert load_config(path).agent().settings.system == "B"
    path = write(tmp_path / "p.toml", '[profiles.default]\nmodel = "echo/m"\nsystem = "P"\n')
    agent = load_config(path).agent()
    assert (agent.model, agent.settings.system, agent.name) == ("echo/m", "P", "default")


def test_every_agent_option_from_config(tmp_path: Path, host: PluginHost) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("hello file")
    (tmp_path / "answer.json").write_text(json.dumps({"type": "object", "properties": {"a": {"type": "integer"}}}))
    path = write(
        tmp_path / "agentkit.toml",
        f"""
        [providers.echo]
        base_url = "http://127.0.0.1:9/v1"
        api_key = "sk-config"
        connect_timeout = 3
        read_timeout = 4.5
        first_byte_timeout = 6
        total_timeout = 7
        max_retries = 1
        options = {{ flavour = "vanilla" }}

        [agents.full]
        model = "echo/big"
        system = "You are {{{{role}}}}."
        template_params = {{ role = "a tester" }}
        user_template = "Q: {{{{message}}}}"
        tools = ["get_weather", "read", "tests_config_tools:shout"]
        guardrails = ["pii_redactor", {{ name = "blocked_words", words = ["xyzzy"] }}]
        storage = {{ name = "memory" }}
        memory = "memory"
        memory_settings = {{ auto_recall = false, tools = true }}
        params = {{ temperature = 0.3 }}
        synthesizer_model = "echo/small"
        output_schema = "answer.json"
        output_retries = 3
        max_turns = 7
        tool_timeout = 12.5
        tool_retries = 4
        tool_errors = "raise"
        cache = "cache-dir"
        context_window = 4096
        context_strategy = "trim"

        [agents.full.tool_settings.files]
        root = "{tmp_path / 'data'}"

        [agents.full.prices."echo/big"]
        input = 1.0
        output = 2.0

        [weather]
        units = "metric"
        """,
    )
    (tmp_path / "tests_config_tools.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        config = load_config(path)
        agent = config.agent("full")
    finally:
        sys.path.remove(str(tmp_path))
    s = agent.settings
    assert agent.name == "full" and agent.model == "echo/big"
    assert s.system == "You are {{role}}." and dict(s.template_params) == {"role": "a tester"}
    assert s.user_template == "Q: {{message}}"
    assert [t.name for t in s.tools] == ["get_weather", "read", "shout"]
    assert s.tools[1]("hello.txt") == "hello file"  # built with tool_settings.files
    assert dict(s.tool_settings) == {"files": {"root": str(tmp_path / "data")}}
    assert [g.name for g in s.guardrails] == ["pii_redactor", "blocked_words"]
    assert agent.storage == {"name": "memory"} and s.memory == "memory"
    assert dict(s.memory_settings) == {"auto_recall": False, "tools": True}
    assert dict(s.params) == {"temperature": 0.3}
    assert s.synthesizer_model == "echo/small"
    assert s.output_type == {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert (s.output_retries, s.max_turns, s.tool_timeout, s.tool_retries, s.tool_errors) == (3, 7, 12.5, 4, "raise")
    assert s.cache == tmp_path / "cache-dir"
    assert (s.context_window, s.context_strategy) == (4096, "trim")
    assert dict(s.prices) == {"echo/big": {"input": 1.0, "output": 2.0}}
    assert config.sections == {"weather": {"units": "metric"}}
    # provider settings reach the factory
    provider = agent.provider
    assert isinstance(provider, RecordingProvider)
    assert provider.kwargs == {
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "sk-config",
        "connect_timeout": 3,
        "read_timeout": 4.5,
        "first_byte_timeout": 6,
        "total_timeout": 7,
        "max_retries": 1,
        "flavour": "vanilla",
    }
    assert "sk-config" not in repr(config.providers["echo"])


def test_agent_runs_and_load_agent(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [agents.helper]
        model = "echo/m"
        system = "Help {{who}}."
        template_params = { who = "people" }
        """,
    )
    agent = load_agent(path, "helper")
    result = agent.run("hello")
    assert result.text == "ok: hello"
    request = agent.provider.requests[0]
    assert request.messages[0] == SystemMessage("Help people.")  # {{who}} filled at run time
    assert request.model == "m"


def test_overrides(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [agents.a]
        model = "echo/m"
        tools = ["get_weather"]
        params = { temperature = 0.5, seed = 3 }
        """,
    )
    agent = load_config(path).agent("a", model="echo/other", tools=["read"], params={"seed": 4}, system="S")
    assert agent.model == "echo/other" and agent.settings.system == "S"
    assert [t.name for t in agent.settings.tools] == ["get_weather", "read"]
    assert dict(agent.settings.params) == {"temperature": 0.5, "seed": 4}


def test_toolset_and_inline_output_schema(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [agents.a]
        model = "echo/m"
        tools = ["weather-set"]
        [agents.a.output_schema]
        type = "object"
        properties = { city = { type = "string" } }
        required = ["city"]
        """,
    )
    agent = load_config(path).agent("a")
    assert [t.name for t in agent.settings.tools] == ["get_weather"]
    assert agent.settings.output_type["required"] == ["city"]


# -- interpolation ------------------------------------------------------------------------------


def test_environment_interpolation(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [agents.a]
        model = "${MODEL}"
        system = "Hi {{name}}, I run on ${HOST:-localhost}; literal $${NOT} and cost $5."
        params = { stop = ["${STOP:-END}"] }
        """,
    )
    env = {"MODEL": "echo/from-env", "HOST": ""}
    agent = load_config(path, environ=env).agent("a")
    assert agent.model == "echo/from-env"
    assert agent.settings.system == "Hi {{name}}, I run on localhost; literal ${NOT} and cost $5."
    assert dict(agent.settings.params) == {"stop": ["END"]}


def test_unset_variable_only_matters_where_used(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [providers.echo]
        api_key = "${ECHO_KEY_FOR_TEST}"
        [agents.a]
        model = "scripted/m"
        [agents.b]
        model = "echo/m"
        """,
    )
    config = load_config(path, environ={})
    config.agent("a")  # does not use the echo provider
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}).agent("b")
    assert str(info.value) == f"{path}: providers.echo.api_key: environment variable ECHO_KEY_FOR_TEST is not set"


def test_api_key_env(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [providers.echo]
        base_url = "http://127.0.0.1:9"
        api_key_env = "MY_ECHO_KEY"
        [agents.a]
        model = "echo/m"
        """,
    )
    agent = load_config(path, environ={"MY_ECHO_KEY": "sk-named"}).agent("a")
    assert agent.provider.kwargs["api_key"] == "sk-named"
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}).agent("a")
    assert str(info.value) == f"{path}: providers.echo.api_key_env: environment variable MY_ECHO_KEY is not set"
    assert info.value.hint == "export MY_ECHO_KEY=..., or change api_key_env"


# -- no key to a host the user did not choose -----------------------------------------------------


def _trust_config(tmp_path: Path, extra: str = "") -> Path:
    return write(
        tmp_path / "proj" / "agentkit.toml",
        f"""
        [providers.echo]
        base_url = "http://127.0.0.1:9/v1"
        {extra}
        [agents.a]
        model = "echo/m"
        """,
    )


def test_project_base_url_gets_no_key_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost
) -> None:
    monkeypatch.setenv("ECHO_API_KEY", "sk-user-secret")
    monkeypatch.delenv("AGENTKIT_TRUST_CONFIG_BASE_URL", raising=False)
    path = _trust_config(tmp_path)
    config = load_config(cwd=path.parent)
    assert config.source == "project"
    assert config.providers["echo"].withhold_env_key
    assert config.agent("a").provider.kwargs["api_key"] == ""
    assert len(config.notices) == 1 and "your ECHO_API_KEY is not sent there" in config.notices[0]
    assert "sk-user-secret" not in config.notices[0]
    # explicit files are project files too
    assert load_config(path).agent("a").provider.kwargs["api_key"] == ""


@pytest.mark.parametrize(
    "how", ["flag", "env", "user-file", "names-key", "names-key-env", "default-url"]
)
def test_key_is_sent_when_the_user_chose(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: PluginHost
) -> None:
    monkeypatch.setenv("ECHO_API_KEY", "sk-user-secret")
    monkeypatch.delenv("AGENTKIT_TRUST_CONFIG_BASE_URL", raising=False)
    extra = {"names-key": 'api_key = "sk-in-file"', "names-key-env": 'api_key_env = "ECHO_API_KEY"'}.get(how, "")
    path = _trust_config(tmp_path, extra)
    kwargs: dict[str, Any] = {"cwd": path.parent}
    expected = "sk-user-secret"
    if how == "flag":
        kwargs["trust_config"] = True
    elif how == "env":
        monkeypatch.setenv("AGENTKIT_TRUST_CONFIG_BASE_URL", "1")
    elif how == "user-file":
        home = tmp_path / "home"
        monkeypatch.setenv("AGENTKIT_HOME", str(home))
        (home).mkdir()
        path.rename(home / "agentkit.toml")
        kwargs["cwd"] = tmp_path
    elif how == "names-key":
        expected = "sk-in-file"
    elif how == "default-url":
        path.write_text(path.read_text().replace("http://127.0.0.1:9/v1", "https://echo.example/v1/"))
    config = load_config(**kwargs)
    assert config.agent("a").provider.kwargs["api_key"] == expected
    assert config.notices == ()


def test_project_base_url_with_real_openai_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The promise end to end: a loopback server records the Authorization header it gets."""
    pytest.importorskip("agentkit_openai")
    from agentkit.plugins import set_host
    from agentkit.testing.fake_openai import FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-user-secret")
    monkeypatch.delenv("AGENTKIT_TRUST_CONFIG_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    old = set_host(PluginHost())
    try:
        with FakeOpenAIServer(default="hello") as server:
            write(
                tmp_path / "agentkit.toml",
                f"""
                [providers.openai]
                base_url = "{server.base_url}"
                max_retries = 0
                [agents.a]
                model = "openai/gpt-4o-mini"
                """,
            )
            assert load_config(cwd=tmp_path).agent("a").run("hi").text == "hello"
            assert load_config(cwd=tmp_path, trust_config=True).agent("a").run("hi").text == "hello"
        withheld, trusted = (r.headers.get("authorization", "") for r in server.requests)
        assert "sk-user-secret" not in withheld
        assert trusted == "Bearer sk-user-secret"
    finally:
        set_host(old)


# -- plugin sections, show ----------------------------------------------------------------------


def test_resolved_config_masks_secrets(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path / "agentkit.toml",
        """
        [profiles.default]
        model = "echo/m"
        [providers.echo]
        api_key = "sk-plain-in-file"
        [agents.a]
        system = "token is ${MY_TOKEN}; user ${USER_NAME}; missing ${NOT_SET_ANYWHERE}"
        params = { max_tokens = 10 }
        """,
    )
    config = load_config(path, environ={"MY_TOKEN": "tok-123", "USER_NAME": "ann"})
    shown = config.resolved()
    text = json.dumps(shown)
    assert "sk-plain-in-file" not in text and "tok-123" not in text
    assert shown["providers"]["echo"]["api_key"] == "***"
    assert shown["agents"]["a"]["system"] == "***"
    assert shown["agents"]["a"]["params"] == {"max_tokens": 10}
    assert shown["agents"]["a"]["model"] == "echo/m"  # profile merged in
    unmasked = config.resolved(mask=False)
    assert unmasked["agents"]["a"]["system"] == "token is tok-123; user ann; missing <unset: NOT_SET_ANYWHERE>"


def test_config_object_shape(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path / "agentkit.toml", '[agents.a]\nmodel = "echo/m"\n[providers.echo]\napi_key = "sk-shape"\n')
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.agents["a"].model == "echo/m"
    assert config.providers["echo"].api_key == "sk-shape"
    assert config.check() == []
    assert "sk-shape" not in repr(config.providers["echo"]) and "sk-shape" not in repr(config)
