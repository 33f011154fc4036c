"""agentkit-otel's hook implementations (the ``agentkit`` entry point): only what agentkit calls.

While tracing is off (the default) each hook returns ``None`` after a flag check, and no
OpenTelemetry code is imported. The spans live in :mod:`agentkit_otel.spans`, imported by the
first traced run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit import ConfigError, hookimpl

from . import settings

if TYPE_CHECKING:
    from agentkit.config import Config
    from agentkit.messages import ToolCall
    from agentkit.providers import ModelRequest, Provider
    from agentkit.registry import ConfigSectionRegistrar
    from agentkit.run_context import RunContext

__all__ = ["around_model_call", "around_run", "around_tool_call", "configure", "register_config_sections"]

# agentkit_otel.spans once the first traced run imported it (a global: no import statement per call)
_spans: Any = None


def _load_spans() -> Any:
    global _spans
    from . import spans

    _spans = spans
    return spans


@hookimpl
def register_config_sections(registry: ConfigSectionRegistrar) -> None:
    """The ``[otel]`` table: ``enabled``, ``capture_content``, ``sdk``."""
    registry.add("otel", settings.SCHEMA, description="OpenTelemetry traces and metrics of every run")


@hookimpl
def configure(config: Config) -> None:
    """A loaded config with an ``[otel]`` table decides whether runs are traced."""
    section = config.sections.get("otel")
    if section and section.get("sdk"):
        from .sdk import sdk_installed

        if not sdk_installed():
            raise ConfigError(
                "sdk = true needs the OpenTelemetry SDK, which is not installed",
                file=config.file,
                key_path="otel.sdk",
                hint="pip install 'agentkit-otel[sdk]', or set up an SDK yourself (docs/observability.md)",
            )
    settings.from_config(section, config.file)


@hookimpl
def around_run(ctx: RunContext) -> Any:
    """``invoke_agent {agent}``: the run's span, current for the whole run."""
    if not settings.enabled():
        return None
    return (_spans or _load_spans()).run_span(ctx)


@hookimpl
def around_model_call(ctx: RunContext, request: ModelRequest, provider: Provider) -> Any:
    """``chat {model}``: each model call of a traced run, its stream included."""
    run = settings.CURRENT_RUN.get()
    if run is None or run.run_id != ctx.run_id:
        return None
    return (_spans or _load_spans()).chat_span(run, ctx, request, provider)


@hookimpl
def around_tool_call(ctx: RunContext, call: ToolCall) -> Any:
    """``execute_tool {tool}``: each tool call of a traced run, in the call's own task."""
    run = settings.CURRENT_RUN.get()
    if run is None or run.run_id != ctx.run_id:
        return None
    return (_spans or _load_spans()).tool_span(run, ctx, call)
