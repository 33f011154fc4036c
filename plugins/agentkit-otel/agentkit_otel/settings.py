"""Whether runs are traced, and what their spans may hold: one place that decides.

Tracing is off unless the user turns it on, in this order of precedence:

1. ``agentkit_otel.instrument()`` / ``uninstrument()`` in the process (code says so);
2. the ``AGENTKIT_OTEL`` environment variable (``1``/``true``/``yes``/``on``, or
   ``0``/``false``/``no``/``off``);
3. ``enabled = true`` in the ``[otel]`` table of the last loaded ``agentkit.toml`` that has one.

Message and tool content is recorded only when the user opts in, in the same order:
``instrument(capture_content=...)``, the conventions' variable
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (``true``, or ``SPAN_ONLY`` /
``SPAN_AND_EVENT``), ``capture_content = true`` in ``[otel]``. This module imports no
OpenTelemetry code: the plugin's hooks ask it on every run, and it must stay cheap.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "CAPTURE_ENV",
    "CURRENT_RUN",
    "ENABLE_ENV",
    "SCHEMA",
    "STATE",
    "State",
    "capture_content",
    "enabled",
    "from_config",
]

log = logging.getLogger("agentkit_otel")

#: Turns tracing on (``1``) or off (``0``) for the process, over the config file.
ENABLE_ENV = "AGENTKIT_OTEL"
#: The GenAI conventions' opt-in for recording message content.
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# the values opentelemetry-util-genai gives the variable; agentkit records content on spans only
_CAPTURE_ON = frozenset({"span_only", "span_and_event"})
_CAPTURE_OFF = frozenset({"no_content", "event_only"})

#: The ``[otel]`` table of ``agentkit.toml``.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "OpenTelemetry traces and metrics of every run (agentkit-otel)",
    "properties": {
        "enabled": {
            "type": "boolean",
            "description": "trace every run (the AGENTKIT_OTEL variable overrides it)",
        },
        "capture_content": {
            "type": "boolean",
            "description": "record messages and tool arguments and results on spans "
            f"({CAPTURE_ENV} overrides it)",
        },
        "sdk": {
            "type": "boolean",
            "description": "when the process has no tracer or meter provider of its own, build an "
            "OpenTelemetry SDK from the standard OTEL_* variables (needs agentkit-otel[sdk])",
        },
    },
    "additionalProperties": False,
}

#: The traced run this code is part of (set by the run's span, for its model and tool calls).
CURRENT_RUN: contextvars.ContextVar[Any] = contextvars.ContextVar("agentkit_otel_run", default=None)


@attrs.define
class State:
    """What code and configuration said. Reset only by tests."""

    explicit: bool | None = None  # instrument() / uninstrument()
    explicit_capture: bool | None = None
    tracer_provider: Any = None  # given to instrument(); None: the global one
    meter_provider: Any = None
    config_enabled: bool | None = None  # the last loaded [otel] table
    config_capture: bool | None = None
    config_sdk: bool = False
    config_file: str | None = None
    warned: set[str] = attrs.field(factory=set)
    lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Back to nothing said (tests)."""
        with self.lock:
            self.explicit = self.explicit_capture = None
            self.tracer_provider = self.meter_provider = None
            self.config_enabled = self.config_capture = None
            self.config_sdk = False
            self.config_file = None
            self.warned.clear()


STATE = State()


def _warn_once(key: str, message: str) -> None:
    if key not in STATE.warned:
        STATE.warned.add(key)
        log.warning(message)


def _flag(name: str, raw: str) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _warn_once(
        f"{name}={value}",
        f"{name}={raw.strip()!r} is neither true (1, true, yes, on) nor false (0, false, no, off); "
        "taken as false",
    )
    return False


def enabled() -> bool:
    """Whether a run starting now is traced."""
    if STATE.explicit is not None:
        return STATE.explicit
    raw = os.environ.get(ENABLE_ENV)
    if raw is not None:
        flag = _flag(ENABLE_ENV, raw)
        if flag is not None:
            return flag
    return bool(STATE.config_enabled)


def capture_content() -> bool:
    """Whether spans may hold message and tool content (the user opted in)."""
    if STATE.explicit_capture is not None:
        return STATE.explicit_capture
    raw = os.environ.get(CAPTURE_ENV)
    if raw is not None and raw.strip():
        value = raw.strip().lower()
        if value in _TRUE or value in _CAPTURE_ON:
            return True
        if value in _FALSE or value in _CAPTURE_OFF:
            return False
        _warn_once(
            f"{CAPTURE_ENV}={value}",
            f"{CAPTURE_ENV}={raw.strip()!r} is not one of true, false, SPAN_ONLY, SPAN_AND_EVENT, "
            "EVENT_ONLY, NO_CONTENT; no content is recorded",
        )
        return False
    return bool(STATE.config_capture)


def from_config(section: Mapping[str, Any] | None, file: str | None) -> None:
    """Take the ``[otel]`` table of a loaded config (``None``: the file has none; nothing changes)."""
    if section is None:
        return
    with STATE.lock:
        STATE.config_enabled = section.get("enabled")
        STATE.config_capture = section.get("capture_content")
        STATE.config_sdk = bool(section.get("sdk", False))
        STATE.config_file = file
