"""The context budget: fitting history into a model's context window, and what a call cost.

Before each model call of a run (not only the first) the loop calls :func:`fit_messages`.
When the messages do not fit the model's window minus a reserve for the answer (the
``max_tokens`` parameter), older tool results go first: their text is replaced by
:data:`TRIMMED_RESULT`, oldest first, keeping each call paired with its result (a run of many
tool calls fills a small window with results the model has already used). If that is not
enough, the oldest history is dropped, whole turns at a time (a user message and everything
up to the next one), so the history still starts with a user message and an assistant's tool
calls are never split from their results. System messages are never dropped, nor the latest
user message, nor the latest step of the current run (the last assistant message and its tool
results). Then, within the current run, older tool steps go oldest first. If even what must
stay does not fit, a :class:`~agentkit.errors.ContextLengthError` says how much is needed.

With ``strategy="summarize"`` a model summarizes what was dropped (the loop passes the
summarizer; :func:`summary_prompt` builds the text it sends) and the summary is inserted
where the dropped messages were (after the system prompt) as a :class:`~agentkit.SystemMessage`
that says it is a summary.

Context windows of common models are in :data:`CONTEXT_WINDOWS`; :func:`cost_of` prices a
call's usage from a price table.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import math
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .errors import ConfigError, ContextLengthError
from .messages import AssistantMessage, Message, SystemMessage, ToolMessage, Usage, UserMessage
from .tokens import (
    count_message_tokens,
    count_tokens,
    counter_for,
    match_model,
    message_tokens,
)

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .providers import Provider, ToolSpec

__all__ = [
    "CONTEXT_WINDOWS",
    "SUMMARY_HEADER",
    "Summarizer",
    "TRIMMED_RESULT",
    "cost_of",
    "count_message_tokens",
    "count_tokens",
    "fit_messages",
    "known_context_window",
    "make_summarizer",
    "summary_message",
    "summary_prompt",
]

log = logging.getLogger("agentkit.context_budget")

#: ``await summarizer(messages) -> summary text``.
Summarizer = Callable[[Sequence[Message]], Awaitable[str]]

#: Context windows in tokens, by model glob (matched like token counter globs: the whole
#: model string or the part after the provider prefix; the most specific glob wins). Local
#: servers often run a model with a smaller window than it supports (Ollama's ``num_ctx``):
#: give ``Agent(context_window=...)`` then.
CONTEXT_WINDOWS: Mapping[str, int] = {
    # OpenAI
    "gpt-4o*": 128_000,
    "chatgpt-4o*": 128_000,
    "gpt-4.1*": 1_047_576,
    "gpt-4.5*": 128_000,
    "gpt-5*": 400_000,
    "gpt-4": 8_192,
    "gpt-4-0314": 8_192,
    "gpt-4-0613": 8_192,
    "gpt-4-32k*": 32_768,
    "gpt-4-turbo*": 128_000,
    "gpt-4-1106*": 128_000,
    "gpt-4-0125*": 128_000,
    "gpt-3.5-turbo*": 16_385,
    "gpt-oss*": 131_072,
    "o1*": 200_000,
    "o1-mini*": 128_000,
    "o1-preview*": 128_000,
    "o3*": 200_000,
    "o4-mini*": 200_000,
    # Anthropic
    "claude-2*": 100_000,
    "claude-3*": 200_000,
    "claude-sonnet-4*": 200_000,
    "claude-opus-4*": 200_000,
    "claude-haiku-4*": 200_000,
    # Google
    "gemini-1.0-pro*": 32_760,
    "gemini-pro": 32_760,
    "gemini-1.5-pro*": 2_097_152,
    "gemini-1.5-flash*": 1_048_576,
    "gemini-2*": 1_048_576,
    "gemma2*": 8_192,
    "gemma-2*": 8_192,
    "gemma3*": 131_072,
    "gemma-3*": 131_072,
    # Meta
    "llama2*": 4_096,
    "llama-2*": 4_096,
    "llama3*": 8_192,
    "llama-3*": 8_192,
    "meta-llama-3-*": 8_192,
    "llama3.1*": 131_072,
    "llama-3.1*": 131_072,
    "llama3.2*": 131_072,
    "llama-3.2*": 131_072,
    "llama3.3*": 131_072,
    "llama-3.3*": 131_072,
    "llama4*": 1_048_576,
    "llama-4*": 1_048_576,
    # Qwen
    "qwen2*": 32_768,
    "qwen2.5*": 32_768,
    "qwen3*": 32_768,
    "qwq*": 131_072,
    # Mistral
    "mistral": 32_768,
    "mistral:*": 32_768,
    "mistral-7b*": 32_768,
    "mistral-large*": 128_000,
    "mistral-medium*": 128_000,
    "mistral-small*": 32_768,
    "mistral-nemo*": 128_000,
    "open-mistral-nemo*": 128_000,
    "ministral*": 128_000,
    "mixtral*": 32_768,
    "codestral*": 256_000,
    # Others
    "deepseek-chat*": 65_536,
    "deepseek-reasoner*": 65_536,
    "deepseek-r1*": 131_072,
    "deepseek-v3*": 131_072,
    "phi3*": 4_096,
    "phi4*": 16_384,
}


def known_context_window(model: str, *, windows: Mapping[str, int] | None = None) -> int | None:
    """The context window of ``model`` in tokens, or ``None`` when unknown.

    ``windows`` (globs to tokens) is consulted first, then :data:`CONTEXT_WINDOWS`.
    """
    if windows:
        found = _best_match(model, windows)
        if found is not None:
            return int(found)
    return _known_default(model)


@functools.lru_cache(maxsize=1024)
def _known_default(model: str) -> int | None:
    """The built-in table's answer, cached: the loop asks before every model call."""
    found = _best_match(model, CONTEXT_WINDOWS)
    return None if found is None else int(found)


