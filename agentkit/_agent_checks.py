"""Checking what an agent and a run are given, before anything runs.

:mod:`agentkit._run` declares the options and checks their values; this module checks the
rest of what ``Agent(...)`` and ``agent.run(...)`` take: the names a plugin must provide (the
model's provider, tools and their settings, guardrails, store, memory and cache names, with
the options their factories take), the connection and plugin arguments, and a run's own
arguments (prompt, history, images, ids). Every problem is a
:class:`~agentkit.errors.ConfigError` whose ``key_path`` names the argument.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._options import describe
from ._run import MESSAGE_TYPES, OPTIONS, RunSettings
from .errors import AgentkitError, ConfigError
from .providers import Provider

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["check_names", "check_run_arguments", "check_wiring"]

T = TypeVar("T")


def check_names(agent: Agent, settings: RunSettings, only: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check the names in ``settings`` (only the options in ``only``, for a run's overrides)
    against ``agent``'s plugin host; return the tools and guardrails resolved on the way.

    The host is consulted only when something is named: Tool objects and functions need none.
    """
    keys = set(OPTIONS) if only is None else set(only)
    resolved: dict[str, Any] = {}
    for key in ("model", "synthesizer_model"):
        model = getattr(settings, key)
        if key in keys and model is not None:
            _check_provider(agent, model, key)
    if keys & {"tools", "tool_settings"} and (
        settings.tool_settings or any(isinstance(t, str) for t in settings.tools)
    ):
        host = agent.host
        from ._config_schema import tool_settings_problem

        problem = tool_settings_problem(settings.tool_settings, host)
        if problem is not None:
            raise ConfigError(problem[1], key_path=f"tool_settings.{problem[0]}")
        resolved["tools"] = _resolved_or_error(
            lambda: agent._resolve_tools(settings, host),
            "tools",
            items=settings.tools,
            one=lambda item: agent._resolve_tools(attrs.evolve(settings, tools=(item,)), host, keep=False),
        )
    if "guardrails" in keys and any(isinstance(g, str | Mapping) for g in settings.guardrails):
        from .guardrails import resolve_guardrails

        host = agent.host
        resolved["guardrails"] = _resolved_or_error(
            lambda: resolve_guardrails(settings.guardrails, host=host), "guardrails"
        )
    for key, kind in (("memory", "memory"), ("storage", "store")):
        if key in keys:
            _check_named(agent, getattr(settings, key), kind, key)
    if "cache" in keys and isinstance(settings.cache, str):
        from .cache import resolve_cache

        cache, host = settings.cache, agent.host
        if cache not in host.registry("cache") and not _looks_like_path(cache):
            _resolved_or_error(lambda: resolve_cache(cache, host=host), "cache")
    return resolved


def _check_provider(agent: Agent, model: str, key: str) -> None:
    prefix, sep, rest = model.partition("/")
    own = agent._provider
    if own is not None and (not sep or prefix == own.name):
        return
    if not prefix or not rest:
        raise ConfigError(f"{model!r} must be '<provider>/<model>', for example 'openai/gpt-4o-mini'", key_path=key)
    registry = agent.host.registry("provider")
    if prefix not in registry:
        raise ConfigError(
            registry.unknown_message(prefix),
            key_path=key,
            hint="install the plugin that provides it (`agentkit install ...`), or fix the name",
        )
    if key == "model" and agent._provider_settings:
        # settings the factory does not take, when its signature or registration names them
        # (a **settings factory is checked when the provider is built, at the first run)
        from .registry import check_options

        check_options(
            registry.get(prefix), agent._provider_settings, key_path="provider_settings", skip=("base_url", "api_key")
        )


def _check_named(agent: Agent, spec: Any, kind: str, key: str) -> None:
    """A store or memory given by name: the name exists and its factory takes the options
    (checked without building it: a store or memory opens files when built)."""
    if isinstance(spec, str):
        name, options = (spec.partition(":")[0].strip() if kind == "store" else spec), {}
    elif isinstance(spec, Mapping):
        name, options = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        return
    registry = agent.host.registry(kind)
    if name not in registry:
        raise ConfigError(
            registry.unknown_message(name),
            key_path=f"{key}.name" if isinstance(spec, Mapping) else key,
            hint="install the plugin that provides it (`agentkit install ...`), or fix the name",
        )
    from .registry import check_options

    check_options(registry.get(name), options, key_path=key)


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.startswith(("~", "."))


