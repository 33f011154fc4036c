"""An OpenTelemetry SDK built from the standard ``OTEL_*`` variables, for ``[otel] sdk = true``.

For the ``agentkit`` command, which has no code of the user's to set up an SDK. Built once,
at the first traced run, only when the process has no tracer (or meter) provider of its own,
and kept for agentkit-otel's spans and metrics: it is not made the global provider. The
variables are the ones every OpenTelemetry SDK reads:

- ``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``: ``otlp`` (the default), ``console``
  (written to stderr: stdout is the answer), ``none``, or the name of any exporter an installed
  package registers (entry points ``opentelemetry_traces_exporter`` / ``..._metrics_exporter``);
  several, comma-separated;
- ``OTEL_EXPORTER_OTLP_PROTOCOL`` (or ``..._TRACES_PROTOCOL`` / ``..._METRICS_PROTOCOL``):
  ``http/protobuf`` (the default; opentelemetry-exporter-otlp-proto-http) or ``grpc``
  (opentelemetry-exporter-otlp-proto-grpc); the exporters read ``OTEL_EXPORTER_OTLP_ENDPOINT``,
  ``..._HEADERS`` and the rest themselves;
- ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES`` (``service.name`` is ``agentkit``
  unless they say otherwise), ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``,
  ``OTEL_METRIC_EXPORT_INTERVAL``, and ``OTEL_SDK_DISABLED``.

Spans are batched and metrics exported periodically; both are flushed when the process exits.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.errors import ConfigError

from .settings import STATE

__all__ = ["EnvProviders", "env_providers", "sdk_installed"]

_INSTALL = "pip install 'agentkit-otel[sdk]'"


@attrs.frozen
class EnvProviders:
    """The SDK's providers (``None``: ``OTEL_SDK_DISABLED``, use the global ones)."""

    tracer_provider: Any
    meter_provider: Any


_built: EnvProviders | None = None
_lock = threading.Lock()


def sdk_installed() -> bool:
    """Whether opentelemetry-sdk can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except (ModuleNotFoundError, ValueError):
        return False


def env_providers(environ: Mapping[str, str] | None = None) -> EnvProviders:
    """The providers, built on first call from the environment."""
    global _built
    with _lock:
        if _built is None:
            _built = _build(os.environ if environ is None else environ)
        return _built


def _error(message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, file=STATE.config_file, key_path="otel.sdk", hint=hint)


def _names(environ: Mapping[str, str], variable: str) -> list[str]:
    raw = environ.get(variable, "").strip() or "otlp"
    return [n.strip().lower() for n in raw.split(",") if n.strip()]


def _protocol(environ: Mapping[str, str], signal: str) -> str:
    raw = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    return (raw or "http/protobuf").strip().lower()


_OTLP = {
    ("http/protobuf", "TRACES"): (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "OTLPSpanExporter",
    ),
    ("http/protobuf", "METRICS"): (
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
        "OTLPMetricExporter",
    ),
    ("grpc", "TRACES"): ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ("grpc", "METRICS"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
}
_PACKAGES = {
    "http/protobuf": "opentelemetry-exporter-otlp-proto-http",
    "grpc": "opentelemetry-exporter-otlp-proto-grpc",
}


def _exporter(name: str, signal: str, environ: Mapping[str, str]) -> Any:
    """One exporter of ``signal`` (``TRACES`` or ``METRICS``) named as ``OTEL_*_EXPORTER`` names it."""
    variable = f"OTEL_{signal}_EXPORTER"
    if name == "console":
        if signal == "TRACES":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter(out=sys.stderr)
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter(out=sys.stderr)
    if name == "otlp":
        protocol = _protocol(environ, signal)
        where = _OTLP.get((protocol, signal))
        if where is None:
            raise _error(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported for {signal.lower()}; "
                "use http/protobuf or grpc"
            )
        try:
            module = importlib.import_module(where[0])
        except ImportError:
            raise _error(
                f"{variable}=otlp over {protocol} needs {_PACKAGES[protocol]}",
                hint=f"pip install {_PACKAGES[protocol]}",
            ) from None
        return getattr(module, where[1])()
    group = "opentelemetry_traces_exporter" if signal == "TRACES" else "opentelemetry_metrics_exporter"
    found = importlib.metadata.entry_points(group=group, name=name)
    if not found:
        known = sorted(
            {"otlp", "console", "none", *(e.name for e in importlib.metadata.entry_points(group=group))}
        )
        raise _error(f"{variable}={name!r}: no such exporter is installed (known: {', '.join(known)})")
    return next(iter(found)).load()()


def _resource(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource

    named = environ.get("OTEL_SERVICE_NAME", "").strip() or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {"service.name": "agentkit"})


def _build(environ: Mapping[str, str]) -> EnvProviders:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return EnvProviders(None, None)
    if not sdk_installed():
        raise _error("[otel] sdk = true needs the OpenTelemetry SDK", hint=_INSTALL)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = _resource(environ)
    tracer_provider = TracerProvider(resource=resource)
    for name in _names(environ, "OTEL_TRACES_EXPORTER"):
        if name != "none":
            tracer_provider.add_span_processor(BatchSpanProcessor(_exporter(name, "TRACES", environ)))
    readers = [
        PeriodicExportingMetricReader(_exporter(name, "METRICS", environ))
        for name in _names(environ, "OTEL_METRICS_EXPORTER")
        if name != "none"
    ]
    meter_provider = MeterProvider(metric_readers=readers, resource=resource)
    return EnvProviders(tracer_provider, meter_provider)


def forget() -> None:
    """Shut the built providers down and build afresh at next use (tests)."""
    global _built
    with _lock:
        built, _built = _built, None
    if built is not None and built.tracer_provider is not None:
        built.tracer_provider.shutdown()
        built.meter_provider.shutdown()