def _best_match(model: str, table: Mapping[str, Any]) -> Any:
    best: tuple[int, Any] | None = None
    for pattern, value in table.items():
        score = match_model(pattern, model)
        if score is not None and (best is None or score > best[0]):
            best = (score, value)
    return None if best is None else best[1]


# -- summaries ----------------------------------------------------------------------------------

#: First line of the system message that carries a summary of dropped messages.
SUMMARY_HEADER = (
    "Summary of the earlier part of this conversation (older messages were removed to fit the "
    "context window):"
)

_SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation below for the assistant that will continue it. Keep the facts, "
    "names, numbers, decisions, tool results that matter and what the user wants; leave out "
    "pleasantries. Write at most about 200 words, in the language of the conversation. Answer "
    "with the summary only."
)
_MAX_PART_CHARS = 4_000
_MAX_PROMPT_CHARS = 60_000


def summary_prompt(messages: Sequence[Message]) -> str:
    """The text asking a model to summarize ``messages`` (the ones being dropped).

    Each message is cut to 4,000 characters and the whole transcript to the last 60,000, so
    the request stays small whatever was dropped.
    """
    lines = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            if message.content:
                lines.append(f"assistant: {_cut(message.content)}")
            for call in message.tool_calls:
                lines.append(f"assistant called tool {call.name} with {_cut(call.arguments)}")
        elif isinstance(message, ToolMessage):
            status = "failed" if message.is_error else "returned"
            lines.append(f"tool {message.name} {status}: {_cut(message.content)}")
        elif isinstance(message, UserMessage):
            images = len(message.images)
            extra = f" [{images} image{'s' if images != 1 else ''}]" if images else ""
            lines.append(f"user: {_cut(message.text)}{extra}")
        else:
            lines.append(f"system: {_cut(message.content)}")
    transcript = "\n".join(lines)
    if len(transcript) > _MAX_PROMPT_CHARS:
        transcript = "[…earlier messages cut…]\n" + transcript[-_MAX_PROMPT_CHARS:]
    return f"{_SUMMARY_INSTRUCTIONS}\n\n<conversation>\n{transcript}\n</conversation>"


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_PART_CHARS else text[:_MAX_PART_CHARS] + " […cut]"