def _resolved_or_error(
    resolve: Callable[[], T],
    key: str,
    *,
    items: Sequence[Any] = (),
    one: Callable[[Any], object] | None = None,
) -> T:
    """``resolve()``, with its failure as a ConfigError at ``key`` (the cause kept); with
    ``one``, the item of ``items`` at fault is found and named (``tools[2]``)."""
    try:
        return resolve()
    except ConfigError as exc:
        if exc.key_path is not None and exc.key_path.startswith(("tool_settings", key)):
            raise
        message = str(exc)
        if exc.key_path and message.startswith(f"{exc.key_path}: "):
            message = message[len(exc.key_path) + 2 :]
        raise ConfigError(message, key_path=_culprit(items, one, key), hint=exc.hint) from exc
    except AgentkitError as exc:
        raise ConfigError(str(exc), key_path=_culprit(items, one, key), hint=exc.hint) from exc


def _culprit(items: Sequence[Any], one: Callable[[Any], object] | None, key: str) -> str:
    if one is not None:
        for index, item in enumerate(items):
            try:
                one(item)
            except Exception:
                return f"{key}[{index}]"
    return key


_WIRING: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "name": ("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip())),
    "base_url": ("a URL string", lambda v: isinstance(v, str) and bool(v.strip())),
    "api_key": ("a string", lambda v: isinstance(v, str)),
    "provider_settings": (
        "a table of settings",
        lambda v: isinstance(v, Mapping) and all(isinstance(k, str) for k in v),
    ),
    "provider": ("a Provider", lambda v: isinstance(v, Provider)),
}


def check_wiring(**values: Any) -> None:
    """The arguments that say how to reach the provider and which plugins to use."""
    from .plugins import PluginHost

    for key, value in values.items():
        if value is None:
            continue
        if key == "plugin_host":
            expected, ok = "a PluginHost", isinstance(value, PluginHost)
        else:
            expected, test = _WIRING[key]
            ok = test(value)
        if not ok:
            shown = type(value).__name__ if key == "api_key" else describe(value)  # never quote a key
            raise ConfigError(f"expected {expected} or None, got {shown}", key_path=key)


def check_run_arguments(
    prompt: Any, history: Any, images: Any, template_params: Any, session_id: Any, user_id: Any
) -> None:
    """A run's own arguments, checked before it starts: a ConfigError naming the argument."""

    def fail(key: str, expected: str, value: Any) -> ConfigError:
        return ConfigError(f"expected {expected}, got {describe(value)}", key_path=key)

    if isinstance(prompt, list | tuple):
        for i, item in enumerate(prompt):
            if not isinstance(item, (str, *MESSAGE_TYPES)):
                raise fail(f"prompt[{i}]", "a string or a message", item)
    elif not isinstance(prompt, (str, *MESSAGE_TYPES)):
        raise fail("prompt", "a string, a message, or a list of them", prompt)
    if history is not None:
        if not isinstance(history, Sequence) or isinstance(history, str | bytes):
            raise fail("history", "a list of messages", history)
        for i, message in enumerate(history):
            if not isinstance(message, MESSAGE_TYPES):
                raise fail(f"history[{i}]", "a message (UserMessage, AssistantMessage, ...)", message)
    if images is not None:
        if not isinstance(images, Sequence) or isinstance(images, str | bytes):
            raise fail("images", "a list of images (paths, URLs, bytes or ImageParts)", images)
        from .messages import ImagePart

        for i, image in enumerate(images):
            if not isinstance(image, str | bytes | os.PathLike | ImagePart):
                raise fail(f"images[{i}]", "a path, an http(s) or data: URL, bytes or an ImagePart", image)
    if template_params is not None and (
        not isinstance(template_params, Mapping) or not all(isinstance(k, str) for k in template_params)
    ):
        raise fail("template_params", "a table with string keys", template_params)
    for key, value in (("session_id", session_id), ("user_id", user_id)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, "a non-empty string or None", value)
