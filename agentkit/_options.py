"""The agent's options, declared once: what each accepts, its default, its doc.

Every option of :class:`agentkit.Agent` is one field of :class:`agentkit._run.RunSettings`,
declared with :func:`option`. The declaration is the single source the rest derives from:

- ``Agent(...)`` and ``agent.run(..., **overrides)`` check values with :func:`settings_from`
  and :func:`option_problems`: a :class:`~agentkit.errors.ConfigError` naming the option and
  what it accepts (attrs validators on the fields hold the same rule for ``attrs.evolve``);
- ``[agents.<name>]`` in ``agentkit.toml`` gets its JSON Schema from :func:`config_keys`, with
  the same "expected ..." phrases, so a value is refused in the same words from Python and
  from TOML;
- the option tables in ``docs/agents.md`` and ``docs/config.md`` are checked against it.

A :class:`Kind` says what an option accepts: a test for Python values, the JSON Schema of the
same thing written in TOML (``None``: not writable there), and the phrase errors use. Python
may accept more than TOML (tools as functions, memory as an object), so a kind can phrase
both. Adding an option is one :func:`option` field plus the code that uses it.
"""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .errors import ConfigError

__all__ = [
    "NAMED_SCHEMA",
    "OPTION",
    "Kind",
    "Option",
    "Problem",
    "boolean",
    "choice",
    "describe",
    "integer",
    "named",
    "unknown_key",
    "number",
    "declared",
    "defaults",
    "option",
    "optional",
    "problem_error",
    "signature",
    "table",
    "text",
]

#: The attrs metadata key holding an option's :class:`Option`.
OPTION = "agentkit_option"

Problem = tuple[tuple[str | int, ...], str]  # (path below the option, message)


def describe(value: Any) -> str:
    """``an integer (0)``, ``a string ('x')``: a value's kind and a short form of it."""
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "an integer"
    elif isinstance(value, float):
        kind = "a float"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, Mapping):
        return "a table"
    elif isinstance(value, list | tuple):
        return "an array" if isinstance(value, list) else "a tuple"
    elif value is None:
        return "None"
    else:
        return type(value).__name__
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} ({text})"


@attrs.frozen
class Kind:
    """What an option accepts.

    ``test(value)`` returns ``None`` when a Python value is acceptable, else a problem:
    ``(path below the option, message)``. ``schema`` is the JSON Schema of the TOML form
    (``None``: the option cannot be set in ``agentkit.toml``); its ``x-expected`` phrase is
    ``expected``, so a config error reads like the Python one.
    """

    expected: str
    test: Callable[[Any], Problem | None] = attrs.field(repr=False)
    schema: Mapping[str, Any] | None = attrs.field(default=None, repr=False)

    def problem(self, value: Any) -> Problem | None:
        return self.test(value)

    def config_schema(self) -> dict[str, Any] | None:
        if self.schema is None:
            return None
        return {**self.schema, "x-expected": self.schema.get("x-expected", self.expected)}


def _wrong(kind: Kind | str, value: Any) -> Problem:
    expected = kind.expected if isinstance(kind, Kind) else kind
    return (), f"expected {expected}, got {describe(value)}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(minimum: int) -> Kind:
    """A whole number ``>= minimum``."""
    expected = f"an integer >= {minimum}"
    return Kind(
        expected,
        lambda v: None if _is_int(v) and v >= minimum else _wrong(expected, v),
        {"type": "integer", "minimum": minimum},
    )


def number(*, above: float | None = None, minimum: float | None = None) -> Kind:
    """A number ``> above`` or ``>= minimum``."""
    if above is not None:
        expected, schema = f"a number > {above:g}", {"type": "number", "exclusiveMinimum": above}

        def ok(v: Any) -> bool:
            return v > above
    else:
        low = 0 if minimum is None else minimum
        expected, schema = f"a number >= {low:g}", {"type": "number", "minimum": low}

        def ok(v: Any) -> bool:
            return v >= low

    return Kind(
        expected,
        lambda v: None if (isinstance(v, int | float) and not isinstance(v, bool) and ok(v)) else _wrong(expected, v),
        schema,
    )


