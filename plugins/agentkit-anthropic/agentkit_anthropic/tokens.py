"""Counting Claude's tokens: an offline estimate by default, the ``count_tokens`` endpoint when enabled.

Claude's tokenizer is not published, so without the API a count is an estimate:
``ceil(UTF-8 bytes / 3.5)``, which errs on the high side for English text and code (tiktoken's
``cl100k_base`` counts some 10-20% fewer tokens than Claude does, which is unsafe when fitting
a context window). That estimate never touches the network.

``AGENTKIT_ANTHROPIC_COUNT_TOKENS`` turns on exact counts from ``POST /v1/messages/count_tokens``:
its value is the model whose tokenizer counts (``claude-sonnet-4-5``; ``1``, ``true`` or ``on``
mean :data:`DEFAULT_COUNT_MODEL`). The call uses ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``
as the provider does, through the same HTTP layer (timeouts, retries, typed errors). A counter
counts text, so the endpoint's overhead for a one-message request (measured once) is taken
off. Each distinct text is counted once (the answers are kept, up to :data:`CACHE_SIZE`). A
count is a blocking call, made in a worker thread; when it fails, the counter warns once on
the ``agentkit_anthropic`` logger and estimates instead, so a run never fails because of it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import threading
from collections import OrderedDict
from typing import Any

import attrs

__all__ = ["CACHE_SIZE", "DEFAULT_COUNT_MODEL", "ENABLE_ENV", "AnthropicTokenCounter", "estimate"]

log = logging.getLogger("agentkit_anthropic")

#: The environment variable that turns on counting by the API (its value: the model, or ``1``).
ENABLE_ENV = "AGENTKIT_ANTHROPIC_COUNT_TOKENS"
DEFAULT_COUNT_MODEL = "claude-sonnet-4-5"
CACHE_SIZE = 4096
_BYTES_PER_TOKEN = 3.5
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


def estimate(text: str) -> int:
    """The offline estimate: ``ceil(UTF-8 bytes / 3.5)``."""
    return math.ceil(len(text.encode("utf-8")) / _BYTES_PER_TOKEN) if text else 0


@attrs.frozen
class AnthropicTokenCounter:
    """``counter(text) -> tokens`` for Claude models (see the module docs). Hashable, so the core's
    per-message cache keeps working; the state of API counting lives in one shared object."""

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        model = _count_model()
        if model is None:
            return estimate(text)
        return _API.count(text, model)


def _count_model() -> str | None:
    value = os.environ.get(ENABLE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    return DEFAULT_COUNT_MODEL if value.lower() in _ON else value


class _ApiCounts:
    """Counts by the API, cached; one worker thread runs the calls on its own event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._overhead: dict[tuple[str, str], int] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._warned = False

    def count(self, text: str, model: str) -> int:
        from .provider import BASE_URL_ENV, DEFAULT_BASE_URL

        where = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        key = (where, model, text)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentkit-anthropic-count")
            pool = self._pool
        try:
            overhead = self._overhead.get((where, model))
            texts = [text] if overhead is not None else ["a", text]
            counts = pool.submit(asyncio.run, _count_all(texts, model)).result()
        except Exception as exc:  # counting must never fail a run: estimate instead
            if not self._warned:
                self._warned = True
                log.warning("counting tokens with the Anthropic API failed (%s); estimating instead", exc)
            return estimate(text)
        if overhead is None:
            overhead = max(counts[0] - 1, 0)  # "a" is one token
            self._overhead[(where, model)] = overhead
        tokens = max(counts[-1] - overhead, 1)
        with self._lock:
            self._cache[key] = tokens
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return tokens


async def _count_all(texts: list[str], model: str) -> list[int]:
    from agentkit.messages import UserMessage
    from agentkit.providers import ModelRequest

    from .provider import AnthropicProvider

    provider = AnthropicProvider(max_retries=1, total_timeout=30.0)
    try:
        return [await provider.count_tokens(ModelRequest(model, [UserMessage(t)])) for t in texts]
    finally:
        await provider.aclose()


_API = _ApiCounts()


def _reset_for_tests() -> Any:
    """Forget cached counts (tests point the counter at a new server)."""
    global _API
    _API = _ApiCounts()
    return _API