def summary_message(summary: str) -> SystemMessage:
    """The system message that carries ``summary`` in the fitted history."""
    return SystemMessage(f"{SUMMARY_HEADER}\n{summary.strip()}")


def make_summarizer(provider: Provider, model: str, *, params: Mapping[str, Any] | None = None) -> Summarizer:
    """A summarizer that asks ``model`` through ``provider`` with :func:`summary_prompt`."""

    async def summarize(messages: Sequence[Message]) -> str:
        from .providers import ModelRequest

        request = ModelRequest(
            model=model,
            messages=(UserMessage(summary_prompt(messages)),),
            params=dict(params or {}),
        )
        response = await provider.complete(request)
        return response.message.content.strip()

    return summarize


_summary_cache: collections.OrderedDict[tuple[int, tuple[Message, ...]], tuple[Any, str]] = (
    collections.OrderedDict()
)
_SUMMARY_CACHE_SIZE = 16
_summary_lock = threading.Lock()  # agents may run on several event loops in several threads


async def _summarize(summarizer: Summarizer, dropped: tuple[Message, ...]) -> str:
    """Summaries are cached: the same dropped prefix is met again on every call of a long run."""
    key = (id(summarizer), dropped)
    try:
        with _summary_lock:
            hit = _summary_cache.get(key)
    except TypeError:  # unhashable content: no caching
        return await summarizer(dropped)
    if hit is not None and hit[0] is summarizer:  # the id of a collected summarizer may be reused
        return hit[1]
    text = await summarizer(dropped)
    with _summary_lock:
        _summary_cache[key] = (summarizer, text)
        while len(_summary_cache) > _SUMMARY_CACHE_SIZE:
            _summary_cache.popitem(last=False)
    return text


# -- fitting ----------------------------------------------------------------------------------

#: What an older tool result's text becomes when the window is short (see the module docs).
TRIMMED_RESULT = "[older tool result removed to fit the context window]"


def _units(messages: Sequence[Message]) -> tuple[list[list[int]], set[int]]:
    """Droppable groups of message indices, oldest first, and the indices that must stay."""
    last_user = max((i for i, m in enumerate(messages) if isinstance(m, UserMessage)), default=None)
    keep = {i for i, m in enumerate(messages) if isinstance(m, SystemMessage)}
    units: list[list[int]] = []
    end_of_history = last_user if last_user is not None else 0
    # Whole turns before the latest user message: a turn starts at a user message.
    current: list[int] = []
    for i in range(end_of_history):
        if i in keep:
            continue
        if isinstance(messages[i], UserMessage) and current:
            units.append(current)
            current = []
        current.append(i)
    if current:
        units.append(current)
    if last_user is not None:
        keep.add(last_user)
    # Steps of the current run: an assistant message and the tool results that follow it.
    steps: list[list[int]] = []
    for i in range(end_of_history, len(messages)):
        if i in keep:
            continue
        if steps and isinstance(messages[i], ToolMessage):
            steps[-1].append(i)
        else:
            steps.append([i])
    if steps:
        keep.update(steps.pop())
    return units + steps, keep


def _split_model(model: str) -> tuple[str | None, str]:
    provider, slash, name = model.partition("/")
    return (provider, name) if slash and name else (None, model)


