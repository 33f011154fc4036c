"""Options of plugin factories (issue 23): a misspelt option gets a "did you mean" whatever the
factory's signature, built-ins check their options' types, and ``agentkit config check`` builds
every agent and reports every problem, provider, store and memory settings included; ``config
show`` without a config file says so and shows the defaults in effect."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, ConfigError
from agentkit.cli import main
from agentkit.config import load_config
from agentkit.default_plugins.guardrails import BlockedWords
from agentkit.default_plugins.memory import InMemoryMemory
from agentkit.default_plugins.stores import InMemoryStore
from agentkit.guardrails import Guardrail, resolve_guardrails
from agentkit.hookspecs import hookimpl
from agentkit.memory import resolve_memory
from agentkit.plugins import PluginHost, set_host
from agentkit.stores import open_store
from agentkit.testing import ScriptedProvider


class Shouting(Guardrail):
    name = "shouting"

    def __init__(self, limit: float = 0.5, ignore: tuple[str, ...] = ()) -> None:
        self.limit = limit


class Plugin:
    """Factories that take ``**options`` and pass them on, as plugin authors write them."""

    @hookimpl
    def register_guardrails(self, registry: Any) -> None:
        registry.add("shouting", lambda **options: Shouting(**options))
        registry.add("opaque", lambda **options: BlockedWords(words=["x"]), options=["threshold", "words"])

    @hookimpl
    def register_stores(self, registry: Any) -> None:
        def store(**settings: Any) -> Any:
            class Sized(InMemoryStore):
                def __init__(self, max_sessions: int = 10) -> None:
                    super().__init__()

            return Sized(**settings)

        registry.add("sized", store)

    @hookimpl
    def register_memory(self, registry: Any) -> None:
        registry.add("remembers", lambda **settings: InMemoryMemory(**settings))

    @hookimpl
    def register_providers(self, registry: Any) -> None:
        def provider(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> Any:
            return _Tuned(**settings)

        registry.add("tuned", provider)


class _Tuned(ScriptedProvider):
    def __init__(self, temperature_floor: float = 0.0) -> None:
        super().__init__(["tuned"], name="tuned")


@pytest.fixture
def host(plugin_host: PluginHost) -> PluginHost:
    plugin_host.register(Plugin(), name="agentkit-test-factories")
    return plugin_host


def test_a_misspelt_option_of_a_forwarding_factory_gets_a_did_you_mean(host: PluginHost) -> None:
    """The factory takes **options; the class it passes them to is named in the TypeError."""
    with pytest.raises(ConfigError) as info:
        resolve_guardrails([{"name": "shouting", "limt": 0.8}], host=host)
    assert str(info.value) == (
        "guardrails[0].limt: guardrail 'shouting' has no option 'limt' (did you mean 'limit'?); "
        "its options: limit, ignore"
    )
    with pytest.raises(ConfigError, match=r"storage\.max_session: store 'sized' has no option 'max_session' "
                                          r"\(did you mean 'max_sessions'\?\)"):
        open_store({"name": "sized", "max_session": 3}, host=host)
    with pytest.raises(ConfigError, match=r"memory\.bogus: memory 'remembers' has no option 'bogus'"):
        resolve_memory({"name": "remembers", "bogus": 1}, host=host)


def test_options_declared_at_registration_serve_an_opaque_factory(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match=r"guardrail 'opaque' has no option 'treshold' \(did you mean 'threshold'\?\); "
                                          r"its options: threshold, words"):
        resolve_guardrails([{"name": "opaque", "treshold": 1}], host=host)


def test_provider_settings_named_by_the_factory_are_checked_when_the_agent_is_built(plugin_host: PluginHost) -> None:
    import agentkit_llamacpp.plugin

    plugin_host.register(agentkit_llamacpp.plugin, name="agentkit-llamacpp")
    with pytest.raises(ConfigError, match=r"provider_settings\.n_thread: provider 'llamacpp' has no option 'n_thread' "
                                          r"\(did you mean 'n_threads'\?\)"):
        Agent("llamacpp/smollm2", provider_settings={"n_thread": 4}, plugin_host=plugin_host)


def test_provider_settings_get_a_did_you_mean_too(host: PluginHost) -> None:
    agent = Agent("tuned/m", provider_settings={"temperature_flor": 0.1}, plugin_host=host)
    with pytest.raises(ConfigError, match=r"provider_settings\.temperature_flor: provider 'tuned' has no option "
                                          r"'temperature_flor' \(did you mean 'temperature_floor'\?\)"):
        agent.run("hi")
    assert Agent("tuned/m", provider_settings={"temperature_floor": 0.1}, plugin_host=host).run("hi").text == "tuned"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "blocked_words", "words": 3},
         "guardrail 'blocked_words': words must be a string or a list of strings; got an integer (3)"),
        ({"name": "blocked_words", "words": ["ok", 4]},
         "guardrail 'blocked_words': words must be a list of non-empty strings; got an integer (4) in it"),
        ({"name": "blocked_words", "words": ["x"], "mask": 5},
         "guardrail 'blocked_words': mask must be a string; got an integer (5)"),
        ({"name": "pii_redactor", "kinds": {"email": True}},
         "guardrail 'pii_redactor': kinds must be a string or a list of strings; got a table"),
        ({"name": "tool_allowlist", "allow": 7}, "guardrail 'tool_allowlist': allow must be a string or a list of strings"),
        ({"name": "max_input_length", "max_chars": "10"}, "guardrail 'max_input_length': max_chars must be a whole number"),
        ({"name": "max_input_length", "max_chars": 10, "model": 3},
         "guardrail 'max_input_length': model must be a string; got an integer (3)"),
        ({"name": "approval", "tools": 1}, "guardrail 'approval': tools must be a string or a list of strings"),
        ({"name": "instruction", "text": ["x"]}, "guardrail 'instruction': text must be the instruction"),
        ({"name": "llm_judge", "model": "scripted/m", "policy": "p", "provider_settings": "x"},
         "guardrail 'llm_judge': provider_settings must be a table; got a string ('x')"),
    ],
)
def test_built_in_guardrails_check_their_option_types(plugin_host: PluginHost, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_guardrails([spec], host=plugin_host)
    assert str(info.value).startswith(f"guardrails[0]: {message}")


# -- agentkit config check, on real files ---------------------------------------------------------


def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], toml: str,
          host: PluginHost | None = None) -> tuple[int, str]:
    (tmp_path / "agentkit.toml").write_text(textwrap.dedent(toml), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    old = set_host(host) if host is not None else None
    try:
        code = main(["config", "check"])
    finally:
        if host is not None:
            set_host(old)
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


def test_config_check_reports_every_problem_of_every_agent(
    host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import agentkit_jsonl.plugin
    import agentkit_sqlite.plugin

    host.register(agentkit_jsonl.plugin, name="agentkit-jsonl")
    host.register(agentkit_sqlite.plugin, name="agentkit-sqlite")
    code, text = check(tmp_path, monkeypatch, capsys, """
        [profiles.default]
        model = "scripted/m"

        [agents.a]
        tools = ["no_such_tool"]
        guardrails = [{ name = "shouting", limt = 2 }]
        storage = { name = "jsonl", paht = "sessions" }
        memory = { name = "sqlite", keyword_wieght = 0.3 }

        [agents.b]
        model = "tuned/m"

        [providers.tuned.options]
        temperature_flor = 0.1
    """, host)
    assert code == 3, text
    for problem in [
        "agents.a.tools[0]: unknown tool 'no_such_tool'",
        "agents.a.guardrails[0].limt: guardrail 'shouting' has no option 'limt' (did you mean 'limit'?)",
        "agents.a.storage.paht: store 'jsonl' has no option 'paht' (did you mean 'path'?)",
        "agents.a.memory.keyword_wieght: memory 'sqlite' has no option 'keyword_wieght' (did you mean 'keyword_weight'?)",
        "providers.tuned.options.temperature_flor: provider 'tuned' has no option 'temperature_flor' "
        "(did you mean 'temperature_floor'?)",
    ]:
        assert problem in text, problem
    assert "5 problem(s) in the config" in text


def test_config_check_builds_the_provider_with_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report of issue 23: n_thread passed check, then run failed."""
    pytest.importorskip("agentkit_llamacpp")
    monkeypatch.delenv("AGENTKIT_LOAD_PLUGINS", raising=False)
    code, text = check(tmp_path, monkeypatch, capsys, """
        [agents.local]
        model = "llamacpp/smollm2"

        [providers.llamacpp.options]
        n_thread = 4
    """)
    assert code == 3, text
    assert (
        "providers.llamacpp.options.n_thread: provider 'llamacpp' has no option 'n_thread' (did you mean 'n_threads'?)"
    ) in text


def test_config_check_passes_a_good_file(
    host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = check(tmp_path, monkeypatch, capsys, """
        [agents.a]
        model = "tuned/m"
        guardrails = [{ name = "shouting", limit = 0.9 }]
        storage = { name = "sized", max_sessions = 3 }

        [providers.tuned.options]
        temperature_floor = 0.1
    """, host)
    assert code == 0, text
    assert "ok:" in text and "(1 agent, 1 provider setting)" in text


def test_config_show_without_a_file_says_so_and_shows_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["config", "show"]) == 0
    out, err = capsys.readouterr()
    assert "no config file: looked for ./agentkit.toml and" in err
    assert "[profiles.default]" in out and "max_turns = 20" in out and 'tool_errors = "return"' in out
    assert 'storage = "sqlite"' in out
    assert main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["profiles"]["default"]["context_strategy"] == "trim"
    # what it shows is a valid config file: the defaults read back as they are
    (tmp_path / "agentkit.toml").write_text(out, encoding="utf-8")
    assert load_config(tmp_path / "agentkit.toml").profiles["default"] == shown["profiles"]["default"]