def text(expected: str = "a string", *, nonempty: bool = False) -> Kind:
    """A string (a non-empty one with ``nonempty``)."""
    schema: dict[str, Any] = {"type": "string"}
    if nonempty:
        schema["minLength"] = 1

    def test(v: Any) -> Problem | None:
        if isinstance(v, str) and (v.strip() or not nonempty):
            return None
        return _wrong(expected, v)

    return Kind(expected, test, schema)


def boolean() -> Kind:
    """``True`` or ``False``."""
    return Kind("true or false", lambda v: None if isinstance(v, bool) else _wrong("true or false", v), {"type": "boolean"})


def choice(*values: str) -> Kind:
    """One of ``values``."""
    expected = "one of " + ", ".join(repr(v) for v in values)
    return Kind(expected, lambda v: None if isinstance(v, str) and v in values else _wrong(expected, v), {"enum": list(values)})


def optional(kind: Kind) -> Kind:
    """``kind``, or ``None`` for "not set" (TOML has no null: leaving the key out is the same).

    The phrase stays ``kind``'s, so an error reads the same from Python and from TOML.
    """
    return Kind(kind.expected, lambda v: None if v is None else kind.problem(v), kind.config_schema())


def table(
    expected: str = "a table",
    *,
    values: Kind | None = None,
    fields: Mapping[str, Kind] | None = None,
    reserved: Mapping[str, str] | None = None,
) -> Kind:
    """A mapping with string keys; ``values`` checks every value, ``fields`` names the only
    keys allowed (unknown ones get a "did you mean"), ``reserved`` the keys refused, each
    with what to do instead."""
    schema: dict[str, Any] = {"type": "object"}
    if values is not None:
        schema["additionalProperties"] = values.config_schema() or {}
    if fields is not None:
        schema["properties"] = {k: f.config_schema() or {} for k, f in fields.items()}
        schema["additionalProperties"] = False
    if reserved:
        schema["properties"] = {k: {"not": {}, "x-not": why} for k, why in reserved.items()}

    def test(v: Any) -> Problem | None:
        if not isinstance(v, Mapping):
            return _wrong(expected, v)
        for key, item in v.items():
            if not isinstance(key, str):
                return (), f"expected {expected} with string keys, got the key {describe(key)}"
            if reserved and key in reserved:
                return (key,), reserved[key]
            if fields is not None:
                if key not in fields:
                    return (key,), unknown_key(key, fields)
                found = fields[key].problem(item)
            elif values is not None:
                found = values.problem(item)
            else:
                continue
            if found is not None:
                return (key, *found[0]), found[1]
        return None

    return Kind(expected, test, schema)


def unknown_key(key: str, known: Iterable[str]) -> str:
    """``unknown key 'kk' (did you mean 'k'?)``, else the keys there are."""
    names = sorted(known)
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return message + f" (did you mean {close[0]!r}?)"
    return message + (f"; expected one of: {', '.join(names)}" if names else "")


#: A registered name, or a table with a ``name`` key (stores, memory, guardrails).
NAMED_SCHEMA: dict[str, Any] = {
    "x-expected": "a name, or a table with a 'name' key",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
    ],
}


def named(what: str, *, accepts: Callable[[Any], bool] | None = None) -> Kind:
    """A registered name, ``{"name": ..., **settings}``, or (in Python) an object ``accepts``."""
    expected = f"{what}, a registered name, or a table with a 'name' key"

    def test(v: Any) -> Problem | None:
        if isinstance(v, str):
            return None if v.strip() else _wrong(expected, v)
        if isinstance(v, Mapping):
            name = v.get("name")
            if isinstance(name, str) and name.strip():
                return None
            return ("name",), f"expected a registered name, got {describe(name)}"
        if accepts is not None and accepts(v):
            return None
        return _wrong(expected, v)

    return Kind(expected, test, {**NAMED_SCHEMA, "x-expected": "a name, or a table with a 'name' key"})


