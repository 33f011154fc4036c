"""The provider: Anthropic's Messages API over :class:`agentkit.http.HttpClient`.

The reliability rules (timeouts, a total deadline, retries of 429 and 529 with backoff and
``retry-after``, typed errors) live in :mod:`agentkit.http`; this module adds what is specific
to the Messages API: the ``x-api-key`` and ``anthropic-version`` headers, its error bodies,
its event stream, and a retry of a stream that failed before any event reached the caller
(an ``overloaded_error`` event as the first thing in a stream, a cut before the first
delta), never after.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from agentkit._provider_http import (
    KeyedHttpClient,
    check_setting_names,
    http_settings,
    missing_key_error,
    pop_headers,
    resolve_api_key,
)
from agentkit.errors import ConfigError, ProviderError
from agentkit.events import ModelResponse, ModelStreamEvent
from agentkit.http import OpenResponse, aiter_sse
from agentkit.providers import Capabilities, ModelInfo, ModelRequest, Provider

from .streaming import StreamAssembler
from .wire import (
    API_VERSION,
    DEFAULT_MAX_TOKENS,
    WireOptions,
    build_count_body,
    build_messages_body,
    error_for,
    parse_message,
    parse_models,
)

__all__ = ["DEFAULT_BASE_URL", "AnthropicProvider"]

log = logging.getLogger("agentkit_anthropic")

#: Where the API is; ``ANTHROPIC_BASE_URL`` (as the official SDKs read it) or ``base_url`` move it.
DEFAULT_BASE_URL = "https://api.anthropic.com"
ENV_VAR = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"

_OWN_SETTINGS = ("api_key_env", "headers", "cache", "cache_ttl", "max_tokens", "anthropic_version", "beta")


class _Client(KeyedHttpClient):
    """KeyedHttpClient that reads the Messages API's error bodies (the key is redacted by the base)."""

    def status_error(self, status: int, body: str, model: str | None, retry_after: float | None) -> ProviderError:
        body = self.redact(body)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        return error_for(
            status, payload, provider=self.provider, model=model, env_var=self.env_var, retry_after=retry_after, body=body
        )


