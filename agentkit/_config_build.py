"""Building agents and providers from a loaded ``agentkit.toml`` (see :mod:`agentkit.config`).

An :class:`~agentkit.config.AgentConfig` (an agent's keys merged over its profiles) becomes
``Agent(...)`` keywords here: ``${VAR}`` references filled, names checked against the plugin
registries (tools, guardrails, stores, memory, providers), relative paths resolved against
the file's folder, and every problem reported at the key path of the file that set it.
``config check`` runs the same code collecting problems (:class:`_Problems`) instead of
raising the first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ._config_schema import (
    AGENT_KEYS,
    SETTING_KEYS,
    load_json_schema,
    raise_first,
    reraise_at,
    tool_settings_problem,
    validation_errors,
)
from ._interpolate import format_key_path, interpolate, resolved_view
from .errors import AgentkitError, ConfigError, PluginError, UnknownToolError
from .registry import option_names

if TYPE_CHECKING:
    from .agent import Agent
    from .config import AgentConfig, Config, KeyPath
    from .plugins import PluginHost

__all__ = ["build_agent", "build_provider", "check", "resolved", "with_section_settings"]

#: Agent keys that need more than passing on: names to check, paths to resolve. Every other
#: option a config file can set (see ``RunSettings``) goes to ``Agent(...)`` as it is.
_SPECIAL = frozenset({"model", "tools", "tool_settings", "guardrails", "storage", "memory", "cache", "output_schema"})


class _Problems:
    """Where building an agent puts what is wrong: raised at once, or (``config check``)
    collected so that every problem is reported, not only the first."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.found: list[ConfigError] = []

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as exc:
            if not self.collect:
                raise
            self.found.append(exc)
            self.found.extend(getattr(exc, "more", ()))


def _origin(ac: AgentConfig, key: str) -> KeyPath:
    return (*ac.origins.get(key, ("agents", ac.name)), key)


def build_agent(
    config: Config,
    ac: AgentConfig,
    overrides: Mapping[str, Any],
    problems: _Problems | None = None,
    *,
    agent_class: type[Agent] | None = None,
) -> Agent | None:
    """Build agent ``ac`` (an ``agent_class``, by default :class:`agentkit.Agent`). With
    ``problems`` collecting, every problem is added there and ``None`` is returned when
    there was any."""
    problems = problems or _Problems(collect=False)
    env = os.environ if config.environ is None else config.environ
    host = config.get_host()
    opts: dict[str, Any] = {}
    for key, value in ac.options.items():
        with problems.step():
            opts[key] = interpolate(value, env, file=config.file, path=_origin(ac, key))
            if opts[key] != value:  # filled in from the environment: check the values used
                raise_first(validation_errors(opts[key], AGENT_KEYS[key], file=config.file, prefix=_origin(ac, key)))
    overrides = dict(overrides)
    extra_tools = list(overrides.pop("tools", None) or ())
    for key in ("params", "template_params"):
        if key in overrides and overrides[key] is not None and isinstance(opts.get(key), Mapping):
            overrides[key] = {**opts[key], **overrides[key]}
    if overrides.get("tool_settings") is not None:  # merged into the agent's, table by table
        merged = {k: dict(v) for k, v in (opts.get("tool_settings") or {}).items() if isinstance(v, Mapping)}
        for key, table in overrides.pop("tool_settings").items():
            merged[key] = {**merged.get(key, {}), **table}
        opts["tool_settings"] = merged
    kwargs: dict[str, Any] = {"name": ac.name, "plugin_host": host}

    model_override = overrides.pop("model", None)
    model = model_override or opts.get("model")
    if not model:
        with problems.step():
            raise ConfigError(
                f"agent {ac.name!r} has no model",
                file=config.file,
                key_path=format_key_path(("agents", ac.name, "model")) if ac.name in config.agents else None,
                hint='set model = "provider/name" in the agent or in [profiles.default], or pass -m provider/name',
            )
    elif "provider" not in overrides:
        with problems.step():
            kwargs.update(_provider_kwargs(config, ac, model, env, from_file=not model_override))
            if overrides.get("base_url") and overrides.get("api_key") is None and kwargs.get("api_key") == "":
                del kwargs["api_key"]  # the caller chose this base_url, not the file: the usual key may go there

    tool_settings = opts.get("tool_settings") or {}
    with problems.step():
        _check_tool_settings(config, ac, tool_settings, host)
        kwargs["tools"] = _resolve_tools(config, ac, list(opts.get("tools") or ()), extra_tools, tool_settings, host)
        if tool_settings:
            kwargs["tool_settings"] = tool_settings
    if opts.get("guardrails"):
        from .guardrails import resolve_guardrails

        with problems.step():
            try:
                kwargs["guardrails"] = resolve_guardrails(opts["guardrails"], host=host)
            except Exception as exc:
                raise reraise_at(exc, file=config.file, key_path=_origin(ac, "guardrails")) from exc
    for key, kind in (("storage", "store"), ("memory", "memory")):
        if opts.get(key) is not None:
            with problems.step():
                spec = _check_named(config, ac, key, kind, opts[key], host)
                kwargs[key] = with_section_settings(config, kind, spec)
    cache = opts.get("cache")
    if isinstance(cache, str) and cache not in host.registry("cache"):
        cache_dir = Path(cache).expanduser()
        kwargs["cache"] = cache_dir if cache_dir.is_absolute() else config.base_dir / cache_dir
    elif cache is not None:
        kwargs["cache"] = cache
    if opts.get("output_schema") is not None:
        with problems.step():
            kwargs["output_type"] = load_json_schema(
                opts["output_schema"],
                base_dir=config.base_dir,
                file=config.file,
                key_path=_origin(ac, "output_schema"),
            )
    for key, value in opts.items():
        if key not in _SPECIAL:
            kwargs[key] = value
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    if problems.found:
        with problems.step():  # what the options' declarations say about the rest
            _raise_option_problems(config, ac, kwargs, overrides)
        return None
    with problems.step():
        agent = _agent_from(config, ac, model, kwargs, overrides, agent_class)
        if problems.collect:  # config check: build the provider too (its options are checked then)
            _build_agent_provider(config, agent)
        return agent
    return None


