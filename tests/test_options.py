"""The agent's options, declared once (``RunSettings``): every invalid value is refused when
the agent (or the run) is built, with a ConfigError naming the option, in the same words from
Python, from ``agentkit.toml`` through ``load_agent``, and through ``agentkit run -a``."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest

from agentkit import Agent, ConfigError, UserMessage
from agentkit._config_schema import AGENT_KEYS
from agentkit._run import OPTIONS, RUN_OPTIONS, RunSettings
from agentkit.cli import main
from agentkit.config import load_agent
from agentkit.hookspecs import hookimpl
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool

DOCS = Path(__file__).resolve().parent.parent / "docs"


@hookimpl
def register_tools(registry: Any) -> None:
    """A tool built from settings, as agentkit-files' are (settings key ``files``)."""

    def make(root: str = ".") -> Any:
        @tool
        def where() -> str:
            """The root."""
            return root

        return where

    registry.add_factory("where", make, settings_key="files")


# (option, value in Python, the same in TOML, what both errors say after the option's key path)
INVALID: list[tuple[str, Any, str, str]] = [
    ("max_turns", 0, "max_turns = 0", "max_turns: expected an integer >= 1, got an integer (0)"),
    ("max_turns", "ten", 'max_turns = "ten"', "max_turns: expected an integer >= 1, got a string ('ten')"),
    ("output_retries", -1, "output_retries = -1", "output_retries: expected an integer >= 0, got an integer (-1)"),
    ("tool_retries", 1.5, "tool_retries = 1.5", "tool_retries: expected an integer >= 0, got a float (1.5)"),
    ("tool_timeout", 0, "tool_timeout = 0", "tool_timeout: expected a number > 0, got an integer (0)"),
    ("tool_errors", "explode", 'tool_errors = "explode"',
     "tool_errors: expected one of 'return', 'raise', got a string ('explode')"),
    ("context_strategy", "x", 'context_strategy = "x"',
     "context_strategy: expected one of 'trim', 'summarize', got a string ('x')"),
    ("final_turn", "last", 'final_turn = "last"', "final_turn: expected one of 'answer', got a string ('last')"),
    ("context_window", 0, "context_window = 0", "context_window: expected an integer >= 1, got an integer (0)"),
    ("params", "x", 'params = "x"', "params: expected a table, got a string ('x')"),
    ("params", {"tool_choice": "required"}, 'params = { tool_choice = "required" }',
     "params.tool_choice: tool_choice is an option of its own (tool_choice=...), not a param"),
    ("template_params", 3, "template_params = 3", "template_params: expected a table, got an integer (3)"),
    ("system", 3, "system = 3", "system: expected a string, got an integer (3)"),
    ("user_template", True, "user_template = true", "user_template: expected a string, got a boolean (true)"),
    ("tool_choice", "", 'tool_choice = ""',
     "tool_choice: expected 'auto', 'none', 'required' or a tool's name, got a string ('')"),
    ("synthesizer_model", "", 'synthesizer_model = ""',
     "synthesizer_model: expected a model string such as 'openai/gpt-4o-mini', got a string ('')"),
    ("memory_settings", {"kk": 1}, "memory_settings = { kk = 1 }", "memory_settings.kk: unknown key 'kk' (did you mean 'k'?)"),
    ("memory_settings", {"k": 0}, "memory_settings = { k = 0 }", "memory_settings.k: expected an integer >= 1, got an integer (0)"),
    ("memory_settings", {"tools": "yes"}, 'memory_settings = { tools = "yes" }',
     "memory_settings.tools: expected true or false, got a string ('yes')"),
    ("prices", {"x/y": {"input": "cheap"}}, '[agents.a.prices."x/y"]\ninput = "cheap"',
     "prices.\"x/y\".input: expected a number >= 0, got a string ('cheap')"),
    ("prices", {"x/y": {"inptu": 1}}, '[agents.a.prices."x/y"]\ninptu = 1',
     "prices.\"x/y\".inptu: unknown key 'inptu' (did you mean 'input'?)"),
    ("cache", 3, "cache = 3", "cache: expected true, false, a registered cache name, a directory path or a ResponseCache, "
     "got an integer (3)"),
    ("storage", "nosuch", 'storage = "nosuch"', "storage: unknown store 'nosuch'"),
    ("memory", {"name": "memory", "pathh": "x"}, 'memory = { name = "memory", pathh = "x" }',
     "memory.pathh: memory 'memory' has no option 'pathh'"),
    ("guardrails", ["nosuch_guard"], 'guardrails = ["nosuch_guard"]', "guardrails[0].name: unknown guardrail 'nosuch_guard'"),
    ("guardrails", [{"name": "blocked_words", "wrods": ["x"]}], 'guardrails = [{ name = "blocked_words", wrods = ["x"] }]',
     "guardrails[0].wrods: guardrail 'blocked_words' has no option 'wrods' (did you mean 'words'?)"),
    ("tools", ["nosuch_tool"], 'tools = ["nosuch_tool"]', "tools[0]: unknown tool 'nosuch_tool'"),
    ("tool_settings", {"flies": {"root": "sub"}}, '[agents.a.tool_settings.flies]\nroot = "sub"',
     "tool_settings.flies: no installed tool reads settings 'flies' (did you mean 'files'?)"),
    ("max_turn", 3, "max_turn = 3", "max_turn: unknown {word} 'max_turn' (did you mean 'max_turns'?)"),
]
IDS = [f"{row[0]}={row[1]!r}" for row in INVALID]


