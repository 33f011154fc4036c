"""Guardrails: checks on what goes into a run, what comes out, and every tool call between.

A guardrail answers each check with a :class:`Verdict`:

- ``allow``: carry on;
- ``rewrite``: carry on with a replacement (a redacted input or answer, new tool arguments
  as JSON text, a new tool result);
- ``refuse``: for tool checks only. The tool is not run (or its result is withheld) and the
  model gets an error result carrying the reason, so it can carry on without it;
- ``tripwire``: stop the run. :class:`~agentkit.errors.GuardrailTripwireError` is raised,
  carrying the guardrail's name and its verdict.

The loop calls the ``apply_*`` functions below at four points: :func:`apply_input` before
the first model call (a tripwire means no model call and no tool call), :func:`apply_output`
on the text of each model answer before it is shown, stored or returned,
:func:`apply_tool_call` and :func:`apply_tool_result` around each tool call. Guardrails run
in the order given; each sees what the previous one rewrote.

A streaming run must not show text before it is checked, so its text deltas go through an
:class:`OutputCheck`: each guardrail holds the text it has not checked yet and checks the
longest piece its :meth:`Guardrail.output_boundary` says may be checked on its own (by
default none: the answer is checked whole when the model is done); only checked text is
released to the caller. This is how NeMo Guardrails' chunked output rails (with
``stream_first`` off) and Guardrails AI's per-validator chunking strategies work too: the
guardrail, which knows what it matches, says where text may be cut.

Guardrails are not a security boundary (see docs/reliability.md): confinement is enforced inside
the tools and the stores. A guardrail that raises fails the run (a
:class:`~agentkit.errors.GuardrailError`) rather than letting the text through, which is the
safe default for a check.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .errors import AgentkitError, ConfigError, GuardrailError, GuardrailTripwireError
from .messages import Message, TextPart, ToolCall, ToolMessage, UserMessage

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .run_context import RunContext

__all__ = [
    "Guardrail",
    "GuardrailSpec",
    "OutputCheck",
    "Verdict",
    "apply_input",
    "apply_output",
    "apply_tool_call",
    "apply_tool_result",
    "resolve_guardrails",
    "system_instructions",
]

Action = Literal["allow", "rewrite", "refuse", "tripwire"]
_ACTIONS = ("allow", "rewrite", "refuse", "tripwire")


def _check_action(_instance: Verdict, _attribute: attrs.Attribute, value: object) -> None:
    if value not in _ACTIONS:
        raise ValueError(f"Verdict action must be one of {', '.join(_ACTIONS)}; got {value!r}")


def _check_replacement(instance: Verdict, _attribute: attrs.Attribute, value: object) -> None:
    if instance.action == "rewrite" and not isinstance(value, str):
        raise ValueError("a rewrite Verdict needs the replacement text (a str)")


@attrs.frozen
class Verdict:
    """A guardrail's answer to one check. Build it with the constructors below."""

    action: Action = attrs.field(default="allow", validator=_check_action)
    reason: str | None = None
    replacement: str | None = attrs.field(default=None, validator=_check_replacement, repr=False)

    @classmethod
    def allow(cls) -> Verdict:
        """Nothing to object to."""
        return _ALLOW

    @classmethod
    def rewrite(cls, replacement: str, reason: str | None = None) -> Verdict:
        """Carry on with ``replacement``.

        For input and output checks it is the new text; for tool calls the new arguments as
        a JSON object text; for tool results the new result content.
        """
        return cls("rewrite", reason, replacement)

    @classmethod
    def refuse(cls, reason: str) -> Verdict:
        """Tool checks only: do not run the tool (or withhold its result); the model reads ``reason``."""
        return cls("refuse", reason)

    @classmethod
    def tripwire(cls, reason: str) -> Verdict:
        """Stop the run with :class:`~agentkit.errors.GuardrailTripwireError`."""
        return cls("tripwire", reason)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"


_ALLOW = Verdict()


