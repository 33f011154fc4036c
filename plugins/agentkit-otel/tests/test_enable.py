"""Off by default, even installed; on through AGENTKIT_OTEL, the [otel] table or instrument();
the user's providers used, nothing global replaced, nothing imported while off."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit_otel
from agentkit import Agent, ConfigError
from agentkit.config import load_config
from agentkit.plugins import PluginHost
from agentkit.testing import ScriptedProvider


def one_run(host: PluginHost) -> None:
    Agent("scripted/m", provider=ScriptedProvider(["ok"]), plugin_host=host).run("hi")


def test_installed_but_off_by_default(otel_host: PluginHost, recorded: Any) -> None:
    assert not agentkit_otel.is_instrumented()
    one_run(otel_host)
    assert recorded.spans() == [] and recorded.metrics() == {}


@pytest.mark.parametrize(
    ("value", "traced"), [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False), ("", False)]
)
def test_the_environment_variable_turns_it_on_or_off(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch, value: str, traced: bool
) -> None:
    monkeypatch.setenv("AGENTKIT_OTEL", value)
    one_run(otel_host)
    assert bool(recorded.spans()) is traced


def test_a_value_that_is_not_a_flag_is_off_with_a_warning(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTKIT_OTEL", "please")
    with caplog.at_level(logging.WARNING, logger="agentkit_otel"):
        one_run(otel_host)
        one_run(otel_host)
    assert recorded.spans() == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "agentkit_otel"]
    assert len(warnings) == 1 and "AGENTKIT_OTEL='please'" in warnings[0]


def write_config(tmp_path: Path, otel: str) -> Path:
    path = tmp_path / "agentkit.toml"
    path.write_text(f'default_agent = "helper"\n\n[otel]\n{otel}\n\n[agents.helper]\nmodel = "scripted/m"\n')
    return path


def test_the_config_table_turns_it_on(otel_host: PluginHost, recorded: Any, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "enabled = true"), host=otel_host)
    assert agentkit_otel.is_instrumented()
    agent = config.agent("helper", provider=ScriptedProvider(["from the config"]))
    assert agent.run("hi").text == "from the config"
    assert recorded.tree() == [("chat m", "invoke_agent helper"), ("invoke_agent helper", None)]


def test_the_environment_variable_overrides_the_config(
    otel_host: PluginHost, recorded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_config(write_config(tmp_path, "enabled = true"), host=otel_host)
    monkeypatch.setenv("AGENTKIT_OTEL", "0")
    one_run(otel_host)
    assert recorded.spans() == []


def test_a_config_without_the_table_changes_nothing(otel_host: PluginHost, tmp_path: Path) -> None:
    load_config(write_config(tmp_path, "enabled = true"), host=otel_host)
    other = tmp_path / "other"
    other.mkdir()
    (other / "agentkit.toml").write_text('[agents.x]\nmodel = "scripted/m"\n')
    load_config(other / "agentkit.toml", host=otel_host)
    assert agentkit_otel.is_instrumented()


def test_the_config_table_is_checked(otel_host: PluginHost, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="otel"):
        load_config(write_config(tmp_path, 'enabled = "yes"'), host=otel_host)
    with pytest.raises(ConfigError, match="trace_everything"):
        load_config(write_config(tmp_path, "trace_everything = true"), host=otel_host)


def test_the_config_s_content_setting(otel_host: PluginHost, recorded: Any, tmp_path: Path) -> None:
    load_config(write_config(tmp_path, "enabled = true\ncapture_content = true"), host=otel_host)
    one_run(otel_host)
    assert "gen_ai.input.messages" in recorded.span("chat m").attributes


def test_sdk_true_without_the_sdk_is_a_clear_config_error(
    otel_host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)  # as if opentelemetry-sdk were not installed
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, "enabled = true\nsdk = true"), host=otel_host)
    assert caught.value.key_path == "otel.sdk" and "agentkit-otel[sdk]" in (caught.value.hint or "")


def test_instrument_uses_the_providers_it_is_given_and_uninstrument_stops(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    agentkit_otel.instrument(tracer_provider=provider)
    assert agentkit_otel.is_instrumented()
    one_run(otel_host)
    assert [s.name for s in mine.get_finished_spans()] == ["chat m", "invoke_agent agent"]
    assert recorded.spans() == []  # the global provider was not used
    monkeypatch.setenv("AGENTKIT_OTEL", "1")
    agentkit_otel.uninstrument()
    assert not agentkit_otel.is_instrumented()
    one_run(otel_host)
    assert len(mine.get_finished_spans()) == 2 and recorded.spans() == []
    provider.shutdown()


def test_instrument_may_turn_content_on_over_the_environment(
    otel_host: PluginHost, recorded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    agentkit_otel.instrument(capture_content=True)
    one_run(otel_host)
    assert "gen_ai.output.messages" in recorded.span("chat m").attributes


def python(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (plugins from entry points); its last line, as JSON."""
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_OTEL"))}
    environment.update(env)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


RUN = """
import json, sys
from agentkit import Agent
from agentkit.plugins import get_host
from agentkit.testing import ScriptedProvider
assert "otel" in dict(get_host().pm.list_name_plugin())  # installed: loaded through its entry point
agent = Agent("scripted/m", provider=ScriptedProvider(["ok"], repeat_last=True))
for _ in range(3):
    agent.run("hi")
"""


def test_while_off_no_opentelemetry_code_is_imported() -> None:
    found = python(
        RUN
        + "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('opentelemetry'))}))"
    )
    assert found == {"modules": []}


def test_on_without_an_sdk_runs_work_and_nothing_global_is_replaced() -> None:
    found = python(
        RUN
        + """
from opentelemetry import metrics, trace
print(json.dumps({
    "tracer_provider": type(trace.get_tracer_provider()).__name__,
    "meter_provider": type(metrics.get_meter_provider()).__name__,
    "span": type(trace.get_current_span()).__name__,
}))
""",
        AGENTKIT_OTEL="1",
    )
    assert found == {
        "tracer_provider": "ProxyTracerProvider",
        "meter_provider": "_ProxyMeterProvider",
        "span": "NonRecordingSpan",
    }


def test_the_user_s_global_provider_set_after_import_is_used() -> None:
    found = python(
        """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from agentkit import Agent
from agentkit.testing import ScriptedProvider
agent = Agent("scripted/m", name="late", provider=ScriptedProvider(["ok"], repeat_last=True))
agent.run("before any provider")                   # traced into the API's no-op provider
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)                # the application sets up its SDK later
agent.run("after")
print(json.dumps({"spans": [s.name for s in exporter.get_finished_spans()]}))
""",
        AGENTKIT_OTEL="1",
    )
    assert found == {"spans": ["chat m", "invoke_agent late"]}
