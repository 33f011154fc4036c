"""The shape of ``agentkit.toml``: reading it, its JSON Schema, and readable errors.

The schema is data (built by :func:`config_schema`), extended with the top-level sections
plugins add through ``register_config_sections``. :func:`validation_errors` turns
jsonschema's errors into :class:`~agentkit.errors.ConfigError` values that name the file,
the key path and what was expected, with a "did you mean" for unknown keys. Nodes carry an
``x-expected`` phrase used when a value matches none of a node's alternatives.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._interpolate import format_key_path, key_in_name_message, looks_like_key, looks_secret
from ._options import describe
from .errors import AgentkitError, ConfigError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = [
    "AGENT_KEYS",
    "BUILTIN_SECTIONS",
    "PROVIDER_KEYS",
    "SETTING_KEYS",
    "MERGED_TABLES",
    "check_json_schema",
    "config_schema",
    "load_json_schema",
    "merge_layers",
    "name_errors",
    "raise_first",
    "read_toml",
    "reraise_at",
    "tool_settings_problem",
    "unknown_name",
    "validation_errors",
]


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; syntax errors name the file, line and column."""
    import tomllib

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", text)
        line = column = None
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            text = text[: match.start()]
            where = f"line {line}, column {column}"
        else:
            text = re.sub(r"\s*\(at end of document\)\s*$", "", text)
            where = "end of file"
        error = ConfigError(
            f"{where}: invalid TOML: {text}",
            file=str(path),
            hint="see https://toml.io for the syntax",
        )
        error.line, error.column = line, column  # type: ignore[attr-defined]
        raise error from None


_STRING = {"type": "string"}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
_TABLE = {"type": "object"}

def _agent_keys() -> dict[str, dict[str, Any]]:
    """Keys of ``[agents.<name>]``: every option declared in ``RunSettings`` that a config
    file can set, with the schema its declaration gives (see :mod:`agentkit._options`)."""
    from ._run import OPTIONS

    keys: dict[str, dict[str, Any]] = {}
    for declared in OPTIONS.values():
        schema = declared.schema()
        if declared.config_key is not None and schema is not None:
            keys[declared.config_key] = schema
    return keys


#: Keys of ``[agents.<name>]`` (and of profiles, except ``profile``), with their schemas.
AGENT_KEYS: dict[str, dict[str, Any]] = _agent_keys()

#: Keys of ``[providers.<name>]``.
PROVIDER_KEYS: dict[str, dict[str, Any]] = {
    "base_url": {"type": "string", "pattern": "^https?://", "x-expected": "an http:// or https:// URL"},
    "api_key": {"type": "string"},
    "api_key_env": {
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "x-expected": "the name of an environment variable",
    },
    "connect_timeout": _POSITIVE,
    "read_timeout": _POSITIVE,
    "first_byte_timeout": _POSITIVE,
    "total_timeout": _POSITIVE,
    "max_retries": _COUNT,
    "options": _TABLE,
}

#: Provider keys passed to the provider factory as settings.
SETTING_KEYS = ("connect_timeout", "read_timeout", "first_byte_timeout", "total_timeout", "max_retries")

#: The sections agentkit itself defines; plugins add more.
BUILTIN_SECTIONS = ("default_agent", "profiles", "providers", "agents")