@pytest.fixture
def host(plugin_host: Any) -> Any:
    plugin_host.register(_Tools(), name="test-tools")
    return plugin_host


class _Tools:
    register_tools = staticmethod(register_tools)


def toml_for(toml: str) -> str:
    body = '[agents.a]\nmodel = "scripted/m"\n'
    if toml.startswith("[agents.a."):
        return body + "\n" + toml + "\n"
    return body + toml + "\n"


@pytest.mark.parametrize(("option", "value", "toml", "message"), INVALID, ids=IDS)
def test_invalid_option_from_python(host: Any, option: str, value: Any, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Agent("scripted/m", **{option: value})
    assert str(info.value).startswith(message.format(word="option"))
    assert (info.value.key_path or "").split(".")[0].split("[")[0] == option


@pytest.mark.parametrize(("option", "value", "toml", "message"), INVALID, ids=IDS)
def test_invalid_option_from_toml(
    host: Any, tmp_path: Path, option: str, value: Any, toml: str, message: str
) -> None:
    config = tmp_path / "agentkit.toml"
    config.write_text(toml_for(toml))
    with pytest.raises(ConfigError) as info:
        load_agent(config, "a", host=host)
    assert str(info.value).startswith(f"{config}: agents.a.{message.format(word='key')}")


@pytest.mark.parametrize(("option", "value", "toml", "message"), INVALID, ids=IDS)
def test_invalid_option_through_agentkit_run(
    host: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: Any,
    toml: str,
    message: str,
) -> None:
    from agentkit.plugins import set_host

    (tmp_path / "agentkit.toml").write_text(toml_for(toml))
    monkeypatch.chdir(tmp_path)
    old = set_host(host)  # the command uses the process's host: ours, with the settings-reading tool
    try:
        code = main(["run", "-a", "a", "hello"])
    finally:
        set_host(old)
    err = capsys.readouterr().err
    assert code == 3, err  # a config error's exit code (docs/cli.md)
    assert f"agentkit.toml: agents.a.{message.format(word='key')}" in " ".join(err.split())


def test_a_run_override_is_checked_like_the_option(scripted_agent: Any) -> None:
    agent = scripted_agent(["never"])
    for overrides, message in [
        ({"max_turns": 0}, "max_turns: expected an integer >= 1, got an integer (0)"),
        ({"context_strategy": "x"}, "context_strategy: expected one of 'trim', 'summarize', got a string ('x')"),
        ({"params": "x"}, "params: expected a table, got a string ('x')"),
        ({"max_turn": 2}, "max_turn: unknown run option 'max_turn' (did you mean 'max_turns'?)"),
        ({"storage": "memory"}, "storage: storage is set on the agent, not per run"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            agent.run("x", **overrides)
    assert agent.provider.requests == []
    assert agent.run("x", max_turns=3).text == "never"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"history": "x"}, "history: expected a list of messages, got a string ('x')"),
        ({"history": [UserMessage("a"), {"role": "user"}]},
         "history[1]: expected a message (UserMessage, AssistantMessage, ...), got a table"),
        ({"images": "cat.png"}, "images: expected a list of images (paths, URLs, bytes or ImageParts), got a string"),
        ({"images": [3]}, "images[0]: expected a path, an http(s) or data: URL, bytes or an ImagePart, got an integer (3)"),
        ({"template_params": ["x"]}, "template_params: expected a table with string keys, got an array"),
        ({"session_id": 3}, "session_id: expected a non-empty string or None, got an integer (3)"),
        ({"user_id": ""}, "user_id: expected a non-empty string or None, got a string ('')"),
    ],
)
def test_a_run_s_own_arguments_are_checked_before_it_starts(
    scripted_agent: Any, arguments: dict[str, Any], message: str
) -> None:
    agent = scripted_agent(["never"])
    with pytest.raises(ConfigError) as info:
        agent.run("x", **arguments)
    assert str(info.value).startswith(message)
    assert agent.provider.requests == []


