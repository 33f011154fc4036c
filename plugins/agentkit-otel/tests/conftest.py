"""Fixtures for agentkit-otel's tests: the OpenTelemetry SDK with in-memory exporters.

The process gets one global tracer and meter provider (an application sets them once, and so
does this test session), feeding an ``InMemorySpanExporter`` and an ``InMemoryMetricReader``
(delta temporality, so each test sees only its own measurements). Tracing stays off unless a
test turns it on; every test starts and ends with agentkit-otel's state reset.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit_openai.plugin
import agentkit_otel.plugin
from agentkit.plugins import PluginHost
from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply
from agentkit_otel import sdk, settings, telemetry

EXPORTER = InMemorySpanExporter()
READER = InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
METER_PROVIDER = MeterProvider(metric_readers=[READER])
trace.set_tracer_provider(TRACER_PROVIDER)
metrics.set_meter_provider(METER_PROVIDER)


@attrs.define
class Recorded:
    """What the SDK received during one test."""

    def spans(self) -> list[ReadableSpan]:
        return list(EXPORTER.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, (name, [s.name for s in self.spans()])
        return found[0]

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def metrics(self) -> dict[str, list[Any]]:
        """Data points by metric name, collected now (delta: since the last collection)."""
        out: dict[str, list[Any]] = {}
        data = READER.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out

    def tree(self) -> list[tuple[str, str | None]]:
        """``(name, parent's name)`` of each span, in the order they ended."""
        spans = self.spans()
        by_id = {s.context.span_id: s for s in spans}
        return [
            (s.name, by_id[s.parent.span_id].name if s.parent and s.parent.span_id in by_id else None)
            for s in spans
        ]

    def everything(self) -> str:
        """Every span's name, attributes, events and status, as one text (to search for leaks)."""
        parts = []
        for s in self.spans():
            parts.append(s.name)
            parts.append(json.dumps(dict(s.attributes or {}), default=str))
            parts.append(str(s.status.description))
            for event in s.events:
                parts.append(json.dumps(dict(event.attributes or {}), default=str))
            parts.append(json.dumps(dict(s.resource.attributes), default=str))
        return "\n".join(parts)


def _reset() -> None:
    settings.STATE.reset()
    telemetry.forget()
    sdk.forget()
    EXPORTER.clear()
    READER.get_metrics_data()  # drop what earlier tests measured


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (settings.ENABLE_ENV, settings.CAPTURE_ENV):
        monkeypatch.delenv(name, raising=False)
    _reset()
    yield
    _reset()


@pytest.fixture
def recorded() -> Recorded:
    """The spans and metrics of this test."""
    return Recorded()


@pytest.fixture
def otel_host(plugin_host: PluginHost) -> PluginHost:
    """A fresh plugin host with agentkit-otel's hooks registered, as its entry point does (and
    agentkit-openai's, for runs against a loopback OpenAI-compatible server)."""
    plugin_host.register(agentkit_otel.plugin, name="otel")
    plugin_host.register(agentkit_openai.plugin, name="openai")
    return plugin_host


class Receiver:
    """An OTLP/HTTP receiver on 127.0.0.1: records what exporters post, decodes the protobuf."""

    def __init__(self) -> None:
        self.server = LoopbackServer(self._handle)
        self.posts: list[tuple[str, bytes]] = []
        self.arrived = threading.Condition()

    def _handle(self, request: RecordedRequest) -> Reply:
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        with self.arrived:
            self.posts.append((request.path, body))
            self.arrived.notify_all()
        return Reply(200, b"", {"content-type": "application/x-protobuf"})

    @property
    def endpoint(self) -> str:
        return self.server.url

    def traces(self) -> list[Any]:
        """Every span that arrived, with its resource's attributes: ``(resource, span)``."""
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        out = []
        for path, body in list(self.posts):
            if path == "/v1/traces":
                for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
                    resource = attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        out.extend((resource, span) for span in scope_spans.spans)
        return out

    def metrics(self) -> dict[str, list[Any]]:
        """Histogram data points that arrived, by metric name."""
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        out: dict[str, list[Any]] = {}
        for path, body in list(self.posts):
            if path == "/v1/metrics":
                for resource_metrics in ExportMetricsServiceRequest.FromString(body).resource_metrics:
                    for scope_metrics in resource_metrics.scope_metrics:
                        for metric in scope_metrics.metrics:
                            out.setdefault(metric.name, []).extend(metric.histogram.data_points)
        return out

    def wait_for(self, path: str, timeout: float = 60) -> None:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: any(p == path for p, _ in self.posts), timeout=timeout)
        assert ok, f"nothing arrived at {path} within {timeout} s: {[p for p, _ in self.posts]}"


def attributes(values: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` attributes as a dict of plain values."""
    out: dict[str, Any] = {}
    for kv in values:
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind)
        if kind == "array_value":
            value = tuple(getattr(v, v.WhichOneof("value")) for v in value.values)
        out[kv.key] = value
    return out


@pytest.fixture
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with receiver.server:
        yield receiver


@pytest.fixture
def otlp_attributes() -> Any:
    return attributes
