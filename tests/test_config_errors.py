"""Every kind of config error, with its exact message: file, key path, what was expected."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentkit
from agentkit.config import load_config
from agentkit.errors import ConfigError
from agentkit.events import ModelResponse
from agentkit.messages import AssistantMessage
from agentkit.plugins import PluginHost
from agentkit.providers import ModelRequest, Provider


class _Echo(Provider):
    name = "echo"

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(AssistantMessage(content="ok"))


def get_weather(city: str) -> str:
    """Weather for a city."""
    return city


def _files(root: str = ".") -> Any:
    def read(path: str) -> str:
        """Read a file."""
        return path

    return read


class _Plugin:
    @agentkit.hookimpl
    def register_providers(self, registry: Any) -> None:
        registry.add("echo", lambda **kw: _Echo(**kw), env_var="ECHO_API_KEY")

    @agentkit.hookimpl
    def register_tools(self, registry: Any) -> None:
        registry.add(get_weather)
        registry.add_factory("read", _files, settings_key="files")

    @agentkit.hookimpl
    def register_config_sections(self, registry: Any) -> None:
        registry.add("weather", {"type": "object", "properties": {"units": {"enum": ["metric", "imperial"]}}})


@pytest.fixture(autouse=True)
def host() -> Iterator[PluginHost]:
    from agentkit.plugins import set_host

    host = PluginHost(entry_points=False)
    host.register(_Plugin(), name="agentkit-test")
    old = set_host(host)
    try:
        yield host
    finally:
        set_host(old)


@pytest.fixture
def cfg(tmp_path: Path) -> Any:
    """``cfg(text)`` writes agentkit.toml and returns its path."""

    def make(text: str, name: str = "agentkit.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return make


def error_of(path: Path, agent: str | None = None, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config = load_config(path, **kwargs)
        config.agent(agent)
    return info.value


def check(error: ConfigError, path: Path, key_path: str | None, message: str) -> None:
    assert error.file == str(path)
    assert error.key_path == key_path
    where = ": ".join(p for p in (str(path), key_path) if p)
    assert str(error) == f"{where}: {message}"


# -- reading the file ------------------------------------------------------------------------


def test_toml_syntax_error_names_line_and_column(cfg: Any) -> None:
    path = cfg('[agents.a]\nmodel = "echo/m"\nsystem "no equals"\n')
    error = error_of(path)
    check(error, path, None, "line 3, column 8: invalid TOML: Expected '=' after a key in a key/value pair")
    assert (error.line, error.column) == (3, 8)  # type: ignore[attr-defined]


def test_toml_error_at_end_of_file(cfg: Any) -> None:
    path = cfg('[agents.a]\nsystem = "open')
    check(error_of(path), path, None, "end of file: invalid TOML: Unterminated string")


def test_not_utf8(cfg: Any, tmp_path: Path) -> None:
    path = tmp_path / "agentkit.toml"
    path.write_bytes(b'system = "\xff"\n')
    check(error_of(path), path, None, "not UTF-8 text (byte 10)")


# -- the schema ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key_path", "message"),
    [
        ('[agnets.a]\nmodel = "echo/m"\n', "agnets", "unknown section 'agnets' (did you mean 'agents'?)"),
        ('[agents.a]\nmodle = "echo/m"\n', "agents.a.modle", "unknown key 'modle' (did you mean 'model'?)"),
        (
            '[agents.a]\nmodel = "echo/m"\ncolour = "red"\n',
            "agents.a.colour",
            "unknown key 'colour'; expected one of: cache, context_strategy, context_window, final_turn, guardrails, "
            "max_turns, memory, memory_settings, model, output_retries, output_schema, params, prices, "
            "profile, storage, synthesizer_model, system, template_params, tool_choice, tool_errors, tool_retries, "
            "tool_settings, tool_timeout, tools, user_template",
        ),
        (
            '[providers.echo]\nbase_ulr = "http://x"\n',
            "providers.echo.base_ulr",
            "unknown key 'base_ulr' (did you mean 'base_url'?)",
        ),
        ('[profiles.default]\nmodl = "x/y"\n', "profiles.default.modl", "unknown key 'modl' (did you mean 'model'?)"),
        (
            '[agents.a]\nmodel = "echo/m"\nmax_turns = "ten"\n',
            "agents.a.max_turns",
            "expected an integer >= 1, got a string ('ten')",
        ),
        ('[agents.a]\nmax_turns = 0\n', "agents.a.max_turns", "expected an integer >= 1, got an integer (0)"),
        ('[agents.a]\ntool_timeout = -1.5\n', "agents.a.tool_timeout", "expected a number > 0, got a float (-1.5)"),
        (
            '[agents.a]\ntool_errors = "ignore"\n',
            "agents.a.tool_errors",
            "expected one of 'return', 'raise', got a string ('ignore')",
        ),
        ('[agents.a]\ntools = "get_weather"\n', "agents.a.tools", "expected an array of tool or toolset names or 'module:function' paths, got a string ('get_weather')"),
        ('[agents.a]\ntools = ["ok", 3]\n', "agents.a.tools[1]", "expected a string, got an integer (3)"),
        ('[agents.a]\nmodel = ""\n', "agents.a.model", "expected a model string such as 'openai/gpt-4o-mini', got a string ('')"),
        (
            "[agents.a]\nguardrails = [3]\n",
            "agents.a.guardrails[0]",
            "expected a name, or a table with a 'name' key, got an integer (3)",
        ),
        (
            '[agents.a]\nguardrails = [{ words = ["x"] }]\n',
            "agents.a.guardrails[0]",
            "missing required key 'name'",
        ),
        ("[agents.a]\nstorage = 5\n", "agents.a.storage", "expected a name, or a table with a 'name' key, got an integer (5)"),
        (
            "[agents.a]\noutput_schema = 5\n",
            "agents.a.output_schema",
            "expected an inline JSON Schema table or the path of a .json file, got an integer (5)",
        ),
        (
            '[agents.a]\ncontext_strategy = "squash"\n',
            "agents.a.context_strategy",
            "expected one of 'trim', 'summarize', got a string ('squash')",
        ),
        (
            '[agents.a.prices."x/y"]\ninput = "cheap"\n',
            'agents.a.prices."x/y".input',
            "expected a number >= 0, got a string ('cheap')",
        ),
        (
            '[providers.echo]\nbase_url = "ftp://example.com"\n',
            "providers.echo.base_url",
            "expected an http:// or https:// URL, got a string ('ftp://example.com')",
        ),
        (
            '[providers.echo]\napi_key = "a"\napi_key_env = "B"\n',
            "providers.echo",
            "give either api_key or api_key_env, not both",
        ),
        (
            '[providers.echo]\napi_key_env = "sk-1234"\n',
            "providers.echo.api_key_env",
            "api_key_env holds what looks like a key itself, not the name of an environment variable (the value is not shown)",
        ),
        ("[providers.echo]\nmax_retries = 1.5\n", "providers.echo.max_retries", "expected an integer, got a float (1.5)"),
        ('default_agent = 3\n', "default_agent", "expected a string, got an integer (3)"),
        ('[weather]\nunits = "kelvin"\n', "weather.units", "expected one of 'metric', 'imperial', got a string ('kelvin')"),
        ('[wether]\nunits = "metric"\n', "wether", "unknown section 'wether' (did you mean 'weather'?)"),
    ],
)
def test_schema_errors(cfg: Any, text: str, key_path: str, message: str) -> None:
    path = cfg(text)
    check(error_of(path), path, key_path, message)


def test_secret_values_are_never_quoted(cfg: Any) -> None:
    path = cfg("[providers.echo]\napi_key = 123456789\n")
    error = error_of(path)
    check(error, path, "providers.echo.api_key", "expected a string, got an integer")
    assert "123456789" not in str(error)


def test_every_problem_is_kept(cfg: Any) -> None:
    path = cfg('[agents.a]\nmodle = "x"\nmax_turns = "ten"\n[providers.ech]\n')
    error = error_of(path)
    assert str(error) == f"{path}: agents.a.max_turns: expected an integer >= 1, got a string ('ten')"
    more = [str(e) for e in error.more]  # type: ignore[attr-defined]
    assert more == [
        f"{path}: agents.a.modle: unknown key 'modle' (did you mean 'model'?)",
        f"{path}: providers.ech: unknown provider 'ech' (did you mean 'echo'?); installed: "
        "echo (agentkit-test), scripted (agentkit:testing)",
    ]


# -- names resolved through the plugin registries --------------------------------------------


@pytest.mark.parametrize(
    ("text", "key_path", "message"),
    [
        (
            '[agents.a]\nmodel = "ech/m"\n',
            "agents.a.model",
            "unknown provider 'ech' (did you mean 'echo'?); installed: echo (agentkit-test), scripted (agentkit:testing)",
        ),
        (
            '[agents.a]\nmodel = "gpt-4o"\n',
            "agents.a.model",
            "'gpt-4o' must be '<provider>/<model>', for example 'openai/gpt-4o-mini'",
        ),
        ("[agents.a]\nsystem = \"x\"\n", "agents.a.model", "agent 'a' has no model"),
        (
            '[agents.a]\nmodel = "echo/m"\ntools = ["get_weather", "get_wether"]\n',
            "agents.a.tools[1]",
            "unknown tool 'get_wether'; did you mean 'get_weather'?; installed tools and toolsets: "
            "get_weather (agentkit-test), read (agentkit-test)",
        ),
        (
            '[profiles.default]\ntools = ["nope"]\n[agents.a]\nmodel = "echo/m"\n',
            "profiles.default.tools[0]",
            "unknown tool 'nope'; installed tools and toolsets: get_weather (agentkit-test), read (agentkit-test)",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\ntools = ["no_such_module_xyz:f"]\n',
            "agents.a.tools[0]",
            "cannot import tool 'no_such_module_xyz:f': ModuleNotFoundError: No module named 'no_such_module_xyz'",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\ntools = ["read"]\n[agents.a.tool_settings.files]\nroot = "."\ndepth = 3\n',
            "agents.a.tool_settings.files.depth",
            "tool 'read' has no option 'depth'; its options: root",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\n[agents.a.tool_settings.flies]\nroot = "."\n',
            "agents.a.tool_settings.flies",
            "no installed tool reads settings 'flies' (did you mean 'files'?); settings tables of installed "
            "tools: files: read (agentkit-test)",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\nstorage = "sqlit"\n',
            "agents.a.storage",
            "unknown store 'sqlit'; installed: memory (agentkit:stores)",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\nstorage = { name = "jsonl", path = "x" }\n',
            "agents.a.storage.name",
            "unknown store 'jsonl'; installed: memory (agentkit:stores)",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\nmemory = "memroy"\n',
            "agents.a.memory",
            "unknown memory 'memroy' (did you mean 'memory'?); installed: memory (agentkit:memory)",
        ),
        (
            '[agents.a]\nmodel = "echo/m"\nguardrails = ["pii_redacter"]\n',
            "agents.a.guardrails[0].name",
            None,  # the guardrails module words it; checked below
        ),
        (
            '[agents.a]\nmodel = "echo/m"\nprofile = "carefull"\n[profiles.careful]\n',
            "agents.a.profile",
            "no profile named 'carefull' (did you mean 'careful'?); defined: careful",
        ),
        (
            'default_agent = "b"\n[agents.a]\nmodel = "echo/m"\n',
            "default_agent",
            "no agent named 'b'; defined: a",
        ),
        (
            '[providers.echo.options]\nbase_url = "http://x"\n',
            "providers.echo.options.base_url",
            "'base_url' belongs in [providers.echo] itself, not in its options",
        ),
    ],
)
def test_name_errors(cfg: Any, text: str, key_path: str, message: str | None) -> None:
    path = cfg(text)
    error = error_of(path, "a" if "[agents.a]" in text and "default_agent" not in text else None)
    if message is None:
        assert error.key_path == key_path
        assert "pii_redacter" in str(error) and "pii_redactor" in str(error)  # did you mean / installed
    else:
        check(error, path, key_path, message)


def test_unknown_agent(cfg: Any) -> None:
    path = cfg('[agents.helper]\nmodel = "echo/m"\n[agents.writer]\nmodel = "echo/m"\n')
    check(error_of(path, "helpr"), path, "agents", "no agent named 'helpr' (did you mean 'helper'?); defined: helper, writer")


# -- environment ------------------------------------------------------------------------------


def test_missing_environment_variable(cfg: Any) -> None:
    path = cfg('[agents.a]\nmodel = "echo/m"\nsystem = "You serve ${TEAM_NAME_FOR_TEST}."\n')
    error = error_of(path, "a", environ={})
    check(error, path, "agents.a.system", "environment variable TEAM_NAME_FOR_TEST is not set")
    assert error.hint == "set TEAM_NAME_FOR_TEST, or give a default with ${TEAM_NAME_FOR_TEST:-value}"


def test_malformed_references(cfg: Any) -> None:
    path = cfg('[agents.a]\nmodel = "echo/m"\nsystem = "cost ${1X}"\n')
    check(error_of(path, "a", environ={}), path, "agents.a.system", "invalid environment variable reference ${1X}")
    path = cfg('[agents.a]\nmodel = "echo/m"\nsystem = "open ${HOME"\n')
    check(error_of(path, "a", environ={}), path, "agents.a.system", "unterminated ${...} in 'open ${HOME'")


def test_values_from_the_environment_are_checked_once_filled(cfg: Any) -> None:
    path = cfg('[weather]\nunits = "${UNITS_FOR_TEST}"\n')
    check(error_of(path, environ={}), path, "weather.units", "environment variable UNITS_FOR_TEST is not set")
    assert load_config(path, environ={"UNITS_FOR_TEST": "metric"}).sections == {"weather": {"units": "metric"}}
    check(
        error_of(path, environ={"UNITS_FOR_TEST": "kelvin"}),
        path,
        "weather.units",
        "expected one of 'metric', 'imperial', got a string ('kelvin')",
    )
    path = cfg('[providers.echo]\nbase_url = "${ECHO_URL_FOR_TEST}"\n[agents.a]\nmodel = "echo/m"\ntool_errors = "${ERRS}"\n')
    config = load_config(path, environ={"ECHO_URL_FOR_TEST": "http://127.0.0.1:1/v1", "ERRS": "raise"})
    assert config.agent("a").settings.tool_errors == "raise"
    check(
        error_of(path, "a", environ={"ECHO_URL_FOR_TEST": "localhost:1", "ERRS": "raise"}),
        path,
        "providers.echo.base_url",
        "expected an http:// or https:// URL, got a string ('localhost:1')",
    )
    check(
        error_of(path, "a", environ={"ECHO_URL_FOR_TEST": "http://x", "ERRS": "never"}),
        path,
        "agents.a.tool_errors",
        "expected one of 'return', 'raise', got a string ('never')",
    )


# -- output schemas -----------------------------------------------------------------------------


def test_output_schema_errors(cfg: Any, tmp_path: Path) -> None:
    path = cfg('[agents.a]\nmodel = "echo/m"\noutput_schema = "schemas/out.json"\n')
    missing = tmp_path / "schemas" / "out.json"
    check(error_of(path, "a"), path, "agents.a.output_schema", f"no such JSON Schema file: {missing}")
    missing.parent.mkdir()
    missing.write_text("{oops")
    check(
        error_of(path, "a"),
        path,
        "agents.a.output_schema",
        f"{missing} is not JSON (line 1, column 2: Expecting property name enclosed in double quotes)",
    )
    missing.write_text('{"type": "objet"}')
    error = error_of(path, "a")
    assert error.key_path == "agents.a.output_schema"
    assert str(error).startswith(f"{path}: agents.a.output_schema: not a valid JSON Schema: 'objet' is not valid")
    path = cfg('[agents.a]\nmodel = "echo/m"\n[agents.a.output_schema]\ntype = 5\n')
    assert str(error_of(path, "a")).startswith(f"{path}: agents.a.output_schema: not a valid JSON Schema: 5 is not valid")