@attrs.frozen
class Option:
    """One option's declaration (see :func:`option`); :func:`declared` fills in ``name``."""

    kind: Kind
    doc: str
    per_run: bool = True
    config: str | bool | None = True
    config_schema: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    normalize: Callable[[Any], Any] | None = attrs.field(default=None, repr=False)
    name: str = ""

    @property
    def config_key(self) -> str | None:
        """Its key in ``[agents.<name>]``, or ``None`` when it cannot be set there."""
        if self.config is True:
            return self.name
        return self.config or None

    def problem(self, value: Any) -> ConfigError | None:
        """A ConfigError naming the option when ``value`` is not acceptable, else ``None``."""
        found = self.kind.problem(value)
        return None if found is None else problem_error(self.name, found)

    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of this option in ``agentkit.toml`` (``None``: not a config key)."""
        if self.config_key is None:
            return None
        if self.config_schema is not None:
            return dict(self.config_schema)
        return self.kind.config_schema()


def problem_error(name: str, found: Problem) -> ConfigError:
    """``found`` as a ConfigError at ``name`` plus the path below it."""
    from ._interpolate import format_key_path

    return ConfigError(found[1], key_path=format_key_path((name, *found[0])))


def _validator(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    found = attribute.metadata[OPTION].kind.problem(value)
    if found is not None:
        raise problem_error(attribute.name, found)


def option(
    kind: Kind,
    *,
    doc: str,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    per_run: bool = True,
    config: str | bool = True,
    config_schema: Mapping[str, Any] | None = None,
    normalize: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare an option as an attrs field of ``RunSettings``.

    :param kind: what the option accepts (:func:`integer`, :func:`choice`, ...).
    :param doc: one line for the docs and ``help()``.
    :param default: its default (``factory`` for a fresh mutable one).
    :param per_run: whether ``agent.run(..., name=value)`` may override it.
    :param config: its key in ``[agents.<name>]``: ``True`` (the option's name), another name
        (``"output_schema"``), or ``False`` (Python only).
    :param config_schema: its JSON Schema in the config when that is not ``kind``'s.
    :param normalize: turns an accepted value into the stored one (a list into a tuple).
    """
    meta = {OPTION: Option(kind, doc, per_run, config, config_schema, normalize)}
    if factory is not None:
        return attrs.field(factory=factory, validator=_validator, metadata=meta)
    return attrs.field(default=default, validator=_validator, metadata=meta)


def declared(cls: type) -> dict[str, Option]:
    """The options declared on the attrs class ``cls``, by name, in declaration order."""
    return {
        f.name: attrs.evolve(f.metadata[OPTION], name=f.name)
        for f in attrs.fields(cls)
        if OPTION in f.metadata
    }


def defaults(cls: type) -> dict[str, Any]:
    """Each option's default value (``attrs.NOTHING`` for a required one)."""
    out: dict[str, Any] = {}
    for f in attrs.fields(cls):
        if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            out[f.name] = f.default.factory()  # type: ignore[union-attr]
        else:
            out[f.name] = f.default
    return out


def signature(func: Callable[..., Any], cls: type, *, overrides: bool = False) -> inspect.Signature:
    """``func``'s signature with its ``**options`` spelled out as the options declared on
    ``cls`` (type and default), for ``help()`` and IDEs. With ``overrides`` every option
    defaults to ``None``: "keep the value from elsewhere" (a config file's), and ``**``
    stays last, for the other keywords ``func`` passes on."""
    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    rest = [p for p in sig.parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD and overrides]
    taken = {p.name for p in params}
    values = defaults(cls)
    for field in attrs.fields(cls):
        if field.name in taken or OPTION not in field.metadata:
            continue
        default = None if overrides else values[field.name]
        annotation = field.type if field.type is not None else inspect.Parameter.empty
        if overrides and isinstance(annotation, str) and not annotation.endswith("None"):
            annotation += " | None"
        params.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if default is attrs.NOTHING else default,
                annotation=annotation,
            )
        )
    return sig.replace(parameters=params + rest)