def _config_key_path(config: Config, ac: AgentConfig, key_path: str | None, overrides: Mapping[str, Any]) -> str | None:
    """An option's key path (``memory_settings.kk``) as the config file's (``agents.a.memory_settings.kk``)."""
    from ._run import OPTIONS

    if not key_path:
        return format_key_path(("agents", ac.name))
    head, dot, rest = key_path.partition(".")
    bracket = head.find("[")
    name, index = (head[:bracket], head[bracket:]) if bracket > 0 else (head, "")
    if name in overrides:
        return None
    declared = OPTIONS.get(name)
    key = declared.config_key if declared is not None and declared.config_key else name
    return format_key_path(_origin(ac, key)) + index + (dot + rest if rest else "")


def _as_config_error(config: Config, ac: AgentConfig, exc: ConfigError, overrides: Mapping[str, Any]) -> ConfigError:
    if exc.file is not None:
        return exc
    message = str(exc)
    if exc.key_path and message.startswith(f"{exc.key_path}: "):
        message = message[len(exc.key_path) + 2 :]
    where = _config_key_path(config, ac, exc.key_path, overrides)
    return ConfigError(message, file=config.file if where else None, key_path=where or exc.key_path, hint=exc.hint)


def _raise_option_problems(config: Config, ac: AgentConfig, kwargs: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    from ._run import option_problems

    values = {k: v for k, v in kwargs.items() if k not in ("name", "plugin_host", "base_url", "api_key", "provider_settings", "provider", "hooks")}
    found = [_as_config_error(config, ac, p, overrides) for p in option_problems(values, has_provider="provider" in kwargs)]
    raise_first(found)


def _agent_from(
    config: Config,
    ac: AgentConfig,
    model: str,
    kwargs: dict[str, Any],
    overrides: Mapping[str, Any],
    agent_class: type[Agent] | None = None,
) -> Agent:
    from .agent import Agent

    try:
        return (agent_class or Agent)(model, **kwargs)
    except ConfigError as exc:
        if exc.key_path and exc.key_path.startswith("provider_settings."):  # from [providers.<name>]
            raise _provider_error(config, model.partition("/")[0], exc) from exc
        raise _as_config_error(config, ac, exc, overrides) from exc
    except (AgentkitError, TypeError, ValueError) as exc:
        raise reraise_at(exc, file=config.file, key_path=("agents", ac.name)) from exc


def _build_agent_provider(config: Config, agent: Agent) -> None:
    """Build the provider of ``agent`` (no network: factories only construct), so that its
    settings are checked; a problem is reported at ``[providers.<name>]``."""
    name = agent.model.partition("/")[0]
    try:
        agent.provider  # noqa: B018 (built for its checks)
    except ConfigError as exc:
        raise _provider_error(config, name, exc, agent=agent.name) from exc
    except AgentkitError as exc:
        raise reraise_at(exc, file=config.file, key_path=("providers", name)) from exc


def _provider_error(config: Config, name: str, exc: ConfigError, *, agent: str | None = None) -> ConfigError:
    """A provider's settings error (key path ``provider_settings.x``) at ``[providers.<name>]``."""
    where = exc.key_path or ""
    message = str(exc)
    if where and message.startswith(f"{where}: "):
        message = message[len(where) + 2 :]
    parts: list[str | int] = ["providers", name]
    option = where.partition(".")[2]
    if option:
        parts += [option] if option in SETTING_KEYS else ["options", option]
    if name in config.providers or agent is None:
        return ConfigError(message, file=config.file, key_path=format_key_path(tuple(parts)), hint=exc.hint)
    return ConfigError(message, file=config.file, key_path=format_key_path(("agents", agent, "model")), hint=exc.hint)


def _provider_kwargs(
    config: Config, ac: AgentConfig, model: str, env: Mapping[str, str], *, from_file: bool = True
) -> dict[str, Any]:
    provider_name, sep, _rest = model.partition("/")
    registry = config.get_host().registry("provider")
    where = format_key_path(_origin(ac, "model")) if from_file and "model" in ac.options else None
    if not sep or not provider_name:
        raise ConfigError(
            f"{model!r} must be '<provider>/<model>', for example 'openai/gpt-4o-mini'",
            file=config.file if where else None,
            key_path=where,
            hint=f"installed providers: {', '.join(registry.names()) or 'none'}",
        )
    if provider_name not in registry:
        hint = "install the plugin that provides it (`agentkit install ...`), or fix the name"
        if where is None:  # named by the caller (`agentkit run -m`), not the file: a missing plugin
            raise PluginError(registry.unknown_message(provider_name), hint=hint)
        raise ConfigError(registry.unknown_message(provider_name), file=config.file, key_path=where, hint=hint)
    settings = config.providers.get(provider_name)
    if settings is None:
        return {}
    factory_kwargs = settings.factory_kwargs(env)
    out: dict[str, Any] = {}
    base_url = factory_kwargs.pop("base_url", None)
    if base_url is not None:
        out["base_url"] = base_url  # with its ${VAR} references filled
    api_key = factory_kwargs.pop("api_key", None)
    if api_key is not None:
        out["api_key"] = api_key
    if factory_kwargs:
        out["provider_settings"] = factory_kwargs
    return out


def _check_tool_settings(
    config: Config, ac: AgentConfig, tool_settings: Mapping[str, Any], host: PluginHost
) -> None:
    problem = tool_settings_problem(tool_settings, host)
    if problem is not None:
        key, message = problem
        origin = _origin(ac, f"tool_settings.{key}")[:-1]
        raise ConfigError(
            message, file=config.file, key_path=format_key_path((*origin, "tool_settings", key))
        )


def _resolve_tools(
    config: Config,
    ac: AgentConfig,
    items: list[Any],
    extra: list[Any],
    settings: Mapping[str, Any],
    host: PluginHost,
) -> list[Any]:
    if not items and not extra:
        return []
    from .tools import resolve_tool_items

    sections = config.sections
    shared: dict[str, Any] = {}
    try:
        resolved = resolve_tool_items([*items, *extra], host=host, settings=settings, sections=sections, shared=shared)
        return [*resolved.tools, *resolved.toolsets]
    except ConfigError as exc:
        if exc.key_path and exc.key_path.startswith("tool_settings."):  # a setting a tool refused
            raise _as_config_error(config, ac, exc, {}) from exc
        _tool_at_fault(config, ac, items, extra, settings, host, exc)
    except Exception as exc:
        _tool_at_fault(config, ac, items, extra, settings, host, exc)


def _tool_at_fault(
    config: Config,
    ac: AgentConfig,
    items: list[Any],
    extra: list[Any],
    settings: Mapping[str, Any],
    host: PluginHost,
    exc: Exception,
) -> NoReturn:
    """Raise ``exc`` at the key path of the tool at fault."""
    from .tools import resolve_tool_items

    sections = config.sections
    shared: dict[str, Any] = {}
    for index, item in enumerate(items):
        try:
            resolve_tool_items([item], host=host, settings=settings, sections=sections, shared=shared)
        except Exception as item_exc:
            raise reraise_at(
                item_exc, file=config.file, key_path=(*_origin(ac, "tools"), index)
            ) from item_exc
    for item in extra:
        try:
            resolve_tool_items([item], host=host, settings=settings, sections=sections, shared=shared)
        except UnknownToolError as item_exc:  # named by the caller (`agentkit run -T`): a missing plugin
            raise PluginError(
                str(item_exc), hint="`agentkit tools` lists them; `agentkit install PACKAGE` adds a plugin"
            ) from item_exc
        except Exception as item_exc:
            text = (
                str(item_exc)
                if isinstance(item_exc, AgentkitError)
                else f"{type(item_exc).__name__}: {item_exc}"
            )
            raise ConfigError(text, hint=getattr(item_exc, "hint", None)) from item_exc
    raise reraise_at(exc, file=config.file, key_path=_origin(ac, "tools")) from exc


def _check_named(config: Config, ac: AgentConfig, key: str, kind: str, spec: Any, host: PluginHost) -> Any:
    """Check the name in ``"name"``, ``"name:path"`` or ``{name = "...", ...}``, and the
    settings of a table; return the spec."""
    where = _origin(ac, key)
    name = spec.get("name") if isinstance(spec, Mapping) else str(spec)
    if kind == "store" and isinstance(spec, str):
        name = spec.partition(":")[0].strip()
    registry = host.registry(kind)
    if name not in registry:
        raise ConfigError(
            registry.unknown_message(str(name)),
            file=config.file,
            key_path=format_key_path((*where, "name") if isinstance(spec, Mapping) else where),
            hint="install the plugin that provides it (`agentkit install ...`), or fix the name",
        )
    if isinstance(spec, Mapping):  # its settings: an option the factory does not take (not built here)
        from .registry import check_options

        options = {k: v for k, v in spec.items() if k != "name"}
        try:
            check_options(registry.get(str(name)), options, key_path=key)
        except ConfigError as exc:
            raise _as_config_error(config, ac, exc, {}) from exc
    return dict(spec) if isinstance(spec, Mapping) else spec


def with_section_settings(config: Config, kind: str, spec: Any) -> Any:
    if isinstance(spec, Mapping):
        name, options = spec.get("name"), {k: v for k, v in spec.items() if k != "name"}
    elif isinstance(spec, str):
        name, sep, location = spec.partition(":") if kind == "store" else (spec, "", "")
        name, options = name.strip(), ({"path": location} if sep else {})
    else:
        return spec
    registry = config.get_host().registry(kind)
    if not isinstance(name, str) or name not in registry:
        return spec
    entry = registry.get(name)
    section = entry.extra.get("settings_section")
    values = config.sections.get(section) if section else None
    if not isinstance(values, Mapping) or not values:
        return spec
    known, open_ended = option_names(entry)
    defaults = {k: v for k, v in values.items() if open_ended or k in known}
    return {"name": name, **defaults, **options}


def build_provider(config: Config, name: str) -> Any:
    registry = config.get_host().registry("provider")
    if name not in registry:
        raise ConfigError(registry.unknown_message(name))
    settings = config.providers.get(name)
    kwargs = settings.factory_kwargs(config.environ) if settings is not None else {}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    try:
        return registry.get(name).value(**kwargs)
    except AgentkitError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"provider {name!r} could not be built: {type(exc).__name__}: {exc}",
            file=config.file if settings is not None else None,
            key_path=format_key_path(("providers", name)) if settings is not None else None,
        ) from exc