class AnthropicProvider(Provider):
    """Claude through the Messages API: streaming and not, tools, images, thinking, prompt caching.

    :param base_url: where the API is (default ``https://api.anthropic.com``, or
        ``ANTHROPIC_BASE_URL``); a trailing ``/v1`` is allowed.
    :param api_key: the key itself. Otherwise ``api_key_env`` names the variable holding it,
        else ``ANTHROPIC_API_KEY`` is read.
    :param settings: ``cache`` (prompt caching, on by default), ``cache_ttl`` (``"5m"`` or
        ``"1h"``), ``max_tokens`` (the default when ``params`` has none:
        :data:`~agentkit_anthropic.wire.DEFAULT_MAX_TOKENS`), ``anthropic_version``, ``beta``
        (names for the ``anthropic-beta`` header), ``headers``, ``api_key_env``, and the
        timeouts and retry policy of :class:`agentkit.http.HttpSettings`.
    """

    name = "anthropic"

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, **settings: Any) -> None:
        check_setting_names(settings, _OWN_SETTINGS, provider="anthropic")
        env = os.environ
        url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = url[: -len("/v1")] if url.endswith("/v1") else url
        api_key_env = settings.pop("api_key_env", None)
        self.env_var: str = api_key_env or ENV_VAR
        self._key, self._key_source = resolve_api_key(api_key, self.env_var)
        headers = pop_headers(settings)
        version = settings.pop("anthropic_version", None) or API_VERSION
        beta = settings.pop("beta", None)
        if isinstance(beta, str):
            beta = [beta]
        self._headers = {"anthropic-version": str(version), **headers}
        if beta:
            self._headers["anthropic-beta"] = ",".join(str(b) for b in beta)
        max_tokens = settings.pop("max_tokens", DEFAULT_MAX_TOKENS)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigError(
                f"max_tokens must be a positive integer, not {max_tokens!r}", key_path="provider_settings.max_tokens"
            )
        ttl = settings.pop("cache_ttl", None)
        if ttl not in (None, "5m", "1h"):
            raise ConfigError(f"cache_ttl must be '5m' or '1h', not {ttl!r}", key_path="provider_settings.cache_ttl")
        self._options = WireOptions(cache=bool(settings.pop("cache", True)), cache_ttl=ttl, max_tokens=max_tokens)
        self.http_settings = http_settings(settings)
        # Structured output goes through the loop's forced final_answer tool, validated and
        # re-asked as for every provider without a native JSON mode.
        self.capabilities = Capabilities(
            streaming=True, tools=True, vision=True, structured_output=False, embeddings=False, list_models=True
        )
        self._client: _Client | None = None

    def __repr__(self) -> str:
        key = "set" if self._key is not None else "not set"
        return f"AnthropicProvider(base_url={self.base_url!r}, api_key={key})"

    # -- plumbing ---------------------------------------------------------------------------

    def _http(self, model: str | None) -> _Client:
        if self._key is None:
            raise missing_key_error(self.env_var, provider=self.name, model=model)
        if self._client is None:
            headers = {
                "accept": "application/json",
                "user-agent": "agentkit-anthropic/0.1",
                "x-api-key": self._key.reveal(),
                **self._headers,
            }
            self._client = _Client(
                auth_hint=f"the API refused {self._key_source}",
                provider=self.name,
                base_url=self.base_url,
                headers=headers,
                settings=self.http_settings,
                env_var=self.env_var,
            )
        return self._client

    def _body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        try:
            return build_messages_body(request, stream=stream, options=self._options)
        except ValueError as exc:
            raise ConfigError(str(exc), key_path="params") from None

    # -- the Provider API -------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One non-streaming call (``POST /v1/messages``)."""
        body = self._body(request, stream=False)
        client = self._http(request.model)
        data = await client.request_json("POST", "/v1/messages", json_body=body, model=request.model)
        try:
            return parse_message(data, provider=self.name, model=request.model)
        except ProviderError as exc:  # it may quote the body, which may echo a key
            raise client.redact_error(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        """One streaming call: deltas as they arrive, then the ModelResponse.

        A stream that fails before its first delta reached the caller (an ``error`` event such
        as ``overloaded_error``, a cut, a stall) is sent again within the retry budget and the
        total deadline (:meth:`agentkit.http.HttpClient.stream`); after that, never.
        """
        body = self._body(request, stream=True)
        client = self._http(request.model)
        async for event in client.stream(
            "POST", "/v1/messages", lambda response: self._read(response, request.model), json_body=body,
            model=request.model,
        ):
            yield event

    async def _read(self, response: OpenResponse, model: str) -> AsyncGenerator[ModelStreamEvent | ModelResponse, None]:
        """The events of one streamed response, then its ModelResponse."""
        assembler = StreamAssembler(provider=self.name, model=model, env_var=self.env_var)
        async for sse in aiter_sse(response.aiter_bytes()):
            if assembler.done:
                continue  # past message_stop: read to the end, so the connection can be reused
            for event in assembler.feed(sse.event, sse.data):
                yield event
            if assembler.done:
                response.expect_end()
        yield assembler.response()

    async def count_tokens(self, request: ModelRequest) -> int:
        """The input tokens ``request`` would take, from ``POST /v1/messages/count_tokens`` (free, but
        a network call; rate-limited apart from messages)."""
        client = self._http(request.model)
        data = await client.request_json(
            "POST", "/v1/messages/count_tokens", json_body=build_count_body(request), model=request.model
        )
        count = data.get("input_tokens") if isinstance(data, Mapping) else None
        if not isinstance(count, int):
            raise ProviderError(
                "count_tokens answered without input_tokens", provider=self.name, model=request.model, body=str(data)
            )
        return count

    async def list_models(self) -> list[ModelInfo]:
        """The API's models (``GET /v1/models``, first page of up to 1000)."""
        data = await self._http(None).request_json("GET", "/v1/models?limit=1000")
        return parse_models(data, provider=self.name)

    async def aclose(self) -> None:
        """Close this event loop's connection pool. Safe to call more than once."""
        if self._client is not None:
            await self._client.aclose()