def _trim_results(
    msgs: list[Message], costs: list[int], keep: set[int], total: int, target: int, counter: Callable[[str], int]
) -> int:
    """Replace the text of older tool results by :data:`TRIMMED_RESULT`, oldest first, until
    ``total`` is down to ``target``; changes ``msgs`` and ``costs``, returns the new total."""
    for i, message in enumerate(msgs):
        if total <= target:
            break
        if i in keep or not isinstance(message, ToolMessage) or message.content == TRIMMED_RESULT:
            continue
        short = attrs.evolve(message, content=TRIMMED_RESULT)
        cost = message_tokens(short, counter)
        if cost < costs[i]:
            msgs[i] = short
            total -= costs[i] - cost
            costs[i] = cost
    return total


def _drop(units: list[list[int]], costs: list[int], total: int, target: int) -> tuple[set[int], int]:
    dropped: set[int] = set()
    for unit in units:
        if total <= target:
            break
        dropped.update(unit)
        total -= sum(costs[i] for i in unit)
    return dropped, total


async def fit_messages(
    messages: Sequence[Message],
    *,
    model: str,
    window: int,
    reserve: int,
    strategy: Literal["trim", "summarize"] | str = "trim",
    summarizer: Summarizer | None = None,
    tools: Sequence[ToolSpec] = (),
    host: PluginHost | None = None,
) -> list[Message]:
    """The messages to send so the request fits ``window`` tokens with ``reserve`` left for the answer.

    :param messages: The whole request history, oldest first (system messages included).
    :param model: The model string (``"openai/gpt-4o"``), for counting tokens and in errors.
    :param window: The model's context window in tokens.
    :param reserve: Tokens kept free for the answer (usually the ``max_tokens`` parameter).
    :param strategy: ``"trim"`` drops the oldest history; ``"summarize"`` also inserts a
        summary of what was dropped, made by ``summarizer``.
    :param summarizer: ``await summarizer(dropped_messages) -> str``; see :func:`make_summarizer`.
    :param tools: The tool specs sent with the request; their JSON counts against the window.

    Returns a new list; the input is not changed. Raises
    :class:`~agentkit.errors.ContextLengthError` when what must stay does not fit.
    """
    if strategy not in ("trim", "summarize"):
        raise ValueError(f"unknown context strategy {strategy!r}; use 'trim' or 'summarize'")
    if strategy == "summarize" and summarizer is None:
        raise ValueError("context strategy 'summarize' needs a summarizer (async (messages) -> str)")
    msgs = list(messages)
    counter = counter_for(model, host=host)
    fixed = 3  # the tokens priming the reply, as in count_message_tokens
    if tools:
        fixed += sum(
            counter(
                json.dumps({"name": t.name, "description": t.description, "parameters": dict(t.parameters)})
            )
            for t in tools
        )
    budget = window - reserve - fixed
    costs = [message_tokens(m, counter) for m in msgs]
    total = sum(costs)
    if total <= budget:
        return msgs

    units, keep = _units(msgs)
    must = sum(costs[i] for i in keep)
    if must > budget:
        provider, name = _split_model(model)
        raise ContextLengthError(
            f"the system messages and the latest input need {must + fixed} tokens, but the context window "
            f"is {window} tokens with {reserve} reserved for the answer",
            provider=provider,
            model=name,
            hint="shorten the input or the system prompt, lower the answer reserve (max_tokens), "
            "or give a larger context_window if the model supports one",
        )

    total = _trim_results(msgs, costs, keep, total, budget, counter)
    if total <= budget:
        return msgs
    if strategy == "trim":
        dropped, total = _drop(units, costs, total, budget)
        return [m for i, m in enumerate(msgs) if i not in dropped]

    assert summarizer is not None
    allowance = min(1024, budget // 4)
    dropped, kept_total = _drop(units, costs, total, budget - allowance)
    if kept_total > budget - allowance:
        dropped, kept_total = _drop(units, costs, total, budget)
    kept = [m for i, m in enumerate(msgs) if i not in dropped]
    gone = tuple(m for i, m in enumerate(messages) if i in dropped)  # whole, as they were
    try:
        text = await _summarize(summarizer, gone)
    except Exception as exc:  # a failed summary must not fail the run: the trim still stands
        log.warning(
            "summarizing %d dropped messages failed (%s: %s); trimming only",
            len(gone),
            type(exc).__name__,
            exc,
        )
        return kept
    message = _fit_summary(text, budget - kept_total, counter)
    if message is None:
        return kept
    # Where the dropped messages were: after the system prompt, before what came after them.
    first_dropped = min(dropped)
    kept.insert(sum(1 for i in range(first_dropped) if i not in dropped), message)
    return kept


def _fit_summary(text: str, room: int, counter: Callable[[str], int]) -> SystemMessage | None:
    """The summary message, cut to fit ``room`` tokens; ``None`` when there is no useful room."""
    text = text.strip()
    if not text:
        return None
    message = summary_message(text)
    if message_tokens(message, counter) <= room:
        return message
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        mid = math.ceil((low + high) / 2)
        if message_tokens(summary_message(text[:mid] + "…"), counter) <= room:
            low = mid
        else:
            high = mid - 1
    if low < 20:
        return None
    return summary_message(text[:low] + "…")


# -- cost -------------------------------------------------------------------------------------

_PRICE_KEYS = ("input", "output", "cached_input", "cache_write_input")


def cost_of(usage: Usage, model: str, prices: Mapping[str, Mapping[str, float]] | None) -> float | None:
    """What ``usage`` cost in dollars, or ``None`` when no price in ``prices`` applies to ``model``.

    ``prices`` maps a model name or glob (``"gpt-4o-mini"``, ``"openai/*"``) to dollars per
    million tokens: ``{"input": ..., "output": ..., "cached_input": ..., "cache_write_input": ...}``.
    An exact name wins, then the most specific glob. Input tokens read from the prompt cache
    cost ``cached_input`` and those written to it ``cache_write_input`` (both default to the
    input price); reasoning tokens are part of the output tokens, as providers bill them.
    """
    if not prices:
        return None
    price = _price_for(model, prices)
    if price is None:
        return None
    input_price = price.get("input", 0.0)
    cached_price = price.get("cached_input", input_price)
    write_price = price.get("cache_write_input", input_price)
    output_price = price.get("output", 0.0)
    total_input = max(usage.input_tokens, 0)
    cached = min(max(usage.cached_tokens, 0), total_input)
    written = min(max(usage.cache_creation_tokens, 0), total_input - cached)
    uncached = total_input - cached - written
    return (
        uncached * input_price + cached * cached_price + written * write_price + usage.output_tokens * output_price
    ) / 1_000_000


def _price_for(model: str, prices: Mapping[str, Mapping[str, float]]) -> Mapping[str, float] | None:
    lowered = model.strip().lower()
    bare = _split_model(lowered)[1]
    exact = {str(k).strip().lower(): (k, v) for k, v in prices.items()}
    for name in (lowered, bare):
        if name in exact:
            return _checked_price(*exact[name])
    found = _best_match(model, {k: (k, v) for k, v in prices.items() if any(c in str(k) for c in "*?[|")})
    return None if found is None else _checked_price(*found)


def _checked_price(pattern: str, price: Any) -> Mapping[str, float]:
    if not isinstance(price, Mapping):
        raise ConfigError(
            f"a price is a table like {{input = 0.15, output = 0.60}} (dollars per million tokens); "
            f"got {type(price).__name__}",
            key_path=f"prices.{pattern}",
        )
    for key, value in price.items():
        if key not in _PRICE_KEYS:
            raise ConfigError(
                f"unknown price key {key!r}; price keys: {', '.join(_PRICE_KEYS)}",
                key_path=f"prices.{pattern}.{key}",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"a price is a number >= 0 (dollars per million tokens); got {value!r}",
                key_path=f"prices.{pattern}.{key}",
            )
    return {k: float(v) for k, v in price.items()}
