"""The plugin as installed: who serves ``anthropic/``, the token counter, ``agentkit run -a`` on a config."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

from agentkit_anthropic import tokens
from agentkit_anthropic.provider import AnthropicProvider
from agentkit_anthropic.tokens import AnthropicTokenCounter, estimate
from fake_anthropic_server import KEY, FakeAnthropic, Turn, text, tool_use

from agentkit.plugins import PluginHost
from agentkit.tokens import count_tokens, counter_for


def _host(**environ: str) -> PluginHost:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clash would warn: there must be none
        host = PluginHost(environ=environ)
        host.registry("provider")
    return host


def test_anthropic_is_the_native_provider_and_the_compat_profile_keeps_its_own_name() -> None:
    host = _host(AGENTKIT_LOAD_PLUGINS="agentkit-anthropic,agentkit-openai")
    providers = host.registry("provider")
    native = providers.get("anthropic")
    assert native.plugin == "agentkit-anthropic" and isinstance(native.value(api_key=KEY), AnthropicProvider)
    compat = providers.get("anthropic-openai")
    assert compat.plugin == "agentkit-openai" and compat.value(api_key=KEY).name == "anthropic-openai"


def test_without_the_plugin_anthropic_is_the_compat_profile() -> None:
    for environ in ({"AGENTKIT_LOAD_PLUGINS": "agentkit-openai"}, {"AGENTKIT_DISABLE_PLUGINS": "agentkit-anthropic"}):
        entry = _host(**environ).registry("provider").get("anthropic")
        assert entry.plugin == "agentkit-openai" and entry.value(api_key=KEY).name == "anthropic-openai"


def test_the_token_counter_serves_claude_models_and_never_calls_by_default(fake: FakeAnthropic) -> None:
    host = _host(AGENTKIT_LOAD_PLUGINS="agentkit-anthropic")
    for model in ("anthropic/claude-sonnet-4-5", "claude-haiku-4-5"):
        assert isinstance(counter_for(model, host=host), AnthropicTokenCounter)
    text_ = "The quick brown fox jumps over the lazy dog. " * 20
    assert count_tokens(text_, "anthropic/claude-sonnet-4-5", host=host) == estimate(text_) == 258
    assert fake.count_requests == [] and fake.server.requests == []


def test_the_token_counter_uses_count_tokens_when_enabled(fake: FakeAnthropic, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.setenv("AGENTKIT_ANTHROPIC_COUNT_TOKENS", "claude-haiku-4-5")
    tokens._reset_for_tests()
    fake.count_tokens = lambda body: 7 + len(body["messages"][0]["content"][0]["text"])  # 7: the overhead
    counter = AnthropicTokenCounter()
    assert counter("hello world") == 11
    assert counter("hello world") == 11  # cached: no second call
    assert [b["model"] for b in fake.count_requests] == ["claude-haiku-4-5"] * 2  # the overhead probe, then the text
    assert counter("") == 0


def test_a_failing_count_estimates_and_warns_once(fake: FakeAnthropic, monkeypatch, caplog) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-not-the-right-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.setenv("AGENTKIT_ANTHROPIC_COUNT_TOKENS", "1")
    tokens._reset_for_tests()
    with caplog.at_level(logging.WARNING, logger="agentkit_anthropic"):
        assert AnthropicTokenCounter()("some text here") == estimate("some text here")
        assert AnthropicTokenCounter()("more text") == estimate("more text")
    warned = [r for r in caplog.records if "estimating instead" in r.getMessage()]
    assert len(warned) == 1 and "sk-ant-not" not in warned[0].getMessage()


CONFIG = """
    [providers.anthropic]
    base_url = "${ANTHROPIC_TEST_URL}"
    api_key_env = "ANTHROPIC_API_KEY"  # a moved base_url gets the key only when the file names it
    max_retries = 1

    [providers.anthropic.options]
    cache_ttl = "1h"

    [agents.claude]
    model = "anthropic/claude-sonnet-4-5"
    system = "You add numbers with the tool."
    tools = ["addtool:add"]

    [agents.claude.params]
    max_tokens = 1000
    stop_sequences = ["END"]
"""

TOOL_MODULE = '''
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
'''


def test_agentkit_run_with_a_config(tmp_path: Path, fake: FakeAnthropic) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "home").mkdir()
    (project / "agentkit.toml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    fake.script(Turn([tool_use("toolu_01", "add", {"a": 2, "b": 3})]), Turn([text("2 + 3 = 5.")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), ANTHROPIC_TEST_URL=fake.url, ANTHROPIC_API_KEY=KEY)
    (project / "addtool.py").write_text(TOOL_MODULE, encoding="utf-8")  # the tool, by import path
    env["PYTHONPATH"] = str(project)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-a", "claude", "What is 2 + 3?"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2 + 3 = 5.\n"
    first, second = fake.requests
    assert first["system"][0]["text"] == "You add numbers with the tool."
    assert first["max_tokens"] == 1000 and first["stop_sequences"] == ["END"]
    assert first["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert second["messages"][-1]["content"][0]["tool_use_id"] == "toolu_01"
    assert fake.headers[0]["x-api-key"] == KEY


def test_estimate_is_bytes_over_three_and_a_half() -> None:
    assert estimate("hello") == 2 and estimate("ü") == 1 and estimate("") == 0
