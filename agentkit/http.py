"""HTTP plumbing for provider plugins: timeouts, retries, stream framing, error mapping.

The promises of docs/reliability.md about calling providers live here once, so every HTTP
provider keeps them:

- timeouts on connect, on the first byte (generous, for a local model loading), between
  bytes, and a total deadline for the whole exchange (httpx has none of its own);
- retries (2 by default) on connection errors, timeouts before any output, 408, 409, 429
  and 5xx, with capped exponential backoff and jitter, honouring ``retry-after-ms`` and
  ``Retry-After`` (seconds or an HTTP date) up to a cap, beyond which a
  :class:`~agentkit.errors.RateLimitError` carries the wait;
- never a retry once the caller has seen a byte of the stream;
- errors typed by status and body, naming provider and model, quoting a short snippet.

Provider plugins build an :class:`HttpClient`; :meth:`HttpClient.request_json` sends a request
and returns its JSON, :meth:`HttpClient.stream` yields what a reader makes of a streamed body
(resending it while nothing reached the caller), and :meth:`HttpClient.open` gives the opened
response itself. Bodies are read with :func:`aiter_sse` or :func:`aiter_ndjson`.

The stream framing (``agentkit._framing``) and the retry policy (``agentkit._retry``) are
modules of their own; their public names are imported from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import attrs
import httpx

from . import _blocking, _direct
from ._framing import SseEvent, aiter_ndjson, aiter_sse
from ._framing import aiter_lines as aiter_lines
from ._retry import RETRYABLE_STATUS as RETRYABLE_STATUS
from ._retry import Retries, is_retryable, parse_retry_after
from .errors import (
    AgentkitError,
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    IncompleteStreamError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

E = TypeVar("E", bound=AgentkitError)
T = TypeVar("T")

__all__ = [
    "HttpClient",
    "HttpSettings",
    "OpenResponse",
    "Retries",
    "SseEvent",
    "aiter_ndjson",
    "aiter_sse",
    "error_for_status",
    "is_retryable",
    "is_secret_header",
    "parse_retry_after",
    "redact_headers",
]

log = logging.getLogger("agentkit.http")

#: Header names whose values are secrets (``authorization``, ``api-key``, ``x-goog-api-key``,
#: ``x-auth-token``, ``cookie``...): redacted in logs, and taken out of error text.
_SECRET_HEADER = re.compile(r"auth|key|token|secret|passw|cookie|session|signature", re.IGNORECASE)
#: Shorter values are not redacted: no real credential is this short, and replacing a value
#: like ``"x"`` (common for local servers) would garble every error message.
MIN_SECRET_LENGTH = 8
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "maximum context",
    "context window",
    "too many tokens",
    "prompt is too long",
    "exceeds the context",
    "reduce the length",
)


@attrs.frozen
class HttpSettings:
    """Timeouts (seconds) and retry policy of one provider."""

    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # idle time allowed between two reads
    first_byte_timeout: float = 300.0  # until the response starts (a local model may be loading)
    total_timeout: float = 600.0  # the whole exchange, retries included
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_wait: float = 60.0  # a longer Retry-After raises RateLimitError instead
    end_grace: float = 1.0  # once the answer is complete, how long to wait for the end of the body

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter for retry number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def is_secret_header(name: str) -> bool:
    """Whether a header's value is a secret (its name mentions a key, token, auth, ...)."""
    return _SECRET_HEADER.search(name) is not None


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with secrets replaced, for debug logs."""
    return {k: ("<redacted>" if is_secret_header(k) else v) for k, v in headers.items()}


def error_for_status(
    status: int,
    body: str,
    *,
    provider: str,
    model: str | None,
    env_var: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The typed error for an HTTP error response. Bodies are quoted as a short snippet."""
    message = _error_message(body)
    lowered = body.lower()
    common: dict[str, Any] = {"provider": provider, "model": model, "status_code": status, "body": message}
    if status in (401, 403):
        return AuthenticationError(
            "authentication failed" if status == 401 else "permission denied", env_var=env_var, **common
        )
    if status == 429:
        return RateLimitError("rate limited", retry_after=retry_after, **common)
    if any(m in lowered for m in _CONTEXT_MARKERS):
        return ContextLengthError("the request does not fit the model's context window", **common)
    if status == 404 and ("model" in lowered or not lowered.strip()):
        return ModelNotFoundError("model not found", **common)
    if status in (408, 504):
        return ProviderTimeoutError("the server timed out", **common)
    if status >= 500 or status == 409:
        return ServerError("server error", **common)
    return BadRequestError("request rejected", **common)


