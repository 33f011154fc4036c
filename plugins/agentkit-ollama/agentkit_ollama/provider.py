"""The Ollama provider: chat, model listing, context windows and embeddings over HTTP.

The reliability rules (retries, deadlines, typed errors) come from :mod:`agentkit.http`.
Two things are Ollama's own and handled here:

- A model that is not loaded yet can take minutes before its first byte (Ollama sends the
  response headers only with the first token), so the wait for the first byte has its own
  generous timeout (``first_byte_timeout``, 600 s by default), separate from the idle
  timeout between two reads (``read_timeout``) and from the total deadline.
- Errors can arrive *inside* a 200 stream as an ``{"error": ...}`` line, and a stream that
  ends without its ``done: true`` object is cut, not finished. Before anything has reached
  the caller such a failure is retried like any server error; after, it is raised.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import aclosing, contextmanager
from typing import Any

from agentkit._provider_http import HTTP_SETTINGS, http_settings
from agentkit.errors import (
    BadRequestError,
    ConfigError,
    ContextLengthError,
    IncompleteStreamError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ServerError,
)
from agentkit.events import ModelResponse, ModelStreamEvent
from agentkit.http import HttpClient, HttpSettings, OpenResponse, aiter_ndjson, error_for_status
from agentkit.providers import Capabilities, ModelInfo, ModelRequest, Provider

from .host import ResolvedHost, resolve_host
from .wire import ALIASES, OPTION_NAMES, ChatAssembler, OllamaResponseInfo, build_chat_body, request_digest

__all__ = ["OLLAMA_HTTP_DEFAULTS", "OllamaProvider"]

log = logging.getLogger("agentkit_ollama")

#: Ollama's HTTP defaults: a cold model may need minutes before its first byte.
OLLAMA_HTTP_DEFAULTS = HttpSettings(
    connect_timeout=10.0, read_timeout=120.0, first_byte_timeout=600.0, total_timeout=1800.0, max_retries=2
)
_OWN_SETTINGS = ("headers", "keep_alive", "think", "logprobs", "top_logprobs", "options", "num_ctx")
_API_KEY_ENV = "OLLAMA_API_KEY"


class OllamaProvider(Provider):
    """Ollama's native API (``/api/chat``, ``/api/tags``, ``/api/show``, ``/api/embed``).

    :param base_url: The server, in any ``OLLAMA_HOST`` shape (``localhost:11434``,
        ``http://gpu-box:11434``); default ``OLLAMA_HOST``, else ``http://localhost:11434``.
    :param api_key: Sent as a bearer token, for an Ollama behind an authenticating proxy
        or ollama.com; default ``OLLAMA_API_KEY``. Local servers need none.
    :param options: Default Ollama ``options`` (``temperature``, ``num_ctx``, ...); a
        request's ``params`` override them key by key. Option names are also accepted as
        settings of their own (``temperature=0.2``), as ``[providers.ollama.options]`` gives them.
    :param num_ctx: Shortcut for ``options["num_ctx"]``; also what :meth:`context_window`
        answers, since it is the window Ollama will really use.
    :param think: Default ``think`` (``True``, ``False``, or ``"low"``/``"medium"``/``"high"``).
    :param keep_alive: Default ``keep_alive`` (``"5m"``, seconds, ``-1`` for ever, ``0`` to unload).
    :param logprobs: Default ``logprobs`` (and ``top_logprobs``): request fields, not options.
    :param headers: Extra HTTP headers.

    Timeouts and retries: ``connect_timeout``, ``read_timeout`` (idle), ``first_byte_timeout``,
    ``total_timeout``, ``max_retries`` and the other fields of :class:`agentkit.http.HttpSettings`.
    """

    name = "ollama"
    capabilities = Capabilities(
        streaming=True, tools=True, vision=True, structured_output=True, embeddings=True, list_models=True
    )

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        **settings: Any,
    ) -> None:
        unknown = sorted(set(settings) - set(HTTP_SETTINGS) - set(_OWN_SETTINGS) - OPTION_NAMES - set(ALIASES))
        if unknown:
            known = ", ".join(sorted((*_OWN_SETTINGS, *HTTP_SETTINGS, "base_url", "api_key")))
            raise ConfigError(
                f"unknown Ollama provider setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
                hint=f"settings the ollama provider takes: {known}, and Ollama's model options "
                "(temperature, top_p, num_predict, ...)",
            )
        self.host: ResolvedHost = resolve_host(base_url)
        self.settings = http_settings(
            {k: v for k, v in settings.items() if k in HTTP_SETTINGS}, defaults=OLLAMA_HTTP_DEFAULTS
        )
        self._defaults = _default_params(settings)
        num_ctx = self._defaults.get("options", {}).get("num_ctx")
        self._num_ctx: int | None = int(num_ctx) if num_ctx else None
        headers = {"User-Agent": "agentkit-ollama", **_str_headers(settings.get("headers"))}
        key = api_key if api_key is not None else os.environ.get(_API_KEY_ENV) or None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.host.authorization:
            headers["Authorization"] = self.host.authorization
        # HttpClient waits first_byte_timeout for the headers and again for the first byte of
        # the body (a server or proxy may send headers before the model has loaded).
        self._http = HttpClient(
            provider="ollama",
            base_url=self.host.url,
            headers=headers,
            settings=self.settings,
            env_var=_API_KEY_ENV,
        )
        self._context_windows: dict[str, int | None] = {}
        self.last_response_info: OllamaResponseInfo | None = None
        """Counts and timings of the last chat response (for debugging; shared by concurrent calls)."""

    def __repr__(self) -> str:  # headers may hold a key: never show them
        return f"OllamaProvider(base_url={self.host.url!r})"

    @property
    def base_url(self) -> str:
        return self.host.url

    # -- chat ------------------------------------------------------------------------------------

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        """Stream one chat reply: reasoning and text deltas, tool calls, then the ModelResponse."""
        model = request.model
        try:
            body = build_chat_body(request, defaults=self._defaults)
        except (ValueError, TypeError, OSError) as exc:
            raise BadRequestError(
                f"cannot build the request: {exc}", provider="ollama", model=model
            ) from None
        seed = request_digest(request)

        async def read(opened: OpenResponse) -> AsyncGenerator[ModelStreamEvent | ModelResponse, None]:
            assembler = ChatAssembler(request, id_seed=seed)
            delivered = False
            async with aclosing(self._objects(opened, model)) as objects:
                async for data in objects:
                    if "error" in data:
                        raise self._stream_error(data["error"], model, delivered)
                    for event in assembler.feed(data):
                        delivered = True
                        yield event
                    if assembler.done:
                        break
            response = _final(assembler, model)
            info = self.last_response_info = assembler.info
            if info is not None and log.isEnabledFor(logging.DEBUG):
                log.debug("ollama/%s: %s", model, info.summary())
            yield response

        with self._explained(model):
            async for item in self._http.stream("POST", "/api/chat", read, json_body=body, model=model):
                yield item

    # -- models ----------------------------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        """The models installed on the server (``GET /api/tags``), by name."""
        data = await self._request_json("GET", "/api/tags", None, None)
        out = []
        for entry in data.get("models") or ():
            if not isinstance(entry, Mapping):
                continue
            name = entry.get("name") or entry.get("model")
            if not name:
                continue
            details: dict[str, Any] = {k: entry[k] for k in ("size", "digest", "modified_at") if k in entry}
            if isinstance(entry.get("details"), Mapping):
                details.update(entry["details"])
            out.append(ModelInfo(id=str(name), provider="ollama", details=details))
        return sorted(out, key=lambda m: m.id)

    async def context_window(self, model: str) -> int | None:
        """The window Ollama will use: ``num_ctx`` when configured, else the model's own.

        The model's own comes from ``POST /api/show``: a ``num_ctx`` in its Modelfile
        parameters, else ``<architecture>.context_length``. Cached per model.
        """
        if self._num_ctx:
            return self._num_ctx
        if model in self._context_windows:
            return self._context_windows[model]
        data = await self._request_json("POST", "/api/show", {"model": model}, model)
        window = context_from_show(data)
        self._context_windows[model] = window
        return window

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """Embedding vectors for ``texts`` (``POST /api/embed``), in order."""
        if not texts:
            return []
        body: dict[str, Any] = {"model": model, "input": list(texts)}
        if "keep_alive" in self._defaults:
            body["keep_alive"] = self._defaults["keep_alive"]
        data = await self._request_json("POST", "/api/embed", body, model)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            got = len(vectors) if isinstance(vectors, list) else "no"
            raise ProviderError(
                f"asked for {len(texts)} embeddings, got {got}",
                provider="ollama",
                model=model,
                body=json.dumps(data)[:200],
                hint="check that the model is an embedding model (e.g. `ollama pull nomic-embed-text`)",
            )
        return [[float(x) for x in vector] for vector in vectors]

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- HTTP --------------------------------------------------------------------------------------

    @contextmanager
    def _explained(self, model: str | None) -> Iterator[None]:
        """Errors raised inside, with Ollama's own messages and hints (see :meth:`_explain`)."""
        try:
            yield
        except ProviderError as exc:
            explained = self._explain(exc, model)
            if explained is exc:
                raise
            raise explained from exc

    async def _request_json(self, method: str, path: str, body: Any, model: str | None) -> dict[str, Any]:
        with self._explained(model):
            data = await self._http.request_json(method, path, json_body=body, model=model)
        if not isinstance(data, dict):
            raise ProviderError(
                f"Ollama answered {path} with a JSON {type(data).__name__}", provider="ollama", model=model
            )
        if "error" in data:
            raise self._stream_error(data["error"], model, delivered=False)
        return data

    async def _objects(self, opened: OpenResponse, model: str) -> AsyncGenerator[dict[str, Any], None]:
        """The JSON objects of an NDJSON body."""
        try:
            async for value in aiter_ndjson(opened.aiter_bytes()):
                if not isinstance(value, dict):
                    raise ProviderError(
                        f"Ollama sent a JSON {type(value).__name__} where an object belongs",
                        provider="ollama",
                        model=model,
                        body=json.dumps(value),
                    )
                yield value
        except json.JSONDecodeError as exc:
            raise IncompleteStreamError(
                "Ollama sent a line that is not JSON (a cut or corrupted stream)",
                provider="ollama",
                model=model,
                body=exc.doc,
            ) from None

    # -- errors ------------------------------------------------------------------------------------

    def _explain(self, exc: ProviderError, model: str | None) -> ProviderError:
        """Ollama-specific messages and hints for the errors people actually meet."""
        if isinstance(exc, ModelNotFoundError) and model:
            return self._not_found(model, exc.body, exc.status_code)
        if isinstance(exc, ProviderConnectionError):
            return ProviderConnectionError(
                f"cannot connect to Ollama at {self.host.url} (from {self.host.source}); is it running? "
                "Start it with `ollama serve`",
                provider="ollama",
                model=model,
                hint="start the server with `ollama serve` (install it from https://ollama.com), "
                "or point OLLAMA_HOST or base_url at the machine where it runs",
            )
        body = (exc.body or "").lower()
        if isinstance(exc, BadRequestError) and "does not support tools" in body:
            exc.hint = (
                "this model cannot call tools: pick one that can (e.g. qwen3, llama3.1) or run without tools"
            )
        elif isinstance(exc, BadRequestError) and "does not support thinking" in body:
            exc.hint = "this model cannot think: leave out think / reasoning_effort"
        return exc

    def _not_found(self, model: str, body: str | None, status: int | None = 404) -> ModelNotFoundError:
        return ModelNotFoundError(
            f"model {model!r} is not installed on the Ollama server at {self.host.url}; "
            f"pull it with `ollama pull {model}`",
            provider="ollama",
            model=model,
            status_code=status,
            body=body,
            hint=f"ollama pull {model}   (`ollama list` shows the installed models)",
        )

    def _stream_error(self, error: Any, model: str | None, delivered: bool) -> ProviderError:
        """The typed error for an ``{"error": ...}`` object inside a 200 response."""
        message = error if isinstance(error, str) else json.dumps(error)
        lowered = message.lower()
        if model and "not found" in lowered and "model" in lowered:
            return self._not_found(model, message, None)
        typed = error_for_status(500, message, provider="ollama", model=model)
        if isinstance(typed, ContextLengthError):
            return ContextLengthError(
                "the request does not fit the model's context window",
                provider="ollama",
                model=model,
                body=message,
                hint="raise num_ctx (options) or shorten the conversation",
            )
        if delivered:
            return IncompleteStreamError(
                "Ollama reported an error after the answer had started",
                provider="ollama",
                model=model,
                body=message,
            )
        return ServerError("Ollama reported an error", provider="ollama", model=model, body=message)


def _final(assembler: ChatAssembler, model: str) -> ModelResponse:
    """The answer of a finished stream; one that ended without ``done: true`` is cut."""
    if assembler.response is None:
        raise IncompleteStreamError(
            "the stream ended without Ollama's final `done: true` object "
            f"(the answer is cut off after {len(assembler.partial_text)} characters)",
            provider="ollama",
            model=model,
        )
    return assembler.response


def context_from_show(data: Mapping[str, Any]) -> int | None:
    """The context length in an ``/api/show`` answer: Modelfile ``num_ctx``, else the model's."""
    parameters = data.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, text = line.strip().partition(" ")
            if name == "num_ctx":
                try:
                    return int(text.strip().strip('"'))
                except ValueError:
                    pass
    info = data.get("model_info")
    if isinstance(info, Mapping):
        arch = info.get("general.architecture")
        value: Any = info.get(f"{arch}.context_length") if arch else None
        if value is None:
            value = next((v for k, v in info.items() if str(k).endswith(".context_length")), None)
        if isinstance(value, int | float) and value > 0:
            return int(value)
    return None


def _default_params(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The provider-level params: ``options`` (with ``num_ctx``), ``think``, ``keep_alive``."""
    out: dict[str, Any] = {}
    options = settings.get("options")
    if options is not None and not isinstance(options, Mapping):
        raise ConfigError(
            f"Ollama provider setting 'options' must be a table of Ollama options, not {options!r}"
        )
    merged = dict(options or {})
    # Ollama's option names may also be given as settings themselves: that is how
    # [providers.ollama.options] in agentkit.toml reaches the factory.
    for key, value in settings.items():
        if (key in OPTION_NAMES or key in ALIASES) and key != "num_ctx" and value is not None:
            merged[ALIASES.get(key, key)] = value
    if settings.get("num_ctx") is not None:
        num_ctx = settings["num_ctx"]
        if not isinstance(num_ctx, int) or isinstance(num_ctx, bool) or num_ctx <= 0:
            raise ConfigError(
                f"Ollama provider setting 'num_ctx' must be a whole number of tokens, not {num_ctx!r}"
            )
        merged["num_ctx"] = num_ctx
    if merged:
        out["options"] = merged
    for key in ("think", "keep_alive", "logprobs", "top_logprobs"):
        if settings.get(key) is not None:
            out[key] = settings[key]
    return out


def _str_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ConfigError("Ollama provider setting 'headers' must be a table of header names and values")
    return {str(k): str(v) for k, v in headers.items()}