def test_the_prompt_is_checked_before_the_run_starts(scripted_agent: Any) -> None:
    agent = scripted_agent(["never"])
    with pytest.raises(ConfigError, match=r"prompt\[1\]: expected a string or a message, got an integer \(2\)"):
        agent.run(["one", 2])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "name: expected a non-empty string or None, got a string ('')"),
        ({"provider": "scripted"}, "provider: expected a Provider or None, got a string ('scripted')"),
        ({"provider_settings": "x"}, "provider_settings: expected a table of settings or None, got a string ('x')"),
        ({"plugin_host": object()}, "plugin_host: expected a PluginHost or None, got object"),
        ({"base_url": 8080}, "base_url: expected a URL string or None, got an integer (8080)"),
        ({"hooks": {"before_runn": print}}, "hooks.before_runn: unknown hook 'before_runn'"),
    ],
)
def test_connection_and_plugin_arguments_are_checked(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Agent("scripted/m", **arguments)
    assert str(info.value).startswith(message)


def test_an_api_key_of_the_wrong_type_is_never_shown() -> None:
    with pytest.raises(ConfigError) as info:
        Agent("scripted/m", api_key=b"sk-secret-bytes")
    assert str(info.value) == "api_key: expected a string or None, got bytes"


def test_tool_settings_typo_from_python_is_an_error(host: Any, tmp_path: Path) -> None:
    """Issue 22: ``tool_settings={"flies": ...}`` was ignored from Python, so a files root fell
    back to the working directory. Unknown settings tables and keys are errors, as in config."""
    with pytest.raises(ConfigError, match=r"tool_settings\.flies: no installed tool reads settings 'flies' \(did you mean 'files'\?\)"):
        Agent("scripted/m", tools=["where"], tool_settings={"flies": {"root": str(tmp_path)}})
    with pytest.raises(ConfigError, match=r"tool 'where' has no option 'roo' \(did you mean 'root'\?\)"):
        Agent("scripted/m", tools=["where"], tool_settings={"files": {"roo": str(tmp_path)}})
    agent = Agent(
        "scripted/m", tools=["where"], tool_settings={"files": {"root": str(tmp_path)}},
        provider=ScriptedProvider([tool_calls(("where", {})), "done"]),
    )
    result = agent.run("where?")
    assert result.messages[2].content == str(tmp_path)


def test_every_run_option_can_be_overridden_and_storage_cannot() -> None:
    assert set(OPTIONS) - {"storage"} == RUN_OPTIONS


def test_the_config_schema_comes_from_the_declaration() -> None:
    config_keys = {o.config_key for o in OPTIONS.values() if o.config_key}
    assert set(AGENT_KEYS) == config_keys
    assert "output_schema" in AGENT_KEYS and "output_type" not in AGENT_KEYS
    # the schema carries the declaration's phrase, so TOML errors say what Python errors say
    assert AGENT_KEYS["max_turns"] == {"type": "integer", "minimum": 1, "x-expected": "an integer >= 1"}


def test_a_new_option_is_one_declaration() -> None:
    """An attrs class declared like RunSettings gets checks and a schema from its fields."""
    from agentkit._options import choice, declared, option

    @attrs.frozen(kw_only=True)
    class Settings:
        final_turn: str = option(choice("error", "answer"), default="error", doc="what the last turn does")

    found = declared(Settings)["final_turn"]
    assert found.schema() == {"enum": ["error", "answer"], "x-expected": "one of 'error', 'answer'"}
    with pytest.raises(ConfigError, match=r"final_turn: expected one of 'error', 'answer', got a string \('x'\)"):
        Settings(final_turn="x")


def test_help_shows_every_option_with_its_default() -> None:
    params = inspect.signature(Agent).parameters
    for name, field in attrs.fields_dict(RunSettings).items():
        assert name in params
        if name != "model" and not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            assert params[name].default == field.default


def test_the_docs_list_every_option() -> None:
    agents = (DOCS / "agents.md").read_text()
    config = (DOCS / "config.md").read_text()
    for name, declared_option in OPTIONS.items():
        assert f"| `{name}` |" in agents, f"docs/agents.md does not list the option {name}"
        if declared_option.config_key:
            assert f"| `{declared_option.config_key}` |" in config, f"docs/config.md does not list {declared_option.config_key}"


def test_messages_from_python_and_toml_agree_without_plugins(tmp_path: Path) -> None:
    """The same refusal, word for word after the key path, for a value both can write."""
    config = tmp_path / "agentkit.toml"
    config.write_text(textwrap.dedent("""
        [agents.a]
        model = "scripted/m"
        context_strategy = "drop"
    """))
    with pytest.raises(ConfigError) as from_toml:
        load_agent(config, "a")
    with pytest.raises(ConfigError) as from_python:
        Agent("scripted/m", context_strategy="drop")
    assert str(from_toml.value) == f"{config}: agents.a.{from_python.value}"