def check(config: Config) -> list[ConfigError]:
    problems: list[ConfigError] = []
    for provider in config.providers.values():
        try:
            provider.resolve_api_key(config.environ)
        except ConfigError as exc:
            problems.append(exc)
    names: list[str | None] = list(config.agents) or [None]
    for name in names:
        if name is None and "default" not in config.profiles:
            continue
        collected = _Problems(collect=True)
        try:
            build_agent(config, config.agent_config(name), {}, collected)
        except ConfigError as exc:
            collected.found.append(exc)
        except AgentkitError as exc:
            collected.found.append(reraise_at(exc, file=config.file, key_path=("agents", name or "default")))
        problems.extend(collected.found)
    unique: dict[str, ConfigError] = {}
    for problem in problems:  # a profile's or a provider's problem shows once, not per agent
        unique.setdefault(str(problem), problem)
    return list(unique.values())


def resolved(config: Config, *, mask: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if config.default_agent is not None:
        raw["default_agent"] = config.default_agent
    for key, value in (
        ("profiles", config.profiles),
        ("providers", config.data.get("providers") or {}),
        (
            "agents",
            {
                n: {**({"profile": a.profile} if a.profile else {}), **a.options}
                for n, a in config.agents.items()
            },
        ),
    ):
        if value:
            raw[key] = value
    raw.update({name: config.data[name] for name in config.sections})
    env = os.environ if config.environ is None else config.environ
    out = resolved_view(raw, env, file=config.file, mask=mask)
    for name, provider in config.providers.items():
        if provider.withhold_env_key:
            out["providers"][name]["api_key"] = ""
    return out