class Guardrail:
    """Base class of guardrails. Every check allows by default: override the ones you need.

    ``name`` appears in errors and in refusals the model reads. The checks are coroutines;
    a subclass may also define them as plain functions. ``ctx`` is the run's
    :class:`~agentkit.RunContext` (``None`` when a guardrail is used outside a run).
    """

    name: str = "guardrail"

    def instructions(self) -> str | None:
        """Text to add to the system prompt (for example ``"Don't discuss politics."``)."""
        return None

    async def check_input(self, text: str, ctx: RunContext | None) -> Verdict:
        """Check the text of a user message before the first model call."""
        return Verdict.allow()

    async def check_output(self, text: str, ctx: RunContext | None) -> Verdict:
        """Check the text of a model answer before it is shown, returned or stored."""
        return Verdict.allow()

    def output_boundary(self, text: str) -> int:
        """While an answer streams: how many leading characters of ``text`` can be checked now.

        ``text`` is the answer's text this guardrail has not checked yet. The loop calls
        :meth:`check_output` on that many characters, on their own, and releases the result;
        the rest waits for more text. Return a cut no match of this guardrail can straddle
        (for a word filter: after a space, far enough back that no blocked phrase can span it).
        The default, 0, holds everything until the answer is complete, so :meth:`check_output`
        sees it whole (right for checks that need the whole text, such as a policy judge).
        """
        return 0

    async def check_tool_call(self, call: ToolCall, ctx: RunContext | None) -> Verdict:
        """Check a tool call before it runs. A rewrite gives new arguments (JSON object text)."""
        return Verdict.allow()

    async def check_tool_result(self, call: ToolCall, result: ToolMessage, ctx: RunContext | None) -> Verdict:
        """Check a tool's result before the model sees it. A rewrite gives new content."""
        return Verdict.allow()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


#: What :func:`resolve_guardrails` accepts for one guardrail.
GuardrailSpec = Guardrail | str | Mapping[str, Any]

_CHECKS = ("check_input", "check_output", "check_tool_call", "check_tool_result", "instructions")


# -- resolving --------------------------------------------------------------------------------


def resolve_guardrails(specs: Iterable[Any] | None, *, host: PluginHost | None = None) -> list[Guardrail]:
    """Turn guardrail specs into guardrail objects, in order.

    Each spec is a guardrail object (used as is), a registered name (``"pii_redactor"``), or
    a mapping ``{"name": "blocked_words", **options}`` as a config file writes it. Unknown
    names raise a :class:`~agentkit.errors.ConfigError` listing the installed guardrails; an
    unknown option names the option and the ones the guardrail takes. Factories that take a
    ``host`` keyword receive ``host`` (for example ``llm_judge``, to build its provider).
    """
    if specs is None:
        return []
    if isinstance(specs, (str, Mapping, Guardrail)):
        specs = [specs]
    resolved: list[Guardrail] = []
    for index, spec in enumerate(specs):
        where = f"guardrails[{index}]"
        if isinstance(spec, str):
            resolved.append(_build(spec, {}, host, where))
        elif isinstance(spec, Mapping):
            options = dict(spec)
            name = options.pop("name", None)
            if not isinstance(name, str) or not name:
                raise ConfigError(
                    f"a guardrail table needs a 'name' (a registered guardrail); got keys {sorted(spec)}",
                    key_path=where,
                )
            resolved.append(_build(name, options, host, where))
        elif _is_guardrail(spec):
            resolved.append(spec)
        else:
            raise ConfigError(
                f"cannot use {type(spec).__name__} {spec!r} as a guardrail; give a Guardrail object, "
                "a registered guardrail name, or a mapping {'name': ..., **options}",
                key_path=where,
            )
    return resolved


def _is_guardrail(obj: object) -> bool:
    if isinstance(obj, Guardrail):
        return True
    return not isinstance(obj, type) and any(callable(getattr(obj, c, None)) for c in _CHECKS)


def _build(name: str, options: dict[str, Any], host: PluginHost | None, where: str) -> Guardrail:
    if host is None:
        from .plugins import get_host

        host = get_host()
    registry = host.registry("guardrail")
    if name not in registry:
        raise ConfigError(registry.unknown_message(name), key_path=f"{where}.name")
    entry = registry.get(name)
    from .registry import build_from

    extra: dict[str, Any] = {"host": host} if _takes(entry.value, "host") and "host" not in options else {}
    guardrail = build_from(entry, options, key_path=where, **extra)
    if not _is_guardrail(guardrail):
        raise ConfigError(
            f"guardrail {name!r} from plugin {entry.plugin!r} built {type(guardrail).__name__}, "
            "not a Guardrail",
            key_path=where,
        )
    return guardrail  # type: ignore[no-any-return]


def _takes(factory: Any, param: str) -> bool:
    try:
        return param in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


# -- applying ---------------------------------------------------------------------------------


def _name(guardrail: Any) -> str:
    return str(getattr(guardrail, "name", None) or type(guardrail).__name__)


