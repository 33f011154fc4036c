"""Plugins add ``agentkit <command>`` subcommands through ``register_commands``; the plugin host
is built only when the command named is not a built-in one."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import agentkit
from agentkit import plugins
from agentkit.cli import main
from agentkit.errors import ConfigError
from agentkit.plugins import PluginHost

calls: list[argparse.Namespace] = []


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default="world")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("say")
    sub.add_parser("fail")


def _run(args: argparse.Namespace) -> int:
    calls.append(args)
    if args.action == "fail":
        raise ConfigError("the greeting is misconfigured", key_path="greet.name")
    print(f"hello {args.name}")
    return 0


@agentkit.hookimpl
def register_commands(registry):  # type: ignore[no-untyped-def]
    registry.add("greet", _configure, _run, help="Say hello.")
    registry.add("run", _configure, _run, help="shadowed by the built-in command")


@pytest.fixture
def host() -> Iterator[PluginHost]:
    host = PluginHost(entry_points=False)
    host.register(SimpleNamespace(register_commands=register_commands), name="agentkit-greet")
    old = plugins.set_host(host)
    calls.clear()
    try:
        yield host
    finally:
        plugins.set_host(old)


def test_a_plugin_command_runs_with_its_own_arguments(host: PluginHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["greet", "--name", "Ada", "say"]) == 0
    assert capsys.readouterr().out == "hello Ada\n"
    assert calls[0].command == "greet" and calls[0].action == "say"
    assert host.registry("command").get("greet").plugin == "agentkit-greet"


def test_global_options_come_before_the_plugin_command(host: PluginHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "-c", "nowhere.toml", "greet", "say"]) == 0
    assert calls[0].debug is True and calls[0].config == "nowhere.toml"


def test_a_plugin_command_error_is_one_line_and_its_exit_code(
    host: PluginHost, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["greet", "fail"]) == 3
    err = capsys.readouterr().err
    assert "agentkit: error: greet.name: the greeting is misconfigured" in err
    assert "Traceback" not in err


def test_plugin_command_help(host: PluginHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["greet", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: agentkit greet" in out and "--name" in out and "Say hello." in out


def test_an_unknown_command_lists_plugin_commands(host: PluginHost, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gret"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'gret'" in err and "'greet'" in err and "'run'" in err


def test_built_in_commands_win_and_do_not_build_the_host(host: PluginHost) -> None:
    built: list[bool] = []
    original = host._all_registries

    def spy():  # type: ignore[no-untyped-def]
        built.append(True)
        return original()

    host._all_registries = spy  # type: ignore[method-assign]
    assert main(["run", "--help"]) == 0
    assert built == []
    assert calls == []
