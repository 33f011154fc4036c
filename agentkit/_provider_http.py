"""What keyed HTTP provider plugins share: the key, where it came from, and their settings.

The first-party providers that send an API key (agentkit-openai, agentkit-anthropic) take it
the same way: ``api_key=`` (``""``: send none, and read no variable), else the variable named
by ``api_key_env``, else the provider's own variable. The key is held by :class:`ApiKey`, which
never shows itself in a repr, a log line or a traceback's locals; a refused key is reported
by :class:`KeyedHttpClient` with where it came from, never what it is (the key itself is
redacted by :class:`~agentkit.http.HttpClient`). Their settings are checked the same way too:
unknown names rejected with the known ones listed, ``headers`` a table, and each setting of
:class:`~agentkit.http.HttpSettings` checked by :func:`http_settings` against its rule in
:data:`HTTP_SETTING_RULES` (agentkit-ollama uses that check too).

Private, for first-party plugins: third-party plugins build on :mod:`agentkit.http`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import attrs

from .errors import AuthenticationError, ConfigError, ProviderError
from .http import HttpClient, HttpSettings

__all__ = [
    "HTTP_SETTINGS",
    "HTTP_SETTING_RULES",
    "ApiKey",
    "KeyedHttpClient",
    "check_setting_names",
    "http_settings",
    "missing_key_error",
    "pop_headers",
    "resolve_api_key",
]

#: The settings every HTTP provider takes: the fields of :class:`~agentkit.http.HttpSettings`.
HTTP_SETTINGS: tuple[str, ...] = tuple(f.name for f in attrs.fields(HttpSettings))


class ApiKey:
    """An API key that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<api key hidden>"

    __str__ = __repr__


def resolve_api_key(
    api_key: str | None, env_var: str | None, environ: Mapping[str, str] | None = None
) -> tuple[ApiKey | None, str]:
    """The key to send (``None``: none) and where it came from, for error messages.

    ``api_key`` wins when given; ``""`` means "no key" on purpose (a config that moved
    ``base_url`` withholds the user's environment key from a host they did not choose), so the
    variable is never read then. Otherwise the variable ``env_var`` is read.
    """
    if api_key is not None:
        return (ApiKey(api_key) if api_key else None), "the key given as api_key"
    env = os.environ if environ is None else environ
    key = (env.get(env_var) if env_var else None) or None
    return (ApiKey(key) if key else None), f"the key in {env_var}"


def missing_key_error(env_var: str | None, *, provider: str, model: str | None) -> AuthenticationError:
    """The error for a call that needs a key when none was found."""
    return AuthenticationError(
        f"no API key: set the environment variable {env_var}",
        env_var=env_var,
        provider=provider,
        model=model,
        hint=f"export {env_var}=..., or pass api_key= / api_key_env= in the provider settings",
    )


class KeyedHttpClient(HttpClient):
    """HttpClient whose 401 and 403 errors say which key was refused (``auth_hint``).

    A subclass that reads its API's own error bodies overrides :meth:`status_error`.
    """

    def __init__(self, *, auth_hint: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._auth_hint = auth_hint

    def status_error(self, status: int, body: str, model: str | None, retry_after: float | None) -> ProviderError:
        """The error for an error response, before the key's hint is added: the base's mapping."""
        return super().error(status, body, model, retry_after)

    def error(self, status: int, body: str, model: str | None, retry_after: float | None = None) -> ProviderError:
        error = self.status_error(status, body, model, retry_after)
        if isinstance(error, AuthenticationError):
            return AuthenticationError(
                f"{'permission denied' if status == 403 else 'authentication failed'}: {self._auth_hint}",
                env_var=self.env_var,
                provider=self.provider,
                model=model,
                status_code=status,
                body=error.body,
            )
        return error


def check_setting_names(settings: Mapping[str, Any], own: Iterable[str], *, provider: str) -> None:
    """Reject settings that are neither ``own`` nor :data:`HTTP_SETTINGS`, listing the known ones."""
    own = tuple(own)
    unknown = sorted(set(settings) - set(HTTP_SETTINGS) - set(own))
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for provider {provider!r}",
            key_path="provider_settings",
            hint="known settings: " + ", ".join(sorted((*own, *HTTP_SETTINGS))),
        )


def pop_headers(settings: MutableMapping[str, Any]) -> dict[str, str]:
    """The ``headers`` setting (extra HTTP headers), taken out of ``settings``, as strings."""
    return {str(k): str(v) for k, v in (settings.pop("headers", None) or {}).items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_ABOVE_ZERO = (lambda v: _number(v) and v > 0, "a number of seconds > 0")
_ZERO_OR_MORE = (lambda v: _number(v) and v >= 0, "a number of seconds >= 0")
_COUNT = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0")

#: What each of :data:`HTTP_SETTINGS` accepts, and how an error says it. A timeout of 0 would
#: fail every call, so timeouts are above 0; waits may be 0 (retry at once, end at once) and
#: ``max_retries`` 0 (never retry).
HTTP_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "connect_timeout": _ABOVE_ZERO,
    "read_timeout": _ABOVE_ZERO,
    "first_byte_timeout": _ABOVE_ZERO,
    "total_timeout": _ABOVE_ZERO,
    "max_retries": _COUNT,
    "backoff_base": _ZERO_OR_MORE,
    "backoff_max": _ZERO_OR_MORE,
    "max_retry_wait": _ZERO_OR_MORE,
    "end_grace": _ZERO_OR_MORE,
}


def http_settings(settings: Mapping[str, Any], defaults: HttpSettings | None = None) -> HttpSettings:
    """``defaults`` (:class:`~agentkit.http.HttpSettings`' own by default) with ``settings``, the
    HTTP settings a provider was given, each checked against its rule in :data:`HTTP_SETTING_RULES`."""
    for name, value in settings.items():
        accepts, said = HTTP_SETTING_RULES[name]
        if not accepts(value):
            raise ConfigError(
                f"{name} must be {said}, not {value!r}", key_path=f"provider_settings.{name}"
            )
    return attrs.evolve(defaults, **settings) if defaults is not None else HttpSettings(**settings)
