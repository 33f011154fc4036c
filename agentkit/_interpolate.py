"""Environment interpolation for configuration values: ``${VAR}`` and ``${VAR:-default}``.

Only the dollar-brace form is interpolated, so ``{{name}}`` stays a template placeholder that
is filled at run time, and a literal ``${`` is written ``$${``. Interpolation happens in
string values only (never in keys), after the file's structure has been validated, so a
missing variable is reported with the key path of the value that needs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError

__all__ = [
    "MASK",
    "SECRET_NAME",
    "format_key_path",
    "interpolate",
    "key_in_name_message",
    "looks_like_key",
    "mask_credentials",
    "looks_secret",
    "mask_secrets",
    "resolved_view",
]

#: What a secret is shown as.
MASK = "***"

# `$${` is an escaped dollar; `${NAME}` or `${NAME:-default}` (default: anything but `}`).
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: Key or variable names whose values are secrets: masked when shown, never quoted in errors.
SECRET_NAME = re.compile(r"(?i)(?:^|[_-])(?:api_?key|key|token|secret|password|passwd|credentials?)\Z")


def looks_secret(name: str) -> bool:
    """Whether a key or environment variable name looks like it holds a secret."""
    return bool(SECRET_NAME.search(name))


#: How API keys and tokens commonly start (OpenAI, Anthropic, GitHub, Hugging Face, Slack, AWS, Google).
_KEY_PREFIX = re.compile(r"(?:sk|pk|rk)[-_]|gh[pousr]_|github_pat_|hf_|xox[abpr]-|AKIA|AIza|glpat-")


def looks_like_key(value: str) -> bool:
    """Whether ``value``, found where a variable's *name* belongs, looks like a key itself.

    Variable names are letters, digits and ``_``, by convention upper case; a key is long,
    mixes cases and digits, or starts like the keys of well-known services.
    """
    if not _NAME.match(value):
        return True
    if _KEY_PREFIX.match(value):
        return True
    return len(value) >= 20 and any(c.islower() for c in value) and any(c.isdigit() for c in value)


def key_in_name_message(key: str) -> str:
    """The error for a key given where a variable's name belongs; the value is never shown."""
    return (
        f"{key} holds what looks like a key itself, not the name of an environment variable "
        "(the value is not shown)"
    )


def format_key_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """``("agents", "x", "tools", 2)`` as ``agents.x.tools[2]``; odd keys are quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            quoted = '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
            out += f".{quoted}" if out else quoted
    return out


def _interpolate_string(
    text: str,
    environ: Mapping[str, str],
    *,
    file: str | None,
    path: tuple[str | int, ...],
    used: Callable[[str], None],
    on_missing: Callable[[str], str] | None,
) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if not token.endswith("}"):
            raise ConfigError(
                f"unterminated ${{...}} in {text!r}" if not _secret_path(path) else "unterminated ${...}",
                file=file,
                key_path=format_key_path(path),
                hint="write ${NAME} or ${NAME:-default}; a literal '${' is written '$${'",
            )
        body = match.group(1)
        name, sep, default = body.partition(":-")
        if not _NAME.match(name):
            raise ConfigError(
                f"invalid environment variable reference ${{{body}}}",
                file=file,
                key_path=format_key_path(path),
                hint="write ${NAME} or ${NAME:-default} with NAME made of letters, digits and '_'; "
                "a literal '${' is written '$${'",
            )
        used(name)
        value = environ.get(name)
        if value is None or (sep and value == ""):
            if sep:
                return default
            if on_missing is not None:
                return on_missing(name)
            raise ConfigError(
                f"environment variable {name} is not set",
                file=file,
                key_path=format_key_path(path),
                hint=f"set {name}, or give a default with ${{{name}:-value}}",
            )
        return value

    return _TOKEN.sub(replace, text)


def _secret_path(path: tuple[str | int, ...]) -> bool:
    return any(isinstance(p, str) and looks_secret(p) for p in path)


def interpolate(
    value: Any,
    environ: Mapping[str, str],
    *,
    file: str | None = None,
    path: tuple[str | int, ...] = (),
    secret_paths: set[tuple[str | int, ...]] | None = None,
    on_missing: Callable[[str], str] | None = None,
) -> Any:
    """Return ``value`` with ``${VAR}`` references in every string replaced from ``environ``.

    ``secret_paths``, when given, collects the key paths of strings that took a value from a
    variable whose name looks secret, so that ``agentkit config show`` can mask them.
    ``on_missing(name)``, when given, supplies the text for an unset variable instead of
    raising a :class:`~agentkit.errors.ConfigError` naming it.
    """
    if isinstance(value, str):
        if "$" not in value:
            return value
        secret_vars: list[str] = []

        def used(name: str) -> None:
            if looks_secret(name):
                secret_vars.append(name)

        result = _interpolate_string(value, environ, file=file, path=path, used=used, on_missing=on_missing)
        if secret_vars and secret_paths is not None:
            secret_paths.add(path)
        return result
    if isinstance(value, Mapping):
        return {
            k: interpolate(
                v, environ, file=file, path=(*path, k), secret_paths=secret_paths, on_missing=on_missing
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(
                v, environ, file=file, path=(*path, i), secret_paths=secret_paths, on_missing=on_missing
            )
            for i, v in enumerate(value)
        ]
    return value


# scheme://user:PASSWORD@host (up to the last '@' before the host), and password=VALUE
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<secret>\S*?)(?=@[^@\s/?#\"']*(?:[/?#\s\"']|$))", re.I
)
_PASSWORD_PAIR = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|[^\s'&]+)", re.I)


def mask_credentials(text: str) -> str:
    """``text`` with the passwords of URLs (``postgresql://user:PASSWORD@host/db``) and of
    ``password=...`` pairs (a libpq connection string, a URL query) replaced by :data:`MASK`."""
    if "://" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _PASSWORD_PAIR.sub(lambda m: m.group("head") + MASK, text)


def mask_secrets(
    value: Any,
    *,
    path: tuple[str | int, ...] = (),
    secret_paths: set[tuple[str | int, ...]] | frozenset[tuple[str | int, ...]] = frozenset(),
) -> Any:
    """``value`` with secrets replaced by :data:`MASK`: values under keys that look secret,
    and the strings at ``secret_paths`` (those filled from a secret-looking variable); the
    password in a string holding credentials (a database URL) is masked wherever it is."""
    if path in secret_paths and isinstance(value, str):
        return MASK
    if path and isinstance(path[-1], str) and looks_secret(path[-1]) and isinstance(value, str | int | float):
        return MASK if value != "" else value
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, Mapping):
        return {k: mask_secrets(v, path=(*path, k), secret_paths=secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, path=(*path, i), secret_paths=secret_paths) for i, v in enumerate(value)]
    return value


def resolved_view(
    data: Mapping[str, Any], environ: Mapping[str, str], *, file: str | None, mask: bool = True
) -> dict[str, Any]:
    """``data`` with every ``${VAR}`` filled (an unset one shown as ``<unset: VAR>``), for
    showing a config as used; with ``mask``, secrets replaced by :data:`MASK`."""
    secret_paths: set[tuple[str | int, ...]] = set()
    out = interpolate(
        dict(data), environ, file=file, secret_paths=secret_paths, on_missing=lambda var: f"<unset: {var}>"
    )
    return mask_secrets(out, secret_paths=frozenset(secret_paths)) if mask else out  # type: ignore[no-any-return]
