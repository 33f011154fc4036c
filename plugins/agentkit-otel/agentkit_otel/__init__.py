"""agentkit-otel: OpenTelemetry traces and metrics of agentkit runs, the GenAI conventions' way.

Off until turned on: ``AGENTKIT_OTEL=1``, ``enabled = true`` in ``[otel]`` of
``agentkit.toml``, or :func:`instrument`. Then every run is an ``invoke_agent {agent}`` span,
each model call a ``chat {model}`` span and each tool call an ``execute_tool {tool}`` span,
recorded with the process's tracer and meter providers (the OpenTelemetry API only: the SDK
and its exporters are the user's choice). See docs/observability.md.
"""

from __future__ import annotations

from typing import Any

from . import settings

__all__ = ["instrument", "is_instrumented", "uninstrument"]


def instrument(
    *, tracer_provider: Any = None, meter_provider: Any = None, capture_content: bool | None = None
) -> None:
    """Trace every run in this process, over what ``AGENTKIT_OTEL`` and the config say.

    :param tracer_provider: Where spans go; ``None``: the global one (``opentelemetry.trace``).
    :param meter_provider: Where metrics go; ``None``: the global one.
    :param capture_content: Record messages, tool arguments and tool results on spans (``None``:
        as ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` or ``[otel] capture_content``
        say; off by default).
    """
    from .telemetry import forget

    with settings.STATE.lock:
        settings.STATE.explicit = True
        settings.STATE.tracer_provider = tracer_provider
        settings.STATE.meter_provider = meter_provider
        settings.STATE.explicit_capture = capture_content
    forget()


def uninstrument() -> None:
    """Trace no run from now on, whatever ``AGENTKIT_OTEL`` and the config say (runs in
    progress finish their spans)."""
    with settings.STATE.lock:
        settings.STATE.explicit = False
        settings.STATE.tracer_provider = settings.STATE.meter_provider = None
        settings.STATE.explicit_capture = None


def is_instrumented() -> bool:
    """Whether a run starting now is traced."""
    return settings.enabled()
