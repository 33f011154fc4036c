"""The values of one run: its settings, the resources it uses, and its input messages.

Kept apart from the loop itself (:mod:`agentkit.loop`) so that each stays small: these are
plain data and one pure function.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._options import (
    NAMED_SCHEMA,
    Kind,
    Option,
    Problem,
    boolean,
    choice,
    declared,
    describe,
    integer,
    named,
    number,
    option,
    optional,
    table,
    text,
)
from .errors import ConfigError
from .messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from .templates import render

if TYPE_CHECKING:
    from .cache import ResponseCache
    from .lifecycle import Lifecycle
    from .output import OutputSpec
    from .providers import Provider
    from .tools import Tool

__all__ = [
    "MESSAGE_TYPES",
    "OPTIONS",
    "RUN_OPTIONS",
    "ModelTarget",
    "Resources",
    "RunSettings",
    "build_input",
    "build_settings",
    "option_problems",
    "unknown_option",
]

#: The message classes a prompt or a history may hold.
MESSAGE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)


def _as_tuple(value: Any) -> Any:
    """One item or an iterable of items, as a tuple (what cannot be iterated is left alone)."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or callable(value) or not isinstance(value, Iterable):
        return (value,)
    return tuple(value)


def _as_dict(value: Any) -> Any:
    """``None`` as ``{}``, a mapping as a fresh dict; anything else is left for the check."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


def _items(what: str, test: Callable[[Any], bool], toml: Mapping[str, Any], toml_expected: str) -> Kind:
    """A tuple of items each passing ``test`` (in the config file: an array of ``toml``,
    ``toml_expected`` in words)."""

    def check(value: Any) -> Problem | None:
        if not isinstance(value, tuple):
            return (), f"expected {what}, got {describe(value)}"
        for index, item in enumerate(value):
            if not test(item):
                return (index,), f"expected {what}, got {describe(item)}"
        return None

    return Kind(what, check, {"type": "array", "items": dict(toml), "x-expected": toml_expected})


def _tool_like(item: Any) -> bool:
    if isinstance(item, str):
        return bool(item.strip())
    from .toolsets import Toolset

    return isinstance(item, Toolset) or (callable(item) and not isinstance(item, type))


def _guardrail_like(item: Any) -> bool:
    if isinstance(item, str):
        return bool(item.strip())
    if isinstance(item, Mapping):
        return isinstance(item.get("name"), str) and bool(item["name"].strip())
    from .guardrails import _is_guardrail

    return _is_guardrail(item)


def _memory_like(value: Any) -> bool:
    from .memory import Memory

    return isinstance(value, Memory)


def _store_like(value: Any) -> bool:
    from .stores import Store

    return isinstance(value, Store | os.PathLike)


def _cache_like(value: Any) -> Problem | None:
    if value is None or isinstance(value, bool | os.PathLike):
        return None
    if isinstance(value, str):
        return None if value.strip() else ((), f"expected {_CACHE}, got {describe(value)}")
    if callable(getattr(value, "get", None)) and callable(getattr(value, "put", None)):
        return None
    return (), f"expected {_CACHE}, got {describe(value)}"


_CACHE = "true, false, a registered cache name, a directory path or a ResponseCache"
_MODEL = text("a model string such as 'openai/gpt-4o-mini'", nonempty=True)
_PRICE = table(
    "a table of prices",
    fields={k: number(minimum=0) for k in ("input", "output", "cached_input", "cache_write_input")},
)


@attrs.frozen(kw_only=True)
class RunSettings:
    """The options of an agent, and of one run: the agent's with the run's overrides applied.

    This class is the single declaration of :class:`agentkit.Agent`'s options: each field
    says what it accepts, its default and its doc (see :mod:`agentkit._options`). The
    constructor's checks, run overrides and the config file's schema are derived from it.
    """

    model: str = option(_MODEL, doc="'<provider>/<model>', e.g. 'openai/gpt-4o-mini'")
    system: str | None = option(
        optional(text()), default=None, doc="the system prompt; may hold {{name}} placeholders"
    )
    template_params: Mapping[str, Any] = option(
        table(), factory=dict, normalize=_as_dict, doc="values for {{name}} placeholders (a run's own are merged over them)"
    )
    user_template: str | None = option(
        optional(text()), default=None, doc="wraps the user's prompt, e.g. 'Query from {{customer}}: {{message}}'"
    )
    tools: tuple[Any, ...] = option(
        _items("a Tool, a function, a registered tool or toolset name, or 'module:function'", _tool_like,
               {"type": "string", "minLength": 1}, "an array of tool or toolset names or 'module:function' paths"),
        default=(),
        normalize=_as_tuple,
        doc="Tool objects, functions, registered tool or toolset names, 'pkg.mod:func'",
    )
    tool_settings: Mapping[str, Any] = option(
        table(values=table()),
        factory=dict,
        normalize=_as_dict,
        doc="settings of tools built by plugins, by settings key ({'files': {'root': '.'}})",
    )
    tool_choice: str | None = option(
        optional(text("'auto', 'none', 'required' or a tool's name", nonempty=True)),
        default=None,
        doc="'auto', 'none', 'required' or a tool's name; a forcing choice holds for one round of tool calls",
    )
    output_type: Any = option(  # noqa: RUF009 (an attrs field, as option() returns)
        Kind("an output type", lambda v: None),
        default=None,
        config="output_schema",
        config_schema={
            "x-expected": "an inline JSON Schema table or the path of a .json file",
            "oneOf": [{"type": "string", "minLength": 1}, {"type": "object"}],
        },
        doc="structured output: a class, TypedDict, JSON Schema... (config: output_schema)",
    )
    output_retries: int = option(
        integer(0), default=2, doc="how often an invalid structured answer is sent back for another try"
    )
    guardrails: tuple[Any, ...] = option(
        _items("a guardrail, a registered guardrail name, or a table with a 'name' key", _guardrail_like, NAMED_SCHEMA,
               "an array of guardrail names or tables with a 'name' key"),
        default=(),
        normalize=_as_tuple,
        doc="guardrail objects, registered names or {'name': ..., **options}",
    )
    storage: Any = option(  # noqa: RUF009 (an attrs field, as option() returns)
        optional(named("a Store", accepts=_store_like)),
        default=None,
        per_run=False,
        doc="the session store agent.session() uses: a Store, a registered name, 'name:path', or {'name': ...}",
    )
    memory: Any = option(  # noqa: RUF009 (an attrs field, as option() returns)
        optional(named("a Memory", accepts=_memory_like)),
        default=None,
        doc="long-term memory: a Memory, a registered name, or {'name': ..., **settings}",
    )
    memory_settings: Mapping[str, Any] = option(
        table(
            fields={"auto_recall": boolean(), "tools": boolean(), "k": integer(1), "token_budget": integer(1)}
        ),
        factory=dict,
        normalize=_as_dict,
        doc="auto_recall, k, token_budget, tools (see docs/memory.md)",
    )
    params: Mapping[str, Any] = option(
        table(reserved={"tool_choice": "tool_choice is an option of its own (tool_choice=...), not a param: "
                                       "there a forcing choice holds for one round of tool calls"}),
        factory=dict,
        normalize=_as_dict,
        doc="generation parameters passed to the provider (temperature, ...)",
    )
    synthesizer_model: str | None = option(
        optional(_MODEL), default=None, doc="a cheaper '<provider>/<model>' for the calls after tool results are in"
    )
    max_turns: int = option(integer(1), default=20, doc="model calls per run before MaxTurnsError")
    final_turn: str | None = option(
        optional(choice("answer")),
        default=None,
        doc="'answer': the last turn max_turns allows is a call without tools, so the run ends with an answer",
    )
    tool_timeout: float | None = option(
        optional(number(above=0)), default=60, doc="seconds a tool may run; None: no limit"
    )
    tool_retries: int = option(integer(0), default=2, doc="failures in a row a tool may have before the run raises")
    tool_errors: str = option(
        choice("return", "raise"), default="return", doc="'return': failures go to the model; 'raise': they fail the run"
    )
    cache: Any = option(  # noqa: RUF009 (an attrs field, as option() returns)
        Kind(_CACHE, _cache_like, {"oneOf": [{"type": "boolean"}, {"type": "string", "minLength": 1}]}),
        default=None,
        doc="response cache: a ResponseCache, a directory, True, or a registered name",
    )
    context_window: int | None = option(
        optional(integer(1)), default=None, doc="the window to fit history into when nothing else knows it"
    )
    context_strategy: str = option(
        choice("trim", "summarize"), default="trim", doc="what to do when the history does not fit"
    )
    prices: Mapping[str, Any] | None = option(
        optional(table("a table of prices by model", values=_PRICE)),
        default=None,
        doc="dollars per million tokens by model glob, for usage.cost",
    )


#: Every option of an agent, by name, from the declaration above.
OPTIONS: dict[str, Option] = declared(RunSettings)
#: The options a run may override.
RUN_OPTIONS: frozenset[str] = frozenset(name for name, o in OPTIONS.items() if o.per_run)


def unknown_option(name: str, known: Iterable[str], *, what: str = "option") -> ConfigError:
    """``unknown option 'max_turn' (did you mean 'max_turns'?)``, naming the ones there are."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    message = f"unknown {what} {name!r}"
    message += f" (did you mean {close[0]!r}?)" if close else f"; options: {', '.join(names)}"
    return ConfigError(message, key_path=name)


