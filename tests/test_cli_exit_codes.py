"""Every exit code in docs/cli.md's table, caused the way a user causes it.

``TESTS`` maps each documented code to the tests that prove it (here or in test_cli.py), and
``test_every_documented_exit_code_has_a_test`` keeps the table, the ``EXIT_*`` constants and
this map in step: a code added to the docs without a test fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import Cli, one_line_error, write_config

from agentkit import hookimpl
from agentkit.cli import _exit
from agentkit.testing import ScriptedProvider

ROOT = Path(__file__).resolve().parents[1]

#: exit code -> tests ("module.py::name") that cause it
TESTS: dict[int, tuple[str, ...]] = {
    0: ("test_cli_exit_codes.py::test_0_success",),
    1: ("test_cli_exit_codes.py::test_1_unexpected_error_says_to_run_again_with_debug",),
    2: (
        "test_cli_exit_codes.py::test_2_an_empty_prompt_is_not_sent",
        "test_cli_exit_codes.py::test_2_a_model_without_provider",
        "test_cli.py::test_usage_errors_exit_2",
    ),
    3: ("test_cli.py::test_config_error_exit_3",),
    4: (
        "test_cli_exit_codes.py::test_4_no_key_for_the_provider",
        "test_cli.py::test_provider_error_exit_4_names_no_secret",
    ),
    5: ("test_cli.py::test_tool_error_exit_5",),
    6: ("test_cli.py::test_guardrail_tripwire_exit_6",),
    7: ("test_cli_exit_codes.py::test_7_a_session_that_does_not_exist",),
    8: (
        "test_cli_exit_codes.py::test_8_a_provider_no_plugin_provides",
        "test_cli_exit_codes.py::test_8_a_tool_no_plugin_provides",
        "test_cli.py::test_plugin_error_exit_8",
    ),
    9: ("test_cli.py::test_max_turns_exit_9",),
    10: ("test_batch_cli.py::test_retry_failed_from_the_command_line",),
    130: ("test_cli.py::test_ctrl_c_exits_130_and_keeps_complete_turns",),
    141: ("test_cli.py::test_closed_pipe_is_quiet",),
}


def documented_codes() -> dict[int, str]:
    """The table under "Failures and exit codes" in docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Failures and exit codes", 1)[1]
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^\| (\d+) \| (.*) \|$", section, re.MULTILINE)}


def test_every_documented_exit_code_has_a_test() -> None:
    documented = documented_codes()
    constants = {v for k, v in vars(_exit).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert set(documented) == set(TESTS)
    assert constants <= set(documented)  # (agentkit batch's 10 is its own)
    for code, tests in TESTS.items():
        for test in tests:
            module, name = test.split("::")
            tree = ast.parse((Path(__file__).parent / module).read_text(encoding="utf-8"))
            names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert name in names, f"exit code {code}: {test} does not exist"


def test_0_success(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Hello.")
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "Hi", sub=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello.\n", "")


class BuggyProviderPlugin:
    """A provider plugin with a bug: its model call raises ZeroDivisionError."""

    @hookimpl
    def register_providers(self, registry: Any) -> None:
        registry.add("buggy", lambda **_settings: ScriptedProvider([lambda _request: 1 / 0], name="buggy"))


def test_1_unexpected_error_says_to_run_again_with_debug(agentkit: Cli, plugin_host: Any) -> None:
    plugin_host.register(BuggyProviderPlugin(), name="buggy-plugin")
    done = agentkit("run", "-m", "buggy/model", "Hi")
    assert done.returncode == 1, done.stderr
    error, hint = one_line_error(done.stderr)
    assert error == "agentkit: error: ZeroDivisionError: division by zero"
    assert hint == "hint: run again with --debug to see the traceback"
    debug = agentkit("--debug", "run", "-m", "buggy/model", "Hi")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


@pytest.mark.parametrize("prompt", ["", "  \n"])
def test_2_an_empty_prompt_is_not_sent(prompt: str, project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server)
    done = agentkit("run", "-a", "helper", prompt)
    assert done.returncode == 2
    assert (
        done.stderr == 'agentkit run: error: the prompt is empty\nhint: ask something: agentkit run "..."\n'
    )
    assert server.requests == []  # nothing reached the model


def test_2_a_model_without_provider(agentkit: Cli) -> None:
    done = agentkit("run", "-m", "gpt-4o-mini", "Hi")
    assert done.returncode == 2
    assert done.stderr.startswith("agentkit run: error: -m expects provider/name, got 'gpt-4o-mini'\n")


def test_4_no_key_for_the_provider(agentkit: Cli) -> None:
    done = agentkit("run", "-m", "openai/gpt-4o-mini", "Hi", sub=True)  # OPENAI_API_KEY is not set
    assert done.returncode == 4
    error, _hint = one_line_error(done.stderr)
    assert (
        error
        == "agentkit: error: openai/gpt-4o-mini: no API key: set the environment variable OPENAI_API_KEY"
    )


def test_7_a_session_that_does_not_exist(agentkit: Cli) -> None:
    done = agentkit("sessions", "show", "nosuch", sub=True)
    assert done.returncode == 7
    error, _hint = one_line_error(done.stderr)
    assert error == "agentkit: error: no session 'nosuch' in the sqlite store"


def test_8_a_provider_no_plugin_provides(agentkit: Cli) -> None:
    done = agentkit("run", "-m", "nosuch/model", "Hi", sub=True)
    assert done.returncode == 8
    error, hint = one_line_error(done.stderr)
    assert error.startswith("agentkit: error: unknown provider 'nosuch'; installed: ")
    assert "openai (agentkit-openai)" in error
    assert hint == "hint: install the plugin that provides it (`agentkit install ...`), or fix the name"


def test_8_a_tool_no_plugin_provides(agentkit: Cli, project: Path, server: Any) -> None:
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "-T", "nosuch_tool", "Hi")
    assert done.returncode == 8
    error, hint = one_line_error(done.stderr)
    assert error.startswith("agentkit: error: unknown tool 'nosuch_tool'")
    assert hint == "hint: `agentkit tools` lists them; `agentkit install PACKAGE` adds a plugin"
    assert server.requests == []


def test_a_provider_the_config_file_names_is_a_config_error(project: Path, agentkit: Cli) -> None:
    (project / "agentkit.toml").write_text('[agents.helper]\nmodel = "nosuch/model"\n')
    done = agentkit("run", "-a", "helper", "Hi")
    assert done.returncode == 3  # fixed in the file: `agentkit config check` lists it
    error, _hint = one_line_error(done.stderr)
    assert error.startswith(
        f"agentkit: error: {project / 'agentkit.toml'}: agents.helper.model: unknown provider"
    )