def _error_message(body: str) -> str:
    """The human part of an error body: ``error.message`` when the body is JSON."""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return body
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("msg")
            code = err.get("code") or err.get("type")
            if msg:
                return f"{msg} [{code}]" if code and str(code) not in str(msg) else str(msg)
        elif isinstance(err, str):
            return err
    return body




_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...), as httpx reads it."""
    import urllib.request

    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host.split(":", 1)[0] if not host.startswith("[") else host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _pool_proxy(url: str) -> tuple[bool, str | None]:
    """Whether agentkit's own connection pools can reach ``url`` (not behind a SOCKS proxy,
    which only httpx's transport speaks), and the ``http://``/``https://`` proxy to go through."""
    proxy = _proxy_for(url)
    if proxy is not None and not proxy.startswith(("http://", "https://")):
        return False, None
    return True, proxy


class HttpClient:
    """An httpx client per event loop, with the retry and timeout policy of :class:`HttpSettings`.

    ``error_hook(status, body, retry_after)`` may return a provider-specific error (or
    ``None`` to use :func:`error_for_status`).
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        settings: HttpSettings | None = None,
        env_var: str | None = None,
        error_hook: Callable[[int, str, float | None], ProviderError | None] | None = None,
        transport: Any = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self.settings = settings or HttpSettings()
        self.env_var = env_var
        self._error_hook = error_hook
        self._transport = transport
        # Each loop's client, with the async generator that closes it when asyncio.run() (or any
        # loop.shutdown_asyncgens()) ends that loop.
        self._clients: dict[
            int, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient, AsyncIterator[None], _direct.DirectSender | None]
        ] = {}
        self._lock = threading.Lock()
        self._blocking: httpx.AsyncClient | None = None
        self._blocking_direct: _direct.DirectSender | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def __repr__(self) -> str:  # never show headers: they hold the key
        return f"HttpClient(provider={self.provider!r}, base_url={self.base_url!r})"

    def _client(self) -> tuple[httpx.AsyncClient, _direct.DirectSender | None]:
        """The running loop's client, and the sender that skips its client layer (if it can)."""
        loop = asyncio.get_running_loop()
        if self._transport is None and _blocking.is_blocking_loop(loop):
            blocking = self._blocking or self._blocking_client()
            if blocking is not None:
                return blocking, self._blocking_direct
        entry = self._clients.get(id(loop))
        if entry is not None and entry[0] is loop and not entry[1].is_closed:
            return entry[1], entry[3]
        for key, (old_loop, *_rest) in list(self._clients.items()):
            if old_loop.is_closed():  # the loop that owned it is gone: drop it
                del self._clients[key]
        direct = None
        if self._transport is not None:  # the caller's transport: used the ordinary way
            client = self._new_client(self._transport)
        else:
            reachable, proxy = _pool_proxy(self.base_url)
            if not reachable:
                client = self._new_client(None)  # SOCKS: httpx's own transport speaks it
            else:
                transport = _direct.PoolTransport(limits=_LIMITS, proxy=proxy)
                client = self._new_client(transport, trust_env=False)
                direct = _direct.DirectSender(client, transport)
        self._clients[id(loop)] = (loop, client, _closed_with_loop(client), direct)
        return client, direct

    def _new_client(self, transport: Any, **options: Any) -> httpx.AsyncClient:
        s = self.settings
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            # httpx's read timeout also bounds the wait for the response headers, so it must allow
            # the (longer) first-byte wait; idle reads of the body are bounded in OpenResponse.
            timeout=httpx.Timeout(max(s.read_timeout, s.first_byte_timeout), connect=s.connect_timeout),
            transport=transport,
            limits=_LIMITS,
            verify=_blocking.shared_ssl_context(),
            **options,
        )

    def _blocking_client(self) -> httpx.AsyncClient | None:
        """The client of synchronous runs: blocking I/O on a pool of this client's own, which
        outlives the runs' event loops (see :mod:`agentkit._blocking`); ``None`` behind a proxy
        it cannot speak (SOCKS), where the usual client per loop serves."""
        with self._lock:
            if self._blocking is None:
                reachable, proxy = _pool_proxy(self.base_url)
                if not reachable:
                    return None
                transport = _blocking.BlockingTransport(limits=_LIMITS, proxy=proxy)
                self._blocking = self._new_client(transport, trust_env=False)
                self._blocking_direct = _direct.DirectSender(self._blocking, transport)
                # A client dropped without aclose() closes its sockets when collected (and at
                # exit), so sync code that never closes its agent leaks nothing and warns of nothing.
                self._finalizer = weakref.finalize(self, transport.close)
            return self._blocking

    async def aclose(self) -> None:
        """Close this loop's client and the pool of synchronous runs (it reconnects if used again);
        clients of other loops are dropped with their loops."""
        with self._lock:
            blocking, self._blocking, self._blocking_direct = self._blocking, None, None
        if blocking is not None:
            await blocking.aclose()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        entry = self._clients.pop(id(loop), None)
        if entry is not None:
            await entry[1].aclose()
            await entry[2].aclose()  # type: ignore[attr-defined]  # an async generator

    def redact(self, text: str) -> str:
        """``text`` with every secret this client sends (the values of its secret headers) replaced.

        For error text, logs and reprs only, never for a response: servers sometimes echo the
        key they were given in an error body, which must not reach an exception or a log, but
        an answer is the model's and is passed on as it is. Subclasses that hold more secrets
        extend this (call ``super().redact(text)``). Values shorter than
        :data:`MIN_SECRET_LENGTH` are left alone.
        """
        for secret in self._secrets():
            text = text.replace(secret, "<redacted>")
        return text

    def redact_error(self, error: E) -> E:
        """``error`` (changed in place) with :meth:`redact` applied to its message, body and hint."""
        for name in ("message", "body", "hint"):
            value = getattr(error, name, None)
            if isinstance(value, str):
                setattr(error, name, self.redact(value))
        error.args = tuple(self.redact(a) if isinstance(a, str) else a for a in error.args)
        return error

    def _secrets(self) -> list[str]:
        found: set[str] = set()
        for name, value in self._headers.items():
            if not value or not is_secret_header(name):
                continue
            found.add(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.add(token.strip())
        return sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)

    def error(self, status: int, body: str, model: str | None, retry_after: float | None = None) -> ProviderError:
        body = self.redact(body)
        if self._error_hook is not None:
            custom = self._error_hook(status, body, retry_after)
            if custom is not None:
                return custom
        return error_for_status(
            status, body, provider=self.provider, model=model, env_var=self.env_var, retry_after=retry_after
        )

    async def open(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        model: str | None = None,
        deadline: float | None = None,
        retries: Retries | None = None,
    ) -> OpenResponse:
        """Send a request, retrying per policy, and return the open (streaming) response.

        The response's status is 2xx. The caller reads it with :meth:`OpenResponse.aiter_bytes`
        (or :func:`aiter_sse` / :func:`aiter_ndjson`) and closes it with ``aclose()``.
        ``retries`` carries the retry budget and deadline across several sends of one exchange
        (when reading the body failed and the request is sent again); by default a new one.
        """
        s = self.settings
        if retries is None:
            retries = Retries(self, model, deadline)
        deadline = retries.deadline
        client, direct = self._client()
        if json_body is None or (direct is not None and not direct.usable()):
            direct = None
        # One timer for the whole exchange: the send here, then every read of the body.
        watchdog = _Watchdog(min(s.first_byte_timeout, s.read_timeout))
        try:
            while True:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s %s%s headers=%s",
                        method,
                        self.base_url,
                        path,
                        redact_headers(dict(client.headers)),
                    )
                request = None if direct is not None else client.build_request(method, path, json=json_body)
                now = time.monotonic()
                if now >= deadline:
                    raise ProviderTimeoutError(
                        f"no response within the total deadline of {s.total_timeout:g}s",
                        provider=self.provider,
                        model=model,
                    )
                watchdog.guard(now, min(deadline, now + s.first_byte_timeout))
                retry_after = None
                try:
                    if direct is None:
                        response = await client.send(request, stream=True)  # type: ignore[arg-type]
                    elif direct.blocking:  # a sync run: blocking I/O; httpx's client layer done once
                        response = direct.send(method, path, json_body)
                    else:
                        response = await direct.asend(method, path, json_body)
                except BaseException as exc:
                    if watchdog.release(exc):  # the first-byte timeout or the deadline
                        error: ProviderError = ProviderTimeoutError(
                            f"no response from {self.base_url} (TimeoutError)",
                            provider=self.provider,
                            model=model,
                        )
                    elif isinstance(exc, (TimeoutError, httpx.TimeoutException)):
                        error = ProviderTimeoutError(
                            f"no response from {self.base_url} ({type(exc).__name__})",
                            provider=self.provider,
                            model=model,
                        )
                    elif isinstance(exc, httpx.TransportError):
                        error = ProviderConnectionError(
                            f"cannot connect to {self.base_url} ({type(exc).__name__}: {exc})",
                            provider=self.provider,
                            model=model,
                        )
                    else:
                        raise
                else:
                    watchdog.release()
                    if response.status_code < 400:
                        return OpenResponse(response, self, model, deadline, watchdog)
                    try:
                        async with asyncio.timeout(
                            max(0.0, min(deadline - time.monotonic(), s.read_timeout))
                        ):
                            body = (await _read_capped(response, 64 * 1024)).decode("utf-8", "replace")
                    except (TimeoutError, httpx.HTTPError):
                        body = ""  # the status says enough; a stalled or broken error body must not hang us
                    finally:
                        await response.aclose()
                    retry_after = parse_retry_after(response.headers)
                    error = self.error(response.status_code, body, model, retry_after)
                await retries.pause(error, retry_after)
        except BaseException:
            watchdog.disarm()  # no timer outlives a failed open
            raise

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        model: str | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Send a request and return its JSON body.

        Retried per policy like :meth:`open`, and also when the body breaks or stalls before it
        was read whole: nothing has reached the caller yet, so sending again is safe.
        """
        retries = Retries(self, model, deadline)
        while True:
            response = await self.open(method, path, json_body=json_body, model=model, retries=retries)
            broken: ProviderError | None = None
            try:
                body = await response.read()
            except (IncompleteStreamError, ProviderTimeoutError) as exc:
                broken = exc
            finally:
                await response.aclose()
            if broken is None:
                break
            await retries.pause(broken)
        return self.parse_json(body, model)

    async def stream(
        self,
        method: str,
        path: str,
        read: Callable[[OpenResponse], AsyncGenerator[T, None]],
        *,
        json_body: Any = None,
        model: str | None = None,
    ) -> AsyncIterator[T]:
        """Send a request and yield what ``read(response)`` makes of its body (a provider's
        events), closing the response however it ends.

        A failure before anything was yielded (the send, or a :class:`ProviderError` that
        ``read`` raises: a cut, a stall, an error event) sends the request again, per policy
        (:class:`Retries`); once the caller has seen an item, never. Errors are redacted.
        """
        retries = Retries(self, model)
        while True:
            response = await self.open(method, path, json_body=json_body, model=model, retries=retries)
            delivered = False
            failure: ProviderError | None = None
            try:
                async with contextlib.aclosing(read(response)) as items:
                    async for item in items:
                        delivered = True
                        yield item
            except ProviderError as exc:
                if delivered:
                    raise self.redact_error(exc) from None
                failure = self.redact_error(exc)
            finally:
                await response.aclose()
            if failure is None:
                return
            await retries.pause(failure)  # nothing reached the caller yet: send it again

    def parse_json(self, body: bytes, model: str | None = None) -> Any:
        """``body`` parsed as JSON; one that is not JSON is a :class:`~agentkit.errors.ProviderError`
        quoting it (secrets redacted) and asking whether the URL is the right server."""
        try:
            return json.loads(body)
        except ValueError:
            raise self.redact_error(
                ProviderError(
                    "the server answered with something that is not JSON",
                    provider=self.provider,
                    model=model,
                    body=body.decode("utf-8", "replace"),
                    hint=f"is {self.base_url} a {self.provider} server? (check base_url)",
                )
            ) from None


def _closed_with_loop(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """An async generator, started on the running loop, that closes ``client`` when the loop
    shuts its async generators down (``asyncio.run()`` does, before closing the loop).

    ``asyncio.run(agent.arun(...))`` in a loop makes a client per call: without this, each
    left its connections to be collected with the closed loop, unclosed (ResourceWarning).
    """

    async def closer() -> AsyncIterator[None]:
        try:
            yield
        finally:
            if not client.is_closed:
                await client.aclose()

    generator = closer()
    step = generator.__anext__()  # the loop's first-iteration hook registers the generator
    try:
        step.send(None)  # type: ignore[attr-defined]  # runs to its yield at once
    except StopIteration:
        pass
    return generator


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    out = bytearray()
    async for chunk in response.aiter_raw():
        out += chunk
        if len(out) >= limit:
            break
    return bytes(out[:limit])


class _Watchdog:
    """One timer guarding the waits of one exchange: the send, then each read of the body.

    ``asyncio.timeout()`` around every read costs a Timeout, a TimerHandle, a heap push and a
    cancel per chunk. Here a guarded wait (:meth:`guard` ... :meth:`release`) only notes its task
    and when it must be over; the one timer is armed no later than that, and when it fires early
    (the waits moved on meanwhile) it re-arms for the current wait's expiry. A wait that is
    really over gets its task cancelled the way ``asyncio.timeout`` does it: ``cancel()``, then
    ``uncancel()`` in :meth:`release`, so a cancellation from outside still propagates as
    CancelledError. Between waits (while the caller holds a chunk) nothing is ever cancelled.
    """

    __slots__ = ("_armed", "_cancelling", "_expires", "_fired", "_handle", "_step", "_task")

    def __init__(self, step: float) -> None:
        self._step = step  # arm at most this far ahead of a wait's start: the shortest timeout
        self._handle: asyncio.TimerHandle | None = None
        self._armed = 0.0  # when the timer fires (time.monotonic())
        self._task: asyncio.Task[Any] | None = None  # the task in a guarded wait, if any
        self._cancelling = 0  # its cancelling() count when the wait began
        self._expires = 0.0  # when the current wait is over
        self._fired: asyncio.Task[Any] | None = None  # the task this watchdog cancelled

    def guard(self, now: float, expires: float) -> None:
        """A wait begins at ``now`` (time.monotonic()) in the current task; it must end by ``expires``."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a guarded wait must run inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._expires = expires
        _blocking.wait_until(expires)  # a blocking read (sync runs) cannot be cut by the timer
        if self._handle is None:
            self._arm(min(expires, now + self._step), now)
        elif expires < self._armed:
            self._arm(expires, now)

    def release(self, exc: BaseException | None = None) -> bool:
        """The wait ended (with ``exc``, if it raised); True when it was cut by the watchdog: a timeout."""
        self._task = None
        _blocking.wait_until(None)
        task = self._fired
        if task is None:
            return False
        self._fired = None
        return task.uncancel() <= self._cancelling and isinstance(exc, asyncio.CancelledError)

    def disarm(self) -> None:
        """No more waits: drop the timer."""
        self._task = None
        _blocking.wait_until(None)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, when: float, now: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = when
        self._handle = asyncio.get_running_loop().call_later(max(0.0, when - now), self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        task = self._task
        if task is None:
            return  # no wait in progress: the next guard() arms again
        now = time.monotonic()
        if now < self._expires:
            self._arm(self._expires, now)  # the wait started after the timer was set
            return
        self._fired = task
        task.cancel()


class OpenResponse:
    """A 2xx response being read, under the idle and total deadlines."""

    def __init__(
        self,
        response: httpx.Response,
        client: HttpClient,
        model: str | None,
        deadline: float,
        watchdog: _Watchdog | None = None,
    ) -> None:
        self.response = response
        self._client = client
        self._model = model
        self._deadline = deadline
        s = client.settings
        self._watchdog = watchdog or _Watchdog(min(s.first_byte_timeout, s.read_timeout))
        self._end_grace: float | None = None

    def expect_end(self) -> None:
        """The answer is complete (a stream's ``finish_reason`` arrived): from now on a silence of
        ``end_grace`` seconds ends the body quietly instead of failing as a stall.

        What may still come (an end marker such as ``[DONE]``, a usage chunk) is waited for only
        that long, so a server that keeps the connection open after the answer costs a moment,
        not the read timeout and the answer.
        """
        self._end_grace = self._client.settings.end_grace

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Decoded body bytes; a stall or the deadline raises ProviderTimeoutError, a cut IncompleteStreamError."""
        s = self._client.settings
        deadline = self._deadline
        watchdog = self._watchdog
        iterator = self.response.aiter_bytes().__aiter__()
        idle = s.first_byte_timeout  # headers may come before the model is ready: wait longer once
        first = True
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    raise ProviderTimeoutError(
                        f"the response did not finish within the total deadline of {s.total_timeout:g}s",
                        provider=self._client.provider,
                        model=self._model,
                    )
                grace = self._end_grace
                watchdog.guard(now, min(deadline, now + (idle if grace is None else grace)))
                try:
                    chunk = await iterator.__anext__()
                except BaseException as exc:
                    if (
                        watchdog.release(exc)  # the read or total limit
                        or isinstance(exc, (TimeoutError, httpx.TimeoutException))  # a blocking read's (sync runs)
                    ):
                        if grace is not None:
                            return  # the answer was complete; the server just did not hang up
                        raise self._stalled(first=first, total=deadline - now <= idle) from None
                    if isinstance(exc, StopAsyncIteration):
                        return
                    if isinstance(exc, httpx.TransportError):
                        raise IncompleteStreamError(
                            f"the connection broke mid-response ({type(exc).__name__})",
                            provider=self._client.provider,
                            model=self._model,
                        ) from None
                    raise
                watchdog.release()
                idle, first = s.read_timeout, False
                yield chunk
        finally:
            watchdog.disarm()

    def _stalled(self, *, first: bool, total: bool) -> ProviderTimeoutError:
        """The error for a body that stopped: which limit ran out, and the setting that moves it."""
        s = self._client.settings
        if total:
            message = f"the response did not finish within the total deadline of {s.total_timeout:g}s"
            hint = "raise total_timeout, or ask for a shorter answer (max_tokens)"
        elif first:
            message = f"the response stalled: nothing within the first-byte timeout of {s.first_byte_timeout:g}s"
            hint = "a local model may need long to load: raise first_byte_timeout"
        else:
            message = f"the response stalled: nothing for {s.read_timeout:g}s (read_timeout)"
            hint = "check the server's log; raise read_timeout for a very slow server"
        return ProviderTimeoutError(message, provider=self._client.provider, model=self._model, hint=hint)

    async def read(self) -> bytes:
        """The whole body, under the same deadlines as :meth:`aiter_bytes`."""
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def json(self) -> Any:
        """The whole body as JSON, under the same deadlines as :meth:`aiter_bytes`; a body that is
        not JSON is a :class:`~agentkit.errors.ProviderError` quoting it (secrets redacted)."""
        return self._client.parse_json(await self.read(), self._model)

    async def aclose(self) -> None:
        self._watchdog.disarm()
        await self.response.aclose()
