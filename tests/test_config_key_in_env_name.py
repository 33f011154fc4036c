"""Issue 22: a key pasted into ``api_key_env`` (where a variable's name belongs) was quoted in
the config error by ``agentkit config check``, ``agentkit run`` and ``load_config()``. The file
is refused when it is loaded, saying the value looks like a key, never showing it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agentkit.cli import main
from agentkit.config import load_config
from agentkit.errors import ConfigError

# A key that is not a variable name (a dash), and one that is (GitHub tokens are letters,
# digits and underscores), both of the kind people paste.
KEYS = ["sk-proj-Q2x9vLk3Tt7mZ0aB4cD8eF1gH5jK6", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"]


def write_config(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "agentkit.toml"
    path.write_text(
        f'[providers.scripted]\napi_key_env = "{key}"\n\n[agents.a]\nmodel = "scripted/m"\n', encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("key", KEYS)
def test_load_config_says_it_looks_like_a_key_and_never_quotes_it(tmp_path: Path, key: str) -> None:
    path = write_config(tmp_path, key)
    with pytest.raises(ConfigError) as info:
        load_config(path).agent("a")
    text = f"{info.value} {info.value.hint or ''}"
    assert key not in text and key[:12] not in text
    assert "looks like a key" in text
    assert info.value.key_path == "providers.scripted.api_key_env"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("command", [["config", "check"], ["run", "-a", "a", "hello"], ["config", "show"]])
def test_the_cli_never_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str, command: list[str]
) -> None:
    write_config(tmp_path, key)
    monkeypatch.chdir(tmp_path)
    code = main(command)
    out, err = capsys.readouterr()
    assert key not in out + err and key[:12] not in out + err
    assert code == 3, err  # a config error
    assert "looks like a key" in err


def test_a_variable_name_is_still_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real variable name that is unset is named, so the user knows what to export."""
    monkeypatch.delenv("MY_SCRIPTED_KEY", raising=False)
    path = write_config(tmp_path, "MY_SCRIPTED_KEY")
    with pytest.raises(ConfigError, match="environment variable MY_SCRIPTED_KEY is not set"):
        load_config(path).agent("a")
    env: dict[str, Any] = {**os.environ, "MY_SCRIPTED_KEY": "x"}
    assert load_config(path, environ=env).agent("a").model == "scripted/m"
