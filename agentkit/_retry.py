"""The retry policy of provider requests: which failures are retried, how long to wait, when to stop.

Retries (``max_retries``, 2 by default) on connection errors, timeouts before any output, 408,
409, 429 and 5xx, with capped exponential backoff and jitter, honouring ``retry-after-ms`` and
``Retry-After`` (seconds or an HTTP date) up to a cap, beyond which a
:class:`~agentkit.errors.RateLimitError` carries the wait; never past the exchange's total
deadline. :class:`~agentkit.http.HttpClient` applies it; public as :mod:`agentkit.http`'s
:class:`~agentkit.http.Retries`, :func:`~agentkit.http.is_retryable` and
:func:`~agentkit.http.parse_retry_after`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import (
    ContextLengthError,
    IncompleteStreamError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

if TYPE_CHECKING:
    from .http import HttpClient

__all__ = ["RETRYABLE_STATUS", "Retries", "is_retryable", "parse_retry_after"]

log = logging.getLogger("agentkit.http")

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529})


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Retries:
    """The retry budget and total deadline of one exchange, shared by every send of its request.

    :meth:`pause` is called with each failure: it waits before the next attempt (the server's
    ``Retry-After``, else capped exponential backoff with jitter), or raises the failure when it
    may not be retried: not a connection error, a timeout, a cut body or a retryable status
    (408, 409, 429, 5xx; never a context-length error), the budget is spent, or the wait would
    pass the deadline. A provider that reads a stream calls it only while nothing has reached
    its caller.
    """

    def __init__(self, client: HttpClient, model: str | None = None, deadline: float | None = None) -> None:
        self.settings = s = client.settings
        self.deadline = deadline if deadline is not None else time.monotonic() + s.total_timeout
        self.attempts = 0  # failures so far
        self._client = client
        self._model = model

    async def pause(self, error: ProviderError, retry_after: float | None = None) -> None:
        """Wait before sending again, or raise ``error`` (see the class docs)."""
        s = self.settings
        self.attempts += 1
        if not is_retryable(error):
            raise error
        if retry_after is not None and retry_after > s.max_retry_wait:
            raise RateLimitError(
                f"asked to wait {retry_after:g}s, more than the {s.max_retry_wait:g}s cap",
                provider=self._client.provider,
                model=self._model,
                status_code=error.status_code,
                retry_after=retry_after,
            )
        if self.attempts > s.max_retries:
            raise error
        wait = retry_after if retry_after is not None else s.backoff(self.attempts)
        if time.monotonic() + wait >= self.deadline:
            raise error
        log.info("%s: retrying after %.2fs (%s)", self._client.provider, wait, error)
        await asyncio.sleep(wait)


def is_retryable(error: ProviderError) -> bool:
    """Whether sending the request again may help: a retryable status (408, 409, 429, 5xx), a
    connection error, a timeout or a cut body; never a context-length error."""
    if isinstance(error, ContextLengthError):
        return False
    if error.status_code is not None:
        return error.status_code in RETRYABLE_STATUS
    return isinstance(error, (ProviderConnectionError, ProviderTimeoutError, IncompleteStreamError, ServerError))