async def _verdict(guardrail: Any, method: str, *args: Any) -> Verdict:
    check = getattr(guardrail, method, None)
    if check is None:
        return _ALLOW
    try:
        result = check(*args)
        if inspect.isawaitable(result):
            result = await result
    except AgentkitError:
        raise
    except Exception as exc:
        raise _failed(guardrail, method, exc) from exc
    if result is None:
        return _ALLOW
    if not isinstance(result, Verdict):
        raise GuardrailError(
            f"guardrail {_name(guardrail)!r}: {method}() returned {type(result).__name__}; "
            "it must return a Verdict (Verdict.allow(), .rewrite(), .refuse() or .tripwire())",
            guardrail=_name(guardrail),
        )
    return result


def _failed(guardrail: Any, method: str, exc: Exception) -> GuardrailError:
    """The error for a check that raised: the run fails closed, naming the guardrail."""
    problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(problem) > 300:
        problem = problem[:299] + "…"
    return GuardrailError(
        f"guardrail {_name(guardrail)!r} failed in {method}(): {problem}",
        guardrail=_name(guardrail),
        hint="its check raised, so the run stopped rather than let unchecked text through; "
        "run again with --debug to see the traceback",
    )


def _trip(guardrail: Any, verdict: Verdict, stage: str) -> GuardrailTripwireError:
    name = _name(guardrail)
    reason = verdict.reason or "no reason given"
    return GuardrailTripwireError(
        f"guardrail {name!r} tripped on the {stage}: {reason}", guardrail=name, verdict=verdict
    )


async def _check_text(
    guardrails: Sequence[Any], method: str, text: str, ctx: RunContext | None, stage: str
) -> str:
    for guardrail in guardrails:
        verdict = await _verdict(guardrail, method, text, ctx)
        if verdict.action == "rewrite":
            assert verdict.replacement is not None
            text = verdict.replacement
        elif verdict.action in ("tripwire", "refuse"):
            # "refuse" has no meaning outside tool checks; a blocked input or answer must
            # not slip through, so it stops the run like a tripwire.
            raise _trip(guardrail, verdict, stage)
    return text


async def apply_input(
    guardrails: Sequence[Any], messages: Sequence[Message], ctx: RunContext | None
) -> list[Message]:
    """Run the input checks on each user message of a run's input, before the first model call.

    ``messages`` are the run's new input messages (not the stored history: it was checked
    when it was new). Each :class:`~agentkit.UserMessage`'s text goes through every
    guardrail's ``check_input``; a rewrite replaces the message's text (images are kept).
    Other messages pass unchanged. A tripwire raises
    :class:`~agentkit.errors.GuardrailTripwireError`.
    """
    out: list[Message] = list(messages)
    if not guardrails:
        return out
    for i, message in enumerate(out):
        if not isinstance(message, UserMessage):
            continue
        text = message.text
        checked = await _check_text(guardrails, "check_input", text, ctx, "input")
        if checked != text:
            out[i] = _with_text(message, checked)
    return out


def _with_text(message: UserMessage, text: str) -> UserMessage:
    """The message with its text parts replaced by one part holding ``text``, where the first was."""
    parts: list[Any] = []
    placed = False
    for part in message.content:
        if isinstance(part, TextPart):
            if not placed:
                parts.append(TextPart(text))
                placed = True
        else:
            parts.append(part)
    if not placed:
        parts.insert(0, TextPart(text))
    return UserMessage(parts)


async def apply_output(guardrails: Sequence[Any], text: str, ctx: RunContext | None) -> str:
    """Run the output checks on an answer's whole text; returns the (possibly rewritten) text.

    A tripwire raises :class:`~agentkit.errors.GuardrailTripwireError`.
    """
    return await _check_text(guardrails, "check_output", text, ctx, "output")


def _checks_output(guardrail: Any) -> bool:
    """Whether a guardrail checks answers at all (a Guardrail that keeps the default does not)."""
    if isinstance(guardrail, Guardrail):
        return type(guardrail).check_output is not Guardrail.check_output
    return callable(getattr(guardrail, "check_output", None))