def config_schema(plugin_sections: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The whole file's schema, with plugin sections ``{name: schema}`` added."""
    agent = {
        "type": "object",
        "properties": {**AGENT_KEYS, "profile": _STRING},
        "additionalProperties": False,
    }
    profile = {"type": "object", "properties": dict(AGENT_KEYS), "additionalProperties": False}
    provider = {
        "type": "object",
        "properties": PROVIDER_KEYS,
        "additionalProperties": False,
        "not": {"required": ["api_key", "api_key_env"]},
        "x-not": "give either api_key or api_key_env, not both",
    }
    properties: dict[str, Any] = {
        "default_agent": {"type": "string", "minLength": 1},
        "profiles": {"type": "object", "additionalProperties": profile},
        "providers": {"type": "object", "additionalProperties": provider},
        "agents": {"type": "object", "additionalProperties": agent},
    }
    for name, schema in (plugin_sections or {}).items():
        if name not in properties:
            properties[name] = dict(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


# -- errors --------------------------------------------------------------------------------

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a table",
    "array": "an array",
    "null": "nothing",
}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _shown(value: Any, path: tuple[str | int, ...]) -> str:
    """``a string ('x')``: the value's kind, and the value itself unless it may be a secret."""
    if any(isinstance(p, str) and looks_secret(p) for p in path):
        return _kind(value)
    return describe(value)


def _expected_type(t: str | list[str]) -> str:
    types = [t] if isinstance(t, str) else list(t)
    return " or ".join(_TYPE_WORDS.get(x, x) for x in types)


def _one_error(
    error: ValidationError, file: str | None, prefix: tuple[str | int, ...] = ()
) -> list[ConfigError]:
    path = (*prefix, *error.absolute_path)
    key_path = format_key_path(path) or None
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    validator = error.validator
    value = error.instance

    if validator == "additionalProperties":
        known = sorted((schema.get("properties") or {}).keys())
        extra = [k for k in value if k not in known] if isinstance(value, Mapping) else []
        out = []
        for key in extra:
            kind = "section" if not path else "key"
            message = f"unknown {kind} {key!r}"
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            elif known:
                message += f"; expected one of: {', '.join(known)}"
            out.append(
                ConfigError(
                    message,
                    file=file,
                    key_path=format_key_path((*path, key)),
                    hint=_unknown_hint(path, known),
                )
            )
        return out
    if path and path[-1] == "api_key_env" and isinstance(value, str):
        # a key pasted where a variable's name belongs: say so, never show it
        return [ConfigError(key_in_name_message("api_key_env"), file=file, key_path=key_path, hint=_KEY_HINT)]
    if "x-expected" in schema and validator not in ("oneOf", "anyOf", "additionalProperties", "required", "not"):
        # the phrase of the option's declaration: the same words as the Python error
        message = f"expected {schema['x-expected']}, got {_shown(value, path)}"
    elif validator == "type":
        message = f"expected {_expected_type(error.validator_value)}, got {_shown(value, path)}"
    elif validator == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        message = f"expected one of {choices}, got {_shown(value, path)}"
    elif validator == "required":
        missing = [k for k in error.validator_value if not isinstance(value, Mapping) or k not in value]
        message = f"missing required key {missing[0]!r}" if missing else error.message
    elif validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[validator]
        message = f"expected a number {op} {error.validator_value}, got {_shown(value, path)}"
    elif validator == "minLength":
        message = "expected a non-empty string"
    elif validator == "not" and "x-not" in schema:
        message = str(schema["x-not"])
    elif validator in ("oneOf", "anyOf") and "x-expected" in schema:
        nested = _nested_error(error, file, prefix)
        if nested is not None:
            return [nested]
        message = f"expected {schema['x-expected']}, got {_shown(value, path)}"
    elif "x-expected" in schema:
        message = f"expected {schema['x-expected']}, got {_shown(value, path)}"
    else:
        message = (
            error.message
            if not any(isinstance(p, str) and looks_secret(p) for p in path)
            else (f"invalid value ({validator})")
        )
    return [ConfigError(message, file=file, key_path=key_path)]


def _nested_error(
    error: ValidationError, file: str | None, prefix: tuple[str | int, ...]
) -> ConfigError | None:
    """For "a name or a table": a table that fails inside gets the table's own error."""
    if not isinstance(error.instance, Mapping):
        return None
    for sub in error.context or ():
        if sub.validator != "type":
            found = _one_error(sub, file, prefix)
            if found:
                return found[0]
    return None


def _unknown_hint(path: tuple[str | int, ...], known: list[str]) -> str | None:
    if not path:
        return "sections come from agentkit and from plugins; `agentkit plugins` lists what is installed"
    if path[0] == "agents" and len(path) == 2:
        return "see docs/config.md for every agent key"
    if path[0] == "providers" and len(path) == 2:
        return "provider-specific settings go in the [providers.<name>.options] table"
    return None


def validation_errors(
    data: Any,
    schema: Mapping[str, Any],
    *,
    file: str | None,
    prefix: tuple[str | int, ...] = (),
    defer_references: bool = True,
) -> list[ConfigError]:
    """Every problem jsonschema finds in ``data``, as ConfigErrors ordered by key path.

    ``prefix`` is the key path of ``data`` in the file. With ``defer_references``, a string
    holding a ``${VAR}`` reference is only checked for being a string: its value is checked
    once filled in, where it is used.
    """
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    found: list[ConfigError] = []
    for error in validator.iter_errors(data):
        if (
            defer_references
            and isinstance(error.instance, str)
            and "${" in error.instance
            and error.validator != "type"
        ):
            continue
        found.extend(_one_error(error, file, prefix))
    found.sort(key=lambda e: _sort_key(e.key_path or ""))
    unique: list[ConfigError] = []
    seen: set[str] = set()
    for problem in found:
        if str(problem) not in seen:
            seen.add(str(problem))
            unique.append(problem)
    return unique


def raise_first(errors: list[ConfigError]) -> None:
    """Raise the first error, carrying the others in ``.more``."""
    if not errors:
        return
    first = errors[0]
    if len(errors) > 1:
        first.more = errors[1:]  # type: ignore[attr-defined]
        first.hint = first.hint or f"{len(errors) - 1} more problem(s): run `agentkit config check`"
    raise first


def _sort_key(key_path: str) -> tuple[str, ...]:
    """``agents.a.tools[10]`` after ``agents.a.tools[9]``."""
    return tuple(re.sub(r"\[(\d+)\]", lambda m: f".[{int(m.group(1)):08d}]", key_path).split("."))


def check_json_schema(schema: Any, *, file: str | None, key_path: str) -> None:
    """Raise a ConfigError when ``schema`` is not a valid JSON Schema itself."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, Mapping):
        raise ConfigError(f"expected a JSON Schema object, got {_kind(schema)}", file=file, key_path=key_path)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = format_key_path(tuple(exc.absolute_path))
        raise ConfigError(
            f"not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""),
            file=file,
            key_path=key_path,
        ) from None


# -- profiles ------------------------------------------------------------------------------

#: Agent keys whose tables are merged key by key over a profile's (others replace it).
MERGED_TABLES = frozenset({"params", "template_params", "tool_settings", "memory_settings", "prices"})


def merge_layers(
    layers: Iterable[tuple[tuple[str | int, ...], Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[str, tuple[str | int, ...]]]:
    """Merge agent tables, later layers winning: ``[(key_path, table), ...]``.

    Tables under :data:`MERGED_TABLES` merge key by key (``tool_settings`` one level deeper,
    per settings table); every other value replaces the earlier one. Returns the merged keys
    and, for each key (``"params"``, ``"tool_settings.files"``), the path of the table it came
    from, so errors can point at the line that set it.
    """
    merged: dict[str, Any] = {}
    origins: dict[str, tuple[str | int, ...]] = {}
    for prefix, table in layers:
        for key, value in table.items():
            origins[key] = prefix
            if key in MERGED_TABLES and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                combined = dict(merged[key])
                for sub, sub_value in value.items():
                    origins[f"{key}.{sub}"] = prefix
                    old = combined.get(sub)
                    if key == "tool_settings" and isinstance(old, Mapping) and isinstance(sub_value, Mapping):
                        combined[sub] = {**old, **sub_value}
                    else:
                        combined[sub] = sub_value
                merged[key] = combined
            else:
                if isinstance(value, Mapping):
                    for sub in value:
                        origins[f"{key}.{sub}"] = prefix
                merged[key] = dict(value) if isinstance(value, Mapping) else value
    return merged, origins


# -- names the schema cannot check ----------------------------------------------------------


def name_errors(data: Mapping[str, Any], host: Any, file: str | None) -> list[ConfigError]:
    """Names the schema cannot check: providers, profiles and the default agent."""
    errors = []
    registry = host.registry("provider")

    def tables(key: str) -> dict[str, Any]:
        value = data.get(key)
        return (
            {k: v for k, v in value.items() if isinstance(v, Mapping)} if isinstance(value, Mapping) else {}
        )

    for name, table in tables("providers").items():
        env_name = table.get("api_key_env")
        if isinstance(env_name, str) and "${" not in env_name and looks_like_key(env_name):
            errors.append(
                ConfigError(
                    key_in_name_message("api_key_env"),
                    file=file,
                    key_path=format_key_path(("providers", name, "api_key_env")),
                    hint=_KEY_HINT,
                )
            )
        if name not in registry:
            errors.append(
                ConfigError(
                    registry.unknown_message(name),
                    file=file,
                    key_path=format_key_path(("providers", name)),
                    hint="install the plugin that provides it (`agentkit install ...`), or fix the name",
                )
            )
        options = table.get("options")
        clash = sorted(
            set(options if isinstance(options, Mapping) else ())
            & {"base_url", "api_key", "api_key_env", *SETTING_KEYS}
        )
        if clash:
            errors.append(
                ConfigError(
                    f"{clash[0]!r} belongs in [providers.{name}] itself, not in its options",
                    file=file,
                    key_path=format_key_path(("providers", name, "options", clash[0])),
                )
            )
    profiles = tables("profiles")
    agents = tables("agents")
    for name, table in agents.items():
        profile = table.get("profile")
        if isinstance(profile, str) and profile not in profiles:
            errors.append(
                ConfigError(
                    unknown_name("profile", profile, profiles),
                    file=file,
                    key_path=format_key_path(("agents", name, "profile")),
                )
            )
    default_agent = data.get("default_agent")
    if isinstance(default_agent, str) and default_agent not in agents:
        errors.append(
            ConfigError(unknown_name("agent", default_agent, agents), file=file, key_path="default_agent")
        )
    return errors


_KEY_HINT = (
    "put the key in an environment variable and name that variable (api_key_env = \"MY_KEY\"); "
    "and since the key was in a file, consider it leaked and replace it"
)


def unknown_name(kind: str, name: str, known: Mapping[str, Any] | list[str]) -> str:
    """``no agent named 'x' (did you mean 'y'?); defined: ...``"""
    names = sorted(known)
    text = f"no {kind} named {name!r}"
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    text += f"; defined: {', '.join(names)}" if names else f"; no {kind}s are defined"
    return text


def tool_settings_problem(tool_settings: Mapping[str, Any], host: Any) -> tuple[str, str] | None:
    """The first ``tool_settings`` table no installed tool reads, and what to say about it."""
    keys: dict[str, list[str]] = {}
    for entry in host.registry("tool"):
        key = entry.extra.get("settings_key")
        if key:
            keys.setdefault(key, []).append(f"{entry.name} ({entry.plugin})")
    for entry in host.registry("tool_source"):  # "mcp:x" tools may read tool_settings.mcp
        keys.setdefault(entry.name, []).append(f"{entry.name}:... ({entry.plugin})")
    for key in tool_settings:
        if key in keys:
            continue
        message = f"no installed tool reads settings {key!r}"
        close = difflib.get_close_matches(key, sorted(keys), n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(keys.items()))
        message += (
            f"; settings tables of installed tools: {listing}"
            if listing
            else "; no installed tool takes settings"
        )
        return key, message
    return None


# -- values that need more than the schema ---------------------------------------------------


def load_json_schema(
    value: Any, *, base_dir: Path, file: str | None, key_path: tuple[str | int, ...]
) -> dict[str, Any]:
    """An ``output_schema`` value: an inline table, or a .json file relative to the config."""
    where = format_key_path(key_path)
    if isinstance(value, str):
        schema_path = Path(value).expanduser()
        if not schema_path.is_absolute():
            schema_path = base_dir / schema_path
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no such JSON Schema file: {schema_path}",
                file=file,
                key_path=where,
                hint="paths are relative to the config file's folder",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {schema_path}: {exc}", file=file, key_path=where) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{schema_path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                file=file,
                key_path=where,
            ) from None
    else:
        schema = value
    check_json_schema(schema, file=file, key_path=where)
    return dict(schema)


def reraise_at(exc: BaseException, *, file: str | None, key_path: tuple[str | int, ...]) -> ConfigError:
    """Any error met while resolving a config value, as a ConfigError at ``key_path``."""
    where = format_key_path(key_path)
    if isinstance(exc, ConfigError):
        message = str(exc)
        inner = exc.key_path
        if exc.file and message.startswith(f"{exc.file}: "):
            message = message[len(exc.file) + 2 :]
        if inner and message.startswith(f"{inner}: "):
            message = message[len(inner) + 2 :]
        if inner and inner.startswith(("guardrails[", "[")) and key_path and key_path[-1] == "guardrails":
            where = format_key_path(key_path[:-1]) + "." + inner
        return ConfigError(message, file=file, key_path=where, hint=exc.hint)
    hint = exc.hint if isinstance(exc, AgentkitError) else None
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, AgentkitError):
        text = f"{type(exc).__name__}: {text}"
    if key_path and isinstance(key_path[-1], str) and looks_secret(key_path[-1]):
        text = f"invalid value ({type(exc).__name__})"
    return ConfigError(text, file=file, key_path=where, hint=hint)