def option_problems(values: Mapping[str, Any], *, has_provider: bool = False) -> list[ConfigError]:
    """Every problem with ``values`` (option name -> value as given), in declaration order."""
    problems = [unknown_option(k, OPTIONS) for k in values if k not in OPTIONS]
    for name, declared_option in OPTIONS.items():
        if name not in values:
            continue
        found = declared_option.problem(_normalized(declared_option, values[name]))
        if found is not None:
            problems.append(found)
    problems.extend(_model_problems(values, has_provider=has_provider))
    return problems


def _normalized(declared_option: Option, value: Any) -> Any:
    normalize = declared_option.normalize
    return value if normalize is None else normalize(value)


def _model_problems(values: Mapping[str, Any], *, has_provider: bool) -> list[ConfigError]:
    out = []
    for key in ("model", "synthesizer_model"):
        model = values.get(key)
        if isinstance(model, str) and model.strip() and "/" not in model and not has_provider:
            out.append(
                ConfigError(
                    f"{model!r} must be '<provider>/<model>', for example 'openai/gpt-4o-mini'", key_path=key
                )
            )
    return out


def build_settings(
    values: Mapping[str, Any], *, base: RunSettings | None = None, has_provider: bool = False
) -> RunSettings:
    """``RunSettings`` from option values (over ``base``), or the first problem as a ConfigError.

    The error carries the other problems in ``.more``.
    """
    problems = option_problems(values, has_provider=has_provider)
    if problems:
        first = problems[0]
        first.more = problems[1:]  # type: ignore[attr-defined]
        raise first
    changes = {k: _normalized(OPTIONS[k], v) for k, v in values.items()}
    if base is None:
        return RunSettings(**changes)
    return attrs.evolve(base, **changes)