class OutputCheck:
    """The output checks for text that arrives in pieces: only checked text comes out.

    ``await feed(text)`` takes the next piece of an answer and returns the checked text that
    may be shown now (``""`` while the guardrails hold it); ``await finish()`` ends the answer
    and returns the checked rest, leaving the check ready for the next answer. Each guardrail
    holds the text it has not checked yet and checks the piece its
    :meth:`Guardrail.output_boundary` allows, on its own; what it releases is the next
    guardrail's input, so each sees what the previous one rewrote, as in :func:`apply_output`.
    A tripwire raises :class:`~agentkit.errors.GuardrailTripwireError` at once: whatever was
    released before it had been checked. Guardrails that do not check answers are left out;
    with none left the check is false and ``feed`` returns its input.
    """

    def __init__(self, guardrails: Sequence[Any], ctx: RunContext | None) -> None:
        self.ctx = ctx
        self._guardrails = [g for g in guardrails if _checks_output(g)]
        self._held = [""] * len(self._guardrails)

    def __bool__(self) -> bool:
        return bool(self._guardrails)

    async def feed(self, text: str) -> str:
        """Take the next piece of the answer; return the checked text that may be shown now."""
        for i, guardrail in enumerate(self._guardrails):
            if not text:
                return ""
            held = self._held[i] + text
            cut = _boundary(guardrail, held)
            self._held[i] = held[cut:]
            text = await _check_text([guardrail], "check_output", held[:cut], self.ctx, "output") if cut else ""
        return text

    async def finish(self) -> str:
        """End the answer: check what every guardrail still holds; return the checked rest."""
        text = ""
        try:
            for i, guardrail in enumerate(self._guardrails):
                held, self._held[i] = self._held[i] + text, ""
                text = await _check_text([guardrail], "check_output", held, self.ctx, "output") if held else ""
        finally:
            self.reset()
        return text

    def reset(self) -> None:
        """Drop whatever is held (a new answer begins)."""
        self._held = [""] * len(self._guardrails)


def _boundary(guardrail: Any, text: str) -> int:
    method = getattr(guardrail, "output_boundary", None)
    if method is None:
        return 0
    try:
        cut = method(text)
    except AgentkitError:
        raise
    except Exception as exc:
        raise _failed(guardrail, "output_boundary", exc) from exc
    if isinstance(cut, bool) or not isinstance(cut, int):
        raise GuardrailError(
            f"guardrail {_name(guardrail)!r}: output_boundary() returned {type(cut).__name__}; "
            "it must return how many characters can be checked now (an int)",
            guardrail=_name(guardrail),
        )
    return min(max(cut, 0), len(text))


def _refusal(call: ToolCall, guardrail: Any, reason: str | None, *, result: bool = False) -> ToolMessage:
    """The error result the model reads when a guardrail refuses a tool call (or its result)."""
    what = "withheld the result of" if result else "refused the call to"
    text = f"Guardrail {_name(guardrail)!r} {what} tool {call.name!r}: {reason or 'no reason given'}"
    return ToolMessage(tool_call_id=call.id, name=call.name, content=text, is_error=True)


async def apply_tool_call(
    guardrails: Sequence[Any], call: ToolCall, ctx: RunContext | None
) -> ToolCall | ToolMessage:
    """Check a tool call before it runs.

    Returns the call to run (rewritten arguments included), or a :class:`~agentkit.ToolMessage`
    when a guardrail refused it: use that as the call's result and do not run the tool. A
    tripwire raises :class:`~agentkit.errors.GuardrailTripwireError`.
    """
    for guardrail in guardrails:
        verdict = await _verdict(guardrail, "check_tool_call", call, ctx)
        if verdict.action == "rewrite":
            assert verdict.replacement is not None
            call = attrs.evolve(call, arguments=verdict.replacement)
        elif verdict.action == "refuse":
            return _refusal(call, guardrail, verdict.reason)
        elif verdict.action == "tripwire":
            raise _trip(guardrail, verdict, f"call to tool {call.name!r}")
    return call


async def apply_tool_result(
    guardrails: Sequence[Any], call: ToolCall, result: ToolMessage, ctx: RunContext | None
) -> ToolMessage:
    """Check a tool's result before the model sees it; returns the result to use.

    A rewrite replaces the content; a refusal withholds it (the model gets an error result
    with the reason); a tripwire raises :class:`~agentkit.errors.GuardrailTripwireError`.
    """
    for guardrail in guardrails:
        verdict = await _verdict(guardrail, "check_tool_result", call, result, ctx)
        if verdict.action == "rewrite":
            assert verdict.replacement is not None
            result = attrs.evolve(result, content=verdict.replacement)
        elif verdict.action == "refuse":
            return _refusal(call, guardrail, verdict.reason, result=True)
        elif verdict.action == "tripwire":
            raise _trip(guardrail, verdict, f"result of tool {call.name!r}")
    return result


def system_instructions(guardrails: Sequence[Any]) -> str | None:
    """The guardrails' instructions joined for the system prompt, or ``None`` if they have none."""
    parts = []
    for guardrail in guardrails:
        method = getattr(guardrail, "instructions", None)
        text = method() if callable(method) else None
        if text and text.strip():
            parts.append(text.strip())
    return "\n\n".join(parts) if parts else None
