"""Config-driven agents: ``agentkit.toml``, its profiles, providers and named agents.

::

    config = agentkit.load_config()          # ./agentkit.toml, else $AGENTKIT_HOME/agentkit.toml
    agent = config.agent("helper")           # a ready agentkit.Agent
    agent = agentkit.load_agent(None, "helper")

Where the file comes from matters for one rule: a *project* config (found in the working
directory, or given explicitly) that points a provider at another ``base_url`` does not get
the API key from the user's environment unless it names the key itself (``api_key`` or
``api_key_env``) or the user trusts it (``AGENTKIT_TRUST_CONFIG_BASE_URL=1``, or
``trust_config=True`` / ``agentkit --trust-config``). A key is never sent to a host the user
did not choose. The user's own ``$AGENTKIT_HOME/agentkit.toml`` is trusted.

Everything is checked before it is used: the file against a JSON Schema (plugins add their
own sections), names against the plugin registries, ``${VAR}`` references against the
environment. Each problem is a :class:`~agentkit.errors.ConfigError` naming the file, the key
path and what was expected. Environment references are filled when the part that holds them
is used, so an unset key for a provider no agent uses is not an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _config_build as build
from ._config_schema import (
    PROVIDER_KEYS,
    SETTING_KEYS,
    config_schema,
    merge_layers,
    name_errors,
    raise_first,
    read_toml,
    unknown_name,
    validation_errors,
)
from ._interpolate import format_key_path, interpolate, key_in_name_message, looks_like_key
from .errors import ConfigError
from .stores import agentkit_home

if TYPE_CHECKING:
    from .agent import Agent
    from .plugins import PluginHost

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAME",
    "TRUST_ENV",
    "AgentConfig",
    "Config",
    "ProviderConfig",
    "agentkit_home",
    "find_config",
    "load_agent",
    "load_config",
    "read_toml",
]

#: The file name looked for in the working directory and in ``$AGENTKIT_HOME``.
CONFIG_NAME = "agentkit.toml"
#: Names the config file to use when none is given (before ``./agentkit.toml`` is looked for).
CONFIG_ENV = "AGENTKIT_CONFIG"
#: Set to 1 to let a project config's ``base_url`` receive keys from the environment.
TRUST_ENV = "AGENTKIT_TRUST_CONFIG_BASE_URL"

Source = Literal["project", "explicit", "user", "none"]
KeyPath = tuple[str | int, ...]

_TRUE = {"1", "true", "yes", "on"}


def find_config(
    path: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path | None, Source]:
    """Which file to read, and where it came from.

    ``path`` (explicit) wins; then the file ``$AGENTKIT_CONFIG`` names (explicit too); then
    ``agentkit.toml`` in ``cwd``; then the user's ``$AGENTKIT_HOME/agentkit.toml``. The first
    one found is used alone: files are not merged. An explicit path that is the user's own
    file counts as the user's.
    """
    env = os.environ if environ is None else environ
    user = agentkit_home(env) / CONFIG_NAME
    hint = "check the path given with -c/--config"
    if path is None and env.get(CONFIG_ENV, "").strip():
        path, hint = env[CONFIG_ENV].strip(), f"check ${CONFIG_ENV}, or unset it"
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise ConfigError(
                "no such config file" if not explicit.exists() else "not a file",
                file=str(explicit),
                hint=hint,
            )
        same = user.is_file() and explicit.resolve() == user.resolve()
        return explicit, "user" if same else "explicit"
    local = Path(cwd if cwd is not None else os.getcwd()) / CONFIG_NAME
    if local.is_file():
        return local, "project"
    if user.is_file():
        return user, "user"
    return None, "none"


# -- values --------------------------------------------------------------------------------


@attrs.frozen
class ProviderConfig:
    """``[providers.<name>]``: where a provider is and how to reach it.

    Values are kept as written; ``${VAR}`` references are filled when the provider is built
    (:meth:`factory_kwargs`), so a variable only matters for providers in use. ``api_key`` is
    never shown in a repr. ``withhold_env_key`` is set when a project config changed
    ``base_url`` without naming a key and the user did not trust it: the provider then gets an
    empty key, never one from the environment, and ``notice`` says so (when the provider
    has a key variable to withhold).
    """

    name: str
    base_url: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    api_key_env: str | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    withhold_env_key: bool = False
    file: str | None = None
    notice: str | None = None

    def _fill(self, value: Any, key: str, environ: Mapping[str, str]) -> Any:
        return interpolate(value, environ, file=self.file, path=("providers", self.name, key))

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key to give the provider: ``None`` lets it read its own variable; ``""`` is none."""
        env = os.environ if environ is None else environ
        if self.api_key is not None:
            return str(self._fill(self.api_key, "api_key", env))
        if self.api_key_env:
            value = env.get(self.api_key_env)
            if not value and looks_like_key(self.api_key_env):
                raise ConfigError(
                    key_in_name_message("api_key_env"),
                    file=self.file,
                    key_path=format_key_path(("providers", self.name, "api_key_env")),
                    hint="put the key in an environment variable and name that variable here, or use api_key",
                )
            if not value:
                raise ConfigError(
                    f"environment variable {self.api_key_env} is not set",
                    file=self.file,
                    key_path=format_key_path(("providers", self.name, "api_key_env")),
                    hint=f"export {self.api_key_env}=..., or change api_key_env",
                )
            return value
        if self.withhold_env_key:
            return ""
        return None

    def factory_kwargs(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Keyword arguments for the provider factory: ``base_url``, ``api_key`` and settings."""
        env = os.environ if environ is None else environ
        settings = {k: self._fill(v, k, env) for k, v in self.settings.items()}
        base_url = self._fill(self.base_url, "base_url", env)
        if base_url != self.base_url:  # filled in from the environment: check the value used
            raise_first(
                validation_errors(
                    base_url,
                    PROVIDER_KEYS["base_url"],
                    file=self.file,
                    prefix=("providers", self.name, "base_url"),
                )
            )
        return {
            "base_url": base_url,
            "api_key": self.resolve_api_key(env),
            **settings,
        }


@attrs.frozen
class AgentConfig:
    """``[agents.<name>]`` merged over its profile and ``[profiles.default]``, not yet built.

    ``options`` holds the merged keys as written (environment references not yet filled);
    ``origins`` maps each key to the table it came from, for error messages.
    """

    name: str
    options: Mapping[str, Any]
    profile: str | None = None
    origins: Mapping[str, KeyPath] = attrs.field(factory=dict, repr=False)

    @property
    def model(self) -> str | None:
        model = self.options.get("model")
        return model if isinstance(model, str) else None


@attrs.frozen(eq=False)
class Config:
    """A loaded ``agentkit.toml``: ``.agents``, ``.providers``, ``.profiles``, plugin ``.sections``.

    ``config.agent(name)`` builds a ready :class:`agentkit.Agent`. ``notices`` lists things the
    user should know (such as a key withheld from a project's ``base_url``).
    """

    path: Path | None
    source: Source
    data: Mapping[str, Any] = attrs.field(repr=False)
    profiles: Mapping[str, Mapping[str, Any]]
    providers: Mapping[str, ProviderConfig]
    agents: Mapping[str, AgentConfig]
    sections: Mapping[str, Any] = attrs.field(repr=False)
    default_agent: str | None = None
    notices: tuple[str, ...] = ()
    host: PluginHost | None = attrs.field(default=None, repr=False)
    environ: Mapping[str, str] | None = attrs.field(default=None, repr=False)

    @property
    def file(self) -> str | None:
        return str(self.path) if self.path is not None else None

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file (such as ``output_schema``) are relative to this folder."""
        return self.path.parent if self.path is not None else Path.cwd()

    def get_host(self) -> PluginHost:
        if self.host is not None:
            return self.host
        from .plugins import get_host

        return get_host()

    def default_agent_name(self) -> str | None:
        """``default_agent``, else an agent named ``default``, else ``None`` (profiles only)."""
        if self.default_agent is not None:
            return self.default_agent
        return "default" if "default" in self.agents else None

    def agent_config(self, name: str | None = None, *, profile: str | None = None) -> AgentConfig:
        """The merged settings of agent ``name`` (``None``: the default agent or profile).

        With ``profile``: ``[profiles.<profile>]`` over ``[profiles.default]`` when ``name`` is
        ``None``, else agent ``name`` with that profile in place of its own.
        """
        return _agent_config(self, name, profile)

    def agent(self, name: str | None = None, *, profile: str | None = None, **overrides: Any) -> Agent:
        """Build agent ``name`` (``None``: the default one), or a profile's agent (see
        :meth:`agent_config`); ``overrides`` are Agent keywords.

        ``tools`` in ``overrides`` are added to the configured ones; ``params`` and
        ``template_params`` are merged over them.
        """
        agent = build.build_agent(self, self.agent_config(name, profile=profile), overrides)
        assert agent is not None  # problems are raised, not collected
        return agent

    def provider(self, name: str) -> Any:
        """Build provider ``name`` with its ``[providers.<name>]`` settings."""
        return build.build_provider(self, name)

    def check(self) -> list[ConfigError]:
        """Build every agent and provider setting once; return every problem found."""
        return build.check(self)

    def with_section_settings(self, kind: str, spec: Any) -> Any:
        """``spec`` (a ``"store"`` or ``"memory"`` name, ``"name:path"`` or table) with the
        default settings its plugin reads from a section of this file: ``storage = "postgres"``
        with ``[postgres] dsn = "${DATABASE_URL}"`` is ``{"name": "postgres", "dsn": ...}``
        (see ``settings_section`` in :meth:`agentkit.registry.StoreRegistrar.add`). Settings
        given with the name win; other specs are returned as they are."""
        return build.with_section_settings(self, kind, spec)

    def resolved(self, *, mask: bool = True) -> dict[str, Any]:
        """The whole config as used: profiles merged into agents, ``${VAR}`` filled in.

        With ``mask`` (the default) secrets are replaced by ``"***"``: keys that look like
        secrets, and strings that took a value from a variable whose name does.
        """
        return build.resolved(self, mask=mask)


# -- loading -------------------------------------------------------------------------------


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    trust_config: bool | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Config:
    """Find, read and check ``agentkit.toml``; return a :class:`Config`.

    With no file anywhere, the config is empty: agents then come from arguments alone
    (``config.agent(model="openai/gpt-4o-mini")``). ``trust_config`` (default: the
    ``AGENTKIT_TRUST_CONFIG_BASE_URL`` variable) lets a project config's ``base_url`` receive
    keys from the environment. Plugins' ``configure`` hooks then see the loaded config.
    """
    env = os.environ if environ is None else environ
    found, source = find_config(path, cwd=cwd, environ=env)
    data: dict[str, Any] = read_toml(found) if found is not None else {}
    file = str(found) if found is not None else None
    if host is None:
        from .plugins import get_host

        host = get_host()
    sections = {e.name: e.value for e in host.registry("config_section")}
    errors = validation_errors(data, config_schema(sections), file=file)
    errors += name_errors(data, host, file)
    raise_first(errors)
    if trust_config is None:
        trust_config = env.get(TRUST_ENV, "").strip().lower() in _TRUE
    config = _build_config(data, found, source, host, env, trust_config)
    host.pm.hook.configure(config=config)  # plugins set themselves up from their sections
    return config


def _build_config(
    data: dict[str, Any],
    found: Path | None,
    source: Source,
    host: PluginHost,
    env: Mapping[str, str],
    trust: bool,
) -> Config:
    file = str(found) if found is not None else None
    provider_registry = host.registry("provider")
    providers: dict[str, ProviderConfig] = {}
    notices: list[str] = []
    for name, table in (data.get("providers") or {}).items():
        settings = {k: table[k] for k in SETTING_KEYS if k in table}
        settings.update(table.get("options") or {})
        base_url = interpolate(
            table.get("base_url"), env, file=file, path=("providers", name), on_missing=lambda v: f"${{{v}}}"
        )
        api_key = table.get("api_key")
        default_url = provider_registry.get(name).extra.get("base_url")
        changed = base_url is not None and _norm_url(base_url) != _norm_url(default_url)
        withhold = (
            source in ("project", "explicit")
            and changed
            and api_key is None
            and table.get("api_key_env") is None
            and not trust
        )
        notice = None
        env_var = provider_registry.get(name).extra.get("env_var")
        if withhold and env_var:  # (a provider without a key variable has nothing to withhold)
            notice = (
                f"{file} points provider {name!r} at {base_url}; your {env_var} is not sent there "
                f"(name a key with api_key_env, or trust this file with --trust-config or {TRUST_ENV}=1)"
            )
            notices.append(notice)
        providers[name] = ProviderConfig(
            name=name,
            base_url=table.get("base_url"),
            api_key=api_key,
            api_key_env=table.get("api_key_env"),
            settings=settings,
            withhold_env_key=withhold,
            file=file,
            notice=notice,
        )
    profiles = {name: dict(table) for name, table in (data.get("profiles") or {}).items()}
    agents = {name: _merge_agent(name, table, profiles) for name, table in (data.get("agents") or {}).items()}
    default_agent = data.get("default_agent")
    builtin = {"default_agent", "profiles", "providers", "agents"}
    sections = {
        name: interpolate(value, env, file=file, path=(name,))
        for name, value in data.items()
        if name not in builtin
    }
    plugin_schemas = {e.name: e.value for e in host.registry("config_section")}
    for name, value in sections.items():
        if value != data[name]:  # filled in from the environment: check the values used
            raise_first(validation_errors(value, plugin_schemas[name], file=file, prefix=(name,)))
    return Config(
        path=found,
        source=source,
        data=data,
        profiles=profiles,
        providers=providers,
        agents=agents,
        sections=sections,
        default_agent=default_agent,
        notices=tuple(notices),
        host=host,
        environ=env,
    )


def _norm_url(url: Any) -> str | None:
    return url.rstrip("/") if isinstance(url, str) else None


def load_agent(
    path: str | os.PathLike[str] | None = None,
    name: str | None = None,
    *,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    trust_config: bool | None = None,
    **overrides: Any,
) -> Agent:
    """Load the config (see :func:`load_config`) and build agent ``name`` from it."""
    config = load_config(path, host=host, environ=environ, trust_config=trust_config)
    return config.agent(name, **overrides)


# -- merging profiles into agents ---------------------------------------------------------

def _merge_agent(name: str, table: Mapping[str, Any], profiles: Mapping[str, Any]) -> AgentConfig:
    profile = table.get("profile")
    layers: list[tuple[KeyPath, Mapping[str, Any]]] = []
    if "default" in profiles:
        layers.append((("profiles", "default"), profiles["default"]))
    if profile is not None and profile != "default" and profile in profiles:  # (unknown ones: name_errors)
        layers.append((("profiles", profile), profiles[profile]))
    layers.append((("agents", name), {k: v for k, v in table.items() if k != "profile"}))
    options, origins = merge_layers(layers)
    return AgentConfig(name=name, options=options, profile=profile, origins=origins)


def _agent_config(config: Config, name: str | None, profile: str | None = None) -> AgentConfig:
    if profile is not None:
        return _profile_config(config, name, profile)
    if name is None:
        name = config.default_agent_name()
        if name is None:  # no agents table: the default profile alone
            layers = (
                [(("profiles", "default"), config.profiles["default"])]
                if "default" in config.profiles
                else []
            )
            options, origins = merge_layers(layers)
            return AgentConfig(name="default", options=options, origins=origins)
    if name not in config.agents:
        if config.path is None:
            raise ConfigError(
                f"no agent named {name!r}: no config file was found",
                hint=f"create ./{CONFIG_NAME} or {agentkit_home(config.environ) / CONFIG_NAME}, or pass -c FILE",
            )
        raise ConfigError(unknown_name("agent", name, config.agents), file=config.file, key_path="agents")
    return config.agents[name]


def _profile_config(config: Config, name: str | None, profile: str) -> AgentConfig:
    """Agent ``name`` with ``profile`` in place of its own, or (``name`` ``None``) the profile
    alone over ``[profiles.default]``; the agent is named after the profile then."""
    if profile not in config.profiles:
        agents = f"; agents: {', '.join(sorted(config.agents))}" if config.agents else ""
        if config.path is None:
            raise ConfigError(
                f"no profile named {profile!r}: no config file was found",
                hint=f"create ./{CONFIG_NAME} or {agentkit_home(config.environ) / CONFIG_NAME}, "
                f"or set ${CONFIG_ENV} to a file's path",
            )
        raise ConfigError(
            unknown_name("profile", profile, config.profiles) + agents, file=config.file, key_path="profiles"
        )
    if name is not None:
        _agent_config(config, name)  # an unknown agent: the usual error
        table = (config.data.get("agents") or {})[name]
        return _merge_agent(name, {**table, "profile": profile}, config.profiles)
    layers: list[tuple[KeyPath, Mapping[str, Any]]] = []
    if profile != "default" and "default" in config.profiles:
        layers.append((("profiles", "default"), config.profiles["default"]))
    layers.append((("profiles", profile), config.profiles[profile]))
    options, origins = merge_layers(layers)
    return AgentConfig(name=profile, options=options, profile=profile, origins=origins)