@attrs.frozen
class ModelTarget:
    """A model to call: the provider object, the full ``provider/model`` string, the name
    sent in requests, and the provider's identity for cache keys (never a credential)."""

    provider: Provider = attrs.field(repr=False)
    model: str
    name: str
    label: str


@attrs.define
class Resources:
    """What a run uses, resolved by the agent from its settings."""

    target: ModelTarget
    synthesizer: ModelTarget | None
    tools: dict[str, Tool]
    guardrails: list[Any]
    cache: ResponseCache | None
    lifecycle: Lifecycle
    output: OutputSpec | None
    memory: Any = None
    host: Any = None
    toolsets: list[Any] = attrs.field(factory=list)  # asked for their tools before each model call


def build_input(
    prompt: Any, images: Sequence[Any] | None, user_template: str | None, params: Mapping[str, Any]
) -> list[Message]:
    """The run's input messages from ``prompt`` (text, a message, or a list of them)."""
    if isinstance(prompt, str):
        messages: list[Message] = [UserMessage(prompt)]
    elif isinstance(prompt, MESSAGE_TYPES):
        messages = [prompt]
    elif isinstance(prompt, list | tuple):
        messages = []
        for i, item in enumerate(prompt):
            if isinstance(item, str):
                messages.append(UserMessage(item))
            elif isinstance(item, MESSAGE_TYPES):
                messages.append(item)
            else:
                raise ConfigError(f"expected a string or a message, got {describe(item)}", key_path=f"prompt[{i}]")
    else:
        raise ConfigError(f"expected a string, a message, or a list of them, got {describe(prompt)}", key_path="prompt")
    last = max((i for i, m in enumerate(messages) if isinstance(m, UserMessage)), default=None)
    if user_template is not None and last is not None:
        message = messages[last]
        assert isinstance(message, UserMessage)
        text = render(user_template, {**params, "message": message.text}, where="user_template")
        messages[last] = UserMessage((TextPart(text), *message.images))
    if images:
        parts = tuple(p if isinstance(p, ImagePart) else ImagePart.from_source(p) for p in images)
        if last is None:
            messages.append(UserMessage(parts))
        else:
            message = messages[last]
            assert isinstance(message, UserMessage)
            messages[last] = UserMessage((*message.content, *parts))
    return messages
