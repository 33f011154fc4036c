"""The tracer, the meter and the two histograms agentkit-otel records with.

They come from the providers given to ``instrument()``, else from the process's global ones
(``opentelemetry.trace.get_tracer_provider()``: whatever SDK the user set up, or the API's
no-op one when there is none, which costs next to nothing). Only when the user asked for it
(``[otel] sdk = true``) and the process has no provider of its own does agentkit-otel build an
SDK from the standard ``OTEL_*`` variables (:mod:`agentkit_otel.sdk`), kept for its own spans
and metrics: nothing global is set or replaced.
"""

from __future__ import annotations

import importlib.metadata
import threading
from typing import Any

import attrs
from opentelemetry import metrics, trace

from . import semconv
from .settings import STATE

__all__ = ["SCOPE", "Telemetry", "live", "telemetry"]

#: The instrumentation scope's name.
SCOPE = "agentkit_otel"


@attrs.frozen
class Telemetry:
    """What a traced run records with."""

    tracer: trace.Tracer
    token_usage: metrics.Histogram
    duration: metrics.Histogram
    key: tuple[Any, ...]


_current: Telemetry | None = None
_lock = threading.Lock()


def _version() -> str:
    try:
        return importlib.metadata.version("agentkit-otel")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def _no_tracer_provider() -> bool:
    return isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _no_meter_provider() -> bool:
    provider = metrics.get_meter_provider()
    return isinstance(provider, metrics.NoOpMeterProvider) or type(provider).__name__ == "_ProxyMeterProvider"


def live() -> Telemetry | None:
    """The telemetry to record with, or ``None`` when nothing would receive it: no provider
    given to ``instrument()``, no ``[otel] sdk``, and the process has no SDK (the API's no-op
    providers). Then a traced run makes no span at all, which is what no-op spans would amount
    to (the current context is the caller's either way), at no cost; an SDK set up later is
    used from the next run on."""
    if (
        STATE.tracer_provider is None
        and STATE.meter_provider is None
        and not STATE.config_sdk
        and _no_tracer_provider()
        and _no_meter_provider()
    ):
        return None
    return telemetry()


def telemetry() -> Telemetry:
    """The current tracer and instruments (made again when ``instrument()`` changed providers)."""
    global _current
    key = (STATE.tracer_provider, STATE.meter_provider, STATE.config_sdk)
    made = _current
    if made is not None and made.key == key:
        return made
    with _lock:
        made = _current
        if made is not None and made.key == key:
            return made
        tracer_provider, meter_provider, sdk = key
        if sdk and (tracer_provider is None or meter_provider is None):
            from .sdk import env_providers

            if tracer_provider is None and _no_tracer_provider():
                tracer_provider = env_providers().tracer_provider
            if meter_provider is None and _no_meter_provider():
                meter_provider = env_providers().meter_provider
        version = _version()
        tracer = trace.get_tracer(SCOPE, version, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider=meter_provider)
        _current = made = Telemetry(
            tracer=tracer,
            token_usage=meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=semconv.TOKEN_BUCKETS,
            ),
            duration=meter.create_histogram(
                "gen_ai.client.operation.duration",
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=semconv.DURATION_BUCKETS,
            ),
            key=key,
        )
        return made


def forget() -> None:
    """Make the tracer and instruments afresh at next use (tests, ``instrument()``)."""
    global _current
    with _lock:
        _current = None
