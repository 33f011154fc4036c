"""The provider: Chat Completions over :class:`agentkit.http.HttpClient`, for OpenAI and every profile.

The reliability rules (timeouts, a total deadline, retries with backoff and Retry-After,
typed errors) live in :mod:`agentkit.http`; this module adds what is specific to the
OpenAI protocol: where the key comes from, the SSE stream, and a retry of a stream that
broke before any event reached the caller (never after).
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
from agentkit.errors import (
    ConfigError,
    PluginError,
    ProviderError,
)
from agentkit.events import (
    ModelResponse,
    ModelStreamEvent,
)
from agentkit.http import OpenResponse, aiter_sse
from agentkit.providers import Capabilities, ModelInfo, ModelRequest, Provider

from .profiles import PROFILES, Profile
from .streaming import StreamAssembler
from .wire import (
    WireOptions,
    build_chat_body,
    error_from_payload,
    parse_completion,
    parse_embeddings,
    parse_models,
)

__all__ = ["OpenAIProvider"]

log = logging.getLogger("agentkit_openai")

_OWN_SETTINGS = (
    "api_key_env",
    "headers",
    "structured_output",
    "null_tool_call_content",
    "stream_usage",
    "embedding_batch_size",
)


class OpenAIProvider(Provider):
    """Chat Completions, streaming and not, embeddings and model listing, for one endpoint.

    :param profile: a name from :data:`~agentkit_openai.profiles.PROFILES` (``"openai"``,
        ``"groq"``, ``"lmstudio"``, ...): the base URL and key variable to start from.
    :param base_url: overrides the profile's URL (for ``openai`` also ``OPENAI_BASE_URL``).
    :param api_key: the key itself (``""``: send none, and read no variable). Otherwise
        ``api_key_env`` names the variable holding it, else the profile's variable is read.
        Hosted profiles need a key; local servers do not.
    :param settings: ``api_key_env``, ``headers`` (extra HTTP headers), ``structured_output``
        (``"json_schema"`` | ``"json_object"`` | ``"none"``), ``null_tool_call_content``,
        ``stream_usage``, ``embedding_batch_size``, and the timeouts and retry policy of
        :class:`agentkit.http.HttpSettings` (``connect_timeout``, ``read_timeout``,
        ``first_byte_timeout``, ``total_timeout``, ``max_retries``, ...).
    """

    def __init__(
        self,
        *,
        profile: str = "openai",
        base_url: str | None = None,
        api_key: str | None = None,
        **settings: Any,
    ) -> None:
        try:
            spec: Profile = PROFILES[profile]
        except KeyError:
            raise PluginError(
                f"unknown OpenAI-compatible profile {profile!r}; profiles: {', '.join(sorted(PROFILES))}",
                plugin="agentkit-openai",
            ) from None
        check_setting_names(settings, _OWN_SETTINGS, provider=profile)
        self.name = profile
        self.profile = spec
        env = os.environ
        if not base_url and spec.base_url_env:
            base_url = env.get(spec.base_url_env) or None
        self.base_url = (base_url or spec.base_url).rstrip("/")
        custom_endpoint = self.base_url != spec.base_url.rstrip("/")

        api_key_env = settings.pop("api_key_env", None)
        self.env_var: str | None = api_key_env or spec.env_var
        self._key, self._key_source = resolve_api_key(api_key, self.env_var)
        # A hosted API refuses anonymous calls; so does anything whose key variable was named.
        self._key_required = bool(api_key_env) or (spec.requires_key and not custom_endpoint)

        self._headers = pop_headers(settings)
        mode = settings.pop("structured_output", None) or spec.structured_output
        if mode not in ("json_schema", "json_object", "none"):
            raise ConfigError(
                f"structured_output must be 'json_schema', 'json_object' or 'none', not {mode!r}",
                key_path="provider_settings.structured_output",
            )
        null_content = settings.pop("null_tool_call_content", None)
        if null_content is None:
            # The OpenAI spec says null; an unknown server behind a custom URL is often one that refuses it.
            null_content = spec.null_tool_call_content and not custom_endpoint
        self._options = WireOptions(
            structured_output=mode,
            null_tool_call_content=bool(null_content),
            stream_usage=bool(settings.pop("stream_usage", True)),
        )
        batch = settings.pop("embedding_batch_size", 128)
        if not isinstance(batch, int) or batch < 1:
            raise ConfigError(
                f"embedding_batch_size must be a positive integer, not {batch!r}",
                key_path="provider_settings.embedding_batch_size",
            )
        self.embedding_batch_size = batch
        self.http_settings = http_settings(settings)
        self.capabilities = Capabilities(
            streaming=True,
            tools=True,
            vision=True,
            structured_output=mode != "none",
            embeddings=True,
            list_models=True,
        )
        self._client: KeyedHttpClient | None = None

    def __repr__(self) -> str:
        key = "set" if self._key is not None else "not set"
        return f"OpenAIProvider(name={self.name!r}, base_url={self.base_url!r}, api_key={key})"

    # -- plumbing ---------------------------------------------------------------------------

    def _http(self, model: str | None) -> KeyedHttpClient:
        if self._key is None and self._key_required:
            raise missing_key_error(self.env_var, provider=self.name, model=model)
        if self._client is None:
            headers = {"Accept": "application/json", "User-Agent": "agentkit-openai/0.1", **self._headers}
            if self._key is not None:
                headers["Authorization"] = f"Bearer {self._key.reveal()}"
            if self._key is not None:
                hint = f"the server refused {self._key_source}"
                if self.env_var and self._key_source != f"the key in {self.env_var}":
                    hint += f" (or set {self.env_var})"
            elif self.env_var:
                hint = f"no key was sent; set {self.env_var}"
            else:
                hint = "the server wants a key; pass api_key= or api_key_env= in the provider settings"
            self._client = KeyedHttpClient(
                auth_hint=hint,
                provider=self.name,
                base_url=self.base_url,
                headers=headers,
                settings=self.http_settings,
                env_var=self.env_var,
            )
        return self._client

    async def _json(self, method: str, path: str, body: Any, model: str | None) -> Any:
        return await self._http(model).request_json(method, path, json_body=body, model=model)

    # -- the Provider API -------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One non-streaming call (``stream: false``)."""
        body = build_chat_body(request, stream=False, options=self._options)
        data = await self._json("POST", "/chat/completions", body, request.model)
        try:
            return parse_completion(data, provider=self.name, model=request.model, env_var=self.env_var)
        except ProviderError as exc:  # it may quote the body, which may echo a key
            raise self._http(request.model).redact_error(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        """One streaming call: deltas as they arrive, then the ModelResponse.

        A stream that breaks or stalls before its first event reached the caller is sent
        again (within the retry budget and the total deadline); after that, never.
        """
        body = build_chat_body(request, stream=True, options=self._options)
        client = self._http(request.model)
        async for event in client.stream(
            "POST", "/chat/completions", lambda response: self._read(response, request.model), json_body=body,
            model=request.model,
        ):
            yield event

    async def _read(self, response: OpenResponse, model: str) -> AsyncGenerator[ModelStreamEvent | ModelResponse, None]:
        """The events of one response: SSE deltas, or a whole JSON answer from a server that ignored ``stream``."""
        if "application/json" in response.headers.get("content-type", ""):
            result = await self._whole_response(response, model)
            for event in result.stream_events():
                yield event
            yield result
            return
        assembler = StreamAssembler(provider=self.name, model=model, env_var=self.env_var)
        async for sse in aiter_sse(response.aiter_bytes()):
            if assembler.done:
                continue  # past [DONE]: read to the end, so the connection can be reused
            if sse.event == "error":
                raise _stream_error(sse.data, provider=self.name, model=model, env_var=self.env_var)
            for event in assembler.feed(sse.data):
                yield event
            if assembler.complete:  # some servers never send [DONE], nor hang up
                response.expect_end()
        yield assembler.response()

    async def _whole_response(self, response: OpenResponse, model: str) -> ModelResponse:
        data = await response.json()
        return parse_completion(data, provider=self.name, model=model, env_var=self.env_var)

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """Embedding vectors via ``POST /embeddings``, in batches of ``embedding_batch_size``, in input order."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.embedding_batch_size):
            batch = list(texts[start : start + self.embedding_batch_size])
            data = await self._json("POST", "/embeddings", {"model": model, "input": batch}, model)
            if isinstance(data, Mapping) and data.get("error") is not None:
                raise error_from_payload(data, provider=self.name, model=model, env_var=self.env_var)
            vectors.extend(parse_embeddings(data, expected=len(batch), provider=self.name, model=model))
        return vectors

    async def list_models(self) -> list[ModelInfo]:
        """The server's models (``GET /models``)."""
        data = await self._json("GET", "/models", None, None)
        return parse_models(data, provider=self.name)

    async def aclose(self) -> None:
        """Close this event loop's connection pool. Safe to call more than once."""
        if self._client is not None:
            await self._client.aclose()


def _stream_error(data: str, *, provider: str, model: str, env_var: str | None) -> ProviderError:
    try:
        payload = json.loads(data)
    except ValueError:
        payload = {"error": {"message": data}}
    if not isinstance(payload, dict):
        payload = {"error": {"message": str(payload)}}
    if "error" not in payload:
        payload = {"error": payload}
    return error_from_payload(payload, provider=provider, model=model, env_var=env_var)

