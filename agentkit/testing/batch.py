"""Testing batch jobs and executors: a fake model whose answers depend on the item, with
failures, rate limits and delays injected by item, and reading a results file back.

::

    from agentkit.testing.batch import ItemScript, read_results, write_inputs
    from agentkit.testing.fake_openai import FakeOpenAIServer

    script = ItemScript(failing=lambda n: n % 10 == 3, limited=lambda n: 1 if n == 5 else 0)
    with FakeOpenAIServer(script) as server:
        ...  # run a batch whose items say "item N" against server.base_url
    # every item is answered "answer to item N" (or an error), and script.attempts[N] counts
    # the requests item N took; server.max_in_flight is the most requests in flight at once.

agentkit's own batch tests use it for the ``local`` executor, agentkit-ray's for ``ray``; an
executor plugin's tests can run the same jobs.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .fake_openai import FakeReply

__all__ = ["SECRET", "ItemScript", "config_text", "item_number", "read_results", "write_inputs"]

#: The API key :func:`config_text` writes (not a real key).
SECRET = "sk-test-batch-not-a-real-key"
_ITEM = re.compile(r"item (\d+)")


def item_number(body: dict[str, Any]) -> int:
    """The number of the item a request is for (its last user message says ``item N``)."""
    for message in reversed(body.get("messages") or ()):
        if message.get("role") == "user":
            content = message.get("content")
            text = content if isinstance(content, str) else json.dumps(content)
            found = _ITEM.search(text)
            if found:
                return int(found.group(1))
    raise AssertionError(f"no item number in {body.get('messages')}")


class ItemScript:
    """A :class:`~agentkit.testing.fake_openai.FakeOpenAIServer` script answering
    ``answer to item N`` to the item whose input says ``item N``, with faults by item number.

    ``failing(n)``: answered HTTP 400 (a failure that is not retried). ``limited(n)``: the first
    ``limited(n)`` requests for item n are answered 429 with ``retry-after``. ``delay`` holds
    every answer that long; ``gate``, when set, holds answers until it is opened.
    """

    def __init__(
        self,
        *,
        failing: Callable[[int], bool] = lambda n: False,
        limited: Callable[[int], int] = lambda n: 0,
        retry_after: float = 0.02,
        delay: float = 0.0,
        gate: threading.Event | None = None,
        structured: bool = False,
    ) -> None:
        self.failing = failing
        self.limited = limited
        self.retry_after = retry_after
        self.delay = delay
        self.gate = gate
        self.structured = structured
        self.lock = threading.Lock()
        self.attempts: collections.Counter[int] = collections.Counter()
        self.rate_limited: list[tuple[float, int]] = []  # (time, item) of each 429
        self.arrivals: list[tuple[float, int]] = []

    def __call__(self, body: dict[str, Any]) -> Any:
        n = item_number(body)
        with self.lock:
            self.attempts[n] += 1
            attempt = self.attempts[n]
            self.arrivals.append((time.monotonic(), n))
        if self.gate is not None:
            self.gate.wait(60)
        if self.delay:
            time.sleep(self.delay)
        if attempt <= self.limited(n):
            with self.lock:
                self.rate_limited.append((time.monotonic(), n))
            return FakeReply(
                status=429,
                error={"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
                headers={"retry-after": str(self.retry_after)},
            )
        if self.failing(n):
            return FakeReply(
                status=400,
                error={"message": f"item {n} is refused", "type": "invalid_request_error", "code": None},
            )
        if self.structured:
            return json.dumps({"item": n, "label": "even" if n % 2 == 0 else "odd"})
        return f"answer to item {n}"


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every line of a results file, parsed (a torn line fails the test)."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "the results file ends in a torn line"
    return [json.loads(line) for line in text.splitlines()]


def write_inputs(path: Path, count: int, *, start: int = 0) -> Path:
    """A JSONL inputs file of ``count`` items ``{"id": "t-N", "input": "item N: ..."}``."""
    with path.open("w", encoding="utf-8") as handle:
        for n in range(start, start + count):
            handle.write(json.dumps({"id": f"t-{n}", "input": f"item {n}: triage this ticket"}) + "\n")
    return path


def config_text(base_url: str, *, body: str = "") -> str:
    """An ``agentkit.toml`` with agent ``triage`` on the fake server at ``base_url`` (provider
    retries off, so rate limits reach the batch job); ``body`` is appended."""
    return (
        f'[providers.openai]\nbase_url = "{base_url}"\napi_key = "{SECRET}"\nmax_retries = 0\n\n'
        '[agents.triage]\nmodel = "openai/gpt-4o-mini"\nsystem = "Triage tickets."\n' + body
    )
