"""One export over OTLP/HTTP (opentelemetry-exporter-otlp-proto-http) to a loopback receiver:
what arrives, decoded from protobuf (opentelemetry-proto), is the run's spans and metrics."""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import agentkit_otel
from agentkit import Agent, tool
from agentkit.plugins import PluginHost
from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call
from agentkit_otel import semconv


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_spans_and_metrics_arrive_over_otlp_http(
    otel_host: PluginHost, otlp_receiver: Any, otlp_attributes: Any
) -> None:
    resource = Resource.create({"service.name": "otlp-test"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_receiver.endpoint}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{otlp_receiver.endpoint}/v1/metrics"), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    agentkit_otel.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    script = [
        FakeReply(
            tool_calls=[tool_call("add", {"a": 2, "b": 3}, id="call_add")],
            usage={"prompt_tokens": 15, "completion_tokens": 5},
        ),
        FakeReply("5", usage={"prompt_tokens": 25, "completion_tokens": 1}),
    ]
    try:
        with FakeOpenAIServer(script) as server:
            agent = Agent(
                "openai/gpt-4o-mini",
                name="adder",
                base_url=server.base_url,
                api_key="sk-test",
                tools=[add],
                plugin_host=otel_host,
            )
            assert agent.run("2 + 3?", session_id="s-1").text == "5"
    finally:
        tracer_provider.shutdown()  # exports what the batch holds
        meter_provider.shutdown()  # collects and exports once
    otlp_receiver.wait_for("/v1/traces")
    otlp_receiver.wait_for("/v1/metrics")

    arrived = otlp_receiver.traces()
    assert {resource["service.name"] for resource, _ in arrived} == {"otlp-test"}
    spans = {
        span.name + (f" #{span.span_id.hex()}" if span.name.startswith("chat") else ""): span
        for _, span in arrived
    }
    run = spans["invoke_agent adder"]
    tool_span = spans["execute_tool add"]
    chats = [s for name, s in spans.items() if name.startswith("chat gpt-4o-mini")]
    assert len(spans) == 4 and len(chats) == 2
    assert run.parent_span_id == b""
    assert {s.parent_span_id for s in (*chats, tool_span)} == {run.span_id}
    assert {s.trace_id for s in spans.values()} == {run.trace_id}
    assert run.kind == run.SPAN_KIND_INTERNAL and all(c.kind == c.SPAN_KIND_CLIENT for c in chats)
    assert otlp_attributes(run.attributes) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.agent.name": "adder",
        "gen_ai.conversation.id": "s-1",
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.output_tokens": 6,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    tool_attributes = otlp_attributes(tool_span.attributes)
    assert (
        tool_attributes["gen_ai.tool.name"] == "add" and tool_attributes["gen_ai.tool.call.id"] == "call_add"
    )
    first = min(chats, key=lambda s: s.start_time_unix_nano)
    assert otlp_attributes(first.attributes)["gen_ai.response.finish_reasons"] == ("tool_calls",)

    assert [path for path, _ in otlp_receiver.posts].count("/v1/metrics") == 1
    metrics = otlp_receiver.metrics()
    tokens = metrics["gen_ai.client.token.usage"]
    by_type = {otlp_attributes(p.attributes)["gen_ai.token.type"]: p for p in tokens}
    assert (by_type["input"].count, by_type["input"].sum) == (2, 40)
    assert (by_type["output"].count, by_type["output"].sum) == (2, 6)
    assert tuple(by_type["input"].explicit_bounds) == semconv.TOKEN_BUCKETS
    (duration,) = metrics["gen_ai.client.operation.duration"]
    assert duration.count == 2 and tuple(duration.explicit_bounds) == semconv.DURATION_BUCKETS
    assert otlp_attributes(duration.attributes)["gen_ai.operation.name"] == "chat"
