"""How fast a batch job starts items: a concurrency bound that rate limits shrink, and a
backoff that every item waits out.

When a provider says "too many requests" (a :class:`~agentkit.errors.RateLimitError` that
its own retries could not absorb), the whole job slows down, not just that item: no item
starts until the provider's ``retry-after`` (or an exponential wait when it gave none) has
passed, and the number of items in flight is halved. Each success afterwards lets one more
item run, up to the job's bound again, so the job settles near what the provider allows.
"""

from __future__ import annotations

import asyncio
import random
import time

__all__ = ["Backoff", "Slots"]


class Slots:
    """At most ``limit`` items in flight; ``limit`` moves between 1 and ``bound``."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.limit = bound
        self.in_use = 0
        self.peak = 0
        self._streak = 0
        self._changed = asyncio.Event()

    async def acquire(self) -> None:
        while self.in_use >= self.limit:
            self._changed.clear()
            await self._changed.wait()
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def release(self) -> None:
        self.in_use -= 1
        self._changed.set()

    def shrink(self) -> None:
        """A rate limit: halve the number of items in flight."""
        self.limit = max(1, self.limit // 2)
        self._streak = 0

    def succeeded(self) -> None:
        """A success: after ``limit`` of them in a row, allow one more item in flight."""
        if self.limit >= self.bound:
            return
        self._streak += 1
        if self._streak >= self.limit:
            self._streak = 0
            self.limit += 1
            self._changed.set()


class Backoff:
    """A gate every item start waits at; a rate limit closes it for a while."""

    def __init__(self, *, base: float = 1.0, cap: float = 60.0) -> None:
        self.base = base
        self.cap = cap
        self.until = 0.0
        self.hits = 0
        self._strikes = 0

    def hit(self, retry_after: float | None) -> float:
        """Close the gate: for ``retry_after`` seconds when the provider said, else
        exponentially longer on each hit in a row (with jitter). Returns the wait."""
        self.hits += 1
        self._strikes += 1
        if retry_after is not None and retry_after >= 0:
            wait = min(float(retry_after), self.cap)
        else:
            wait = min(self.cap, self.base * 2 ** (self._strikes - 1))
        wait *= 1 + random.random() * 0.1  # spread the restarts a little
        self.until = max(self.until, time.monotonic() + wait)
        return wait

    def succeeded(self) -> None:
        self._strikes = 0

    async def wait(self) -> None:
        while (delay := self.until - time.monotonic()) > 0:
            await asyncio.sleep(delay)
