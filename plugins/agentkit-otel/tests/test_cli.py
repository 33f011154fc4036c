"""The user's path: ``agentkit run -a NAME`` in a subprocess, on a real agentkit.toml with
``[otel] enabled = true`` and ``sdk = true``, the exporter chosen by the standard OTEL_*
variables: OTLP/HTTP to a loopback receiver, or the console (stderr; stdout keeps the answer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

KEY = "sk-test-otel-cli-7c1d"


def write_project(tmp_path: Path, server: FakeOpenAIServer, otel: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "agentkit.toml").write_text(
        f"""
default_agent = "helper"

[otel]
{otel}

[providers.openai]
base_url = "{server.base_url}"
api_key_env = "OTEL_CLI_TEST_KEY"
max_retries = 0

[agents.helper]
model = "openai/gpt-4o-mini"
tools = ["otel_cli_tools:calc"]
"""
    )
    return project


def agentkit_run(project: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_", "OPENAI_"))}
    environment.update(
        AGENTKIT_HOME=str(tmp_path / "home"),
        OTEL_CLI_TEST_KEY=KEY,
        PYTHONPATH=str(Path(__file__).parent / "data"),  # the `calc` tool's plugin
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "agentkit", "run", *args], cwd=project, env=environment, capture_output=True,
        text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


@pytest.fixture
def server() -> Any:
    with FakeOpenAIServer([tool_call("calc", {"a": 2, "b": 3}), "2 + 3 = 5."], api_key=KEY) as server:
        yield server


def test_agentkit_run_exports_its_spans_and_metrics_over_otlp(
    tmp_path: Path, server: Any, otlp_receiver: Any, otlp_attributes: Any
) -> None:
    project = write_project(tmp_path, server, "enabled = true\nsdk = true")
    done = agentkit_run(
        project, tmp_path, "-a", "helper", "--session", "cli-1", "What is 2 + 3?",
        OTEL_TRACES_EXPORTER="otlp", OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint, OTEL_SERVICE_NAME="otel-cli-test",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2 + 3 = 5.\n"
    otlp_receiver.wait_for("/v1/traces")  # flushed when the command exited
    otlp_receiver.wait_for("/v1/metrics")
    arrived = otlp_receiver.traces()
    names = sorted(span.name for _, span in arrived)
    assert names == ["chat gpt-4o-mini", "chat gpt-4o-mini", "execute_tool calc", "invoke_agent helper"]
    assert {resource["service.name"] for resource, _ in arrived} == {"otel-cli-test"}
    run = next(span for _, span in arrived if span.name == "invoke_agent helper")
    assert {span.parent_span_id for _, span in arrived if span is not run} == {run.span_id}
    chat = next(span for _, span in arrived if span.name.startswith("chat"))
    attrs = otlp_attributes(chat.attributes)
    assert attrs["gen_ai.conversation.id"] == "cli-1" and attrs["gen_ai.request.stream"] is True
    assert attrs["server.address"] == "127.0.0.1"
    assert "gen_ai.input.messages" not in attrs  # no content unless asked for
    assert set(otlp_receiver.metrics()) == {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"}
    assert KEY not in repr(otlp_receiver.posts)


def test_agentkit_run_writes_spans_to_stderr_with_the_console_exporter(tmp_path: Path, server: Any) -> None:
    project = write_project(tmp_path, server, "enabled = true\nsdk = true\ncapture_content = true")
    done = agentkit_run(
        project,
        tmp_path,
        "-a",
        "helper",
        "What is 2 + 3?",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2 + 3 = 5.\n"  # the answer alone: spans go to stderr
    decoder = json.JSONDecoder()
    spans, text = [], done.stderr
    position = text.find("{")
    while position != -1:
        value, end = decoder.raw_decode(text, position)
        if isinstance(value, dict) and "name" in value and "context" in value:
            spans.append(value)
        position = text.find("{", end)
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {"chat gpt-4o-mini", "execute_tool calc", "invoke_agent helper"}
    tool_span = by_name["execute_tool calc"]
    assert tool_span["parent_id"] == by_name["invoke_agent helper"]["context"]["span_id"]
    assert json.loads(tool_span["attributes"]["gen_ai.tool.call.arguments"]) == {"a": 2, "b": 3}
    assert KEY not in done.stderr


def test_agentkit_otel_0_turns_the_config_s_tracing_off(
    tmp_path: Path, server: Any, otlp_receiver: Any
) -> None:
    project = write_project(tmp_path, server, "enabled = true\nsdk = true")
    done = agentkit_run(
        project,
        tmp_path,
        "-a",
        "helper",
        "What is 2 + 3?",
        AGENTKIT_OTEL="0",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
    )
    assert done.returncode == 0, done.stderr
    assert otlp_receiver.posts == []


def test_a_missing_exporter_package_is_a_clear_error(tmp_path: Path, server: Any) -> None:
    project = write_project(tmp_path, server, "enabled = true\nsdk = true")
    done = agentkit_run(
        project,
        tmp_path,
        "-a",
        "helper",
        "hi",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert done.returncode != 0
    assert "otel.sdk" in done.stderr and "opentelemetry-exporter-otlp-proto-grpc" in done.stderr
    assert "Traceback" not in done.stderr


def test_opentelemetry_instrument_s_sdk_is_used_when_agentkit_otel_is_on(
    tmp_path: Path, server: Any, otlp_receiver: Any
) -> None:
    """Zero-code set-up: ``opentelemetry-instrument`` (opentelemetry-distro) configures the SDK from
    OTEL_* variables and sets it as the global provider; agentkit-otel only has to be on."""
    project = write_project(tmp_path, server, "")
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    assert launcher.exists(), "opentelemetry-distro is in requirements-dev.txt"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_", "OPENAI_"))}
    environment.update(
        AGENTKIT_HOME=str(tmp_path / "home"), OTEL_CLI_TEST_KEY=KEY, PYTHONPATH=str(Path(__file__).parent / "data"),
        AGENTKIT_OTEL="1", OTEL_SERVICE_NAME="instrumented", OTEL_TRACES_EXPORTER="otlp_proto_http",
        OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
    )  # fmt: skip
    done = subprocess.run(
        [str(launcher), sys.executable, "-m", "agentkit", "run", "-a", "helper", "What is 2 + 3?"],
        cwd=project, env=environment, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2 + 3 = 5.\n"
    otlp_receiver.wait_for("/v1/traces")
    arrived = otlp_receiver.traces()
    assert sorted(span.name for _, span in arrived) == [
        "chat gpt-4o-mini", "chat gpt-4o-mini", "execute_tool calc", "invoke_agent helper",
    ]  # fmt: skip
    assert {resource["service.name"] for resource, _ in arrived} == {"instrumented"}
