"""The llamacpp provider: chat, tools, structured output and streaming on an in-process model.

- Plain chat uses the model's own chat template (from the GGUF metadata).
- Requests with tools use a function-calling chat format (``chatml-function-calling`` by
  default) whose grammar constrains the tool name and the arguments to the tool's schema.
- An output schema becomes a grammar (``response_format`` with a JSON schema).
- Loaded models are cached per process and shared by every agent; loading and generation run
  in worker threads, one generation per model at a time (a llama.cpp context is not
  thread-safe), so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from agentkit.errors import BadRequestError, ConfigError, ContextLengthError, ProviderError
from agentkit.events import ModelResponse, ModelStreamEvent, TextDelta, ToolCallDelta, ToolCallStarted
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.providers import Capabilities, ModelInfo, ModelRequest, Provider

from .models import ALIASES, resolve_model_path

__all__ = ["LlamaCppProvider", "loaded_models"]

log = logging.getLogger("agentkit.llamacpp")

DEFAULT_MAX_TOKENS = 512
DEFAULT_SYSTEM = "You are a helpful assistant."
#: Generation parameters passed through to llama-cpp-python.
GENERATION_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "max_tokens",
        "stop",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "seed",
    }
)


@attrs.frozen
class _Loaded:
    llama: Any
    lock: threading.Lock
    path: Path


_models: dict[tuple[str, int, int, int], _Loaded] = {}
_models_lock = threading.Lock()


def loaded_models() -> list[str]:
    """Paths of the models loaded in this process."""
    with _models_lock:
        return sorted({str(m.path) for m in _models.values()})


def _load(path: Path, n_ctx: int, n_threads: int, n_gpu_layers: int) -> _Loaded:
    key = (str(path), n_ctx, n_threads, n_gpu_layers)
    with _models_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        from llama_cpp import Llama

        log.info("loading %s (n_ctx=%d)", path, n_ctx)
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(f"cannot load {path}: {exc}", provider="llamacpp", model=path.name) from exc
        loaded = _Loaded(llama, threading.Lock(), path)
        _models[key] = loaded
        return loaded


class LlamaCppProvider(Provider):
    """GGUF models in-process. Settings: ``n_ctx``, ``n_threads``, ``n_gpu_layers``, ``tool_chat_format``."""

    name = "llamacpp"
    capabilities = Capabilities(
        streaming=True, tools=True, vision=False, structured_output=True, embeddings=False, list_models=True
    )

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        tool_chat_format: str = "chatml-function-calling",
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(
                f"unknown llamacpp setting(s): {', '.join(sorted(unknown))}",
                hint="llamacpp settings: n_ctx, n_threads, n_gpu_layers, tool_chat_format",
            )
        if base_url is not None:
            raise ConfigError("llamacpp runs models in-process: base_url is not used", hint="remove base_url")
        del api_key  # no key: nothing leaves the process
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.n_gpu_layers = n_gpu_layers
        self.tool_chat_format = tool_chat_format

    def __repr__(self) -> str:
        return f"LlamaCppProvider(n_ctx={self.n_ctx}, n_threads={self.n_threads})"

    # -- models -----------------------------------------------------------------------------

    async def _model(self, model: str) -> _Loaded:
        path = await asyncio.to_thread(resolve_model_path, model)
        alias = ALIASES.get(model.lower())
        n_ctx = self.n_ctx or (alias.n_ctx if alias else 4096)
        return await asyncio.to_thread(_load, path, n_ctx, self.n_threads, self.n_gpu_layers)

    async def context_window(self, model: str) -> int | None:
        loaded = await self._model(model)
        return int(loaded.llama.n_ctx())

    async def list_models(self) -> list[ModelInfo]:
        from importlib import metadata

        seen: dict[str, ModelInfo] = {}
        for name, alias in ALIASES.items():
            if alias.name != name or name in seen:
                continue  # list each model once, by its main alias
            try:
                metadata.distribution(alias.package)
            except metadata.PackageNotFoundError:
                continue
            seen[name] = ModelInfo(
                id=name,
                provider=self.name,
                context_window=self.n_ctx or alias.n_ctx,
                details={"package": alias.package, "description": alias.description},
            )
        return list(seen.values())

    # -- generation -------------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        loaded = await self._model(request.model)
        raw = await asyncio.to_thread(self._generate, loaded, request)
        return _response(raw, request.model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        loaded = await self._model(request.model)
        if request.tools:
            # The function-calling format decides between a message and calls with a grammar
            # over the whole answer: generate it whole, then report it as events.
            response = await self.complete(request)
            for index, call in enumerate(response.message.tool_calls):
                yield ToolCallStarted(index, call.id, call.name)
                yield ToolCallDelta(index, call.id, call.arguments)
            if response.message.content:
                yield TextDelta(response.message.content)
            yield response
            return
        async for item in self._stream_text(loaded, request):
            yield item

    async def _stream_text(
        self, loaded: _Loaded, request: ModelRequest
    ) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def worker() -> None:
            try:
                for chunk in self._generate_stream(loaded, request, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, ("chunk", chunk))
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except BaseException as exc:  # delivered to the awaiting coroutine
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        thread = threading.Thread(target=worker, name="llamacpp-generate", daemon=True)
        thread.start()
        text: list[str] = []
        finish_reason: str | None = None
        usage = Usage(requests=1)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise _translate(value, request.model)
                if kind == "end":
                    break
                if value.get("usage"):
                    usage = _usage(value["usage"])
                    continue
                choice = value["choices"][0]
                piece = choice.get("delta", {}).get("content")
                if piece:
                    text.append(piece)
                    yield TextDelta(piece)
                finish_reason = choice.get("finish_reason") or finish_reason
        finally:
            cancelled.set()
        message = AssistantMessage(
            content="".join(text), model=request.model, usage=usage, finish_reason=finish_reason or "stop"
        )
        yield ModelResponse(message)

    def _generate(self, loaded: _Loaded, request: ModelRequest) -> dict[str, Any]:
        kwargs = _generation_kwargs(request)
        with loaded.lock:
            _seed(loaded, kwargs)
            try:
                if request.tools:
                    return self._tool_handler()(
                        llama=loaded.llama,
                        messages=_wire_messages(request, for_tools=True),
                        tools=[_wire_tool(t) for t in request.tools],
                        tool_choice=_tool_choice(request),
                        stream=False,
                        **kwargs,
                    )
                return loaded.llama.create_chat_completion(  # type: ignore[no-any-return]
                    messages=_wire_messages(request, for_tools=False), stream=False, **kwargs
                )
            except ValueError as exc:
                raise _translate(exc, request.model) from exc

    def _generate_stream(
        self, loaded: _Loaded, request: ModelRequest, cancelled: threading.Event
    ) -> Iterator[dict[str, Any]]:
        kwargs = _generation_kwargs(request)
        with loaded.lock:
            _seed(loaded, kwargs)
            chunks = loaded.llama.create_chat_completion(
                messages=_wire_messages(request, for_tools=False), stream=True, **kwargs
            )
            count = 0
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    if chunk["choices"][0].get("delta", {}).get("content"):
                        count += 1
                    yield chunk
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            total = int(getattr(loaded.llama, "n_tokens", 0) or 0)
            yield {"usage": {"prompt_tokens": max(total - count, 0), "completion_tokens": count}}

    def _tool_handler(self) -> Any:
        from llama_cpp import llama_chat_format

        return llama_chat_format.get_chat_completion_handler(self.tool_chat_format)


# -- translation between agentkit and llama-cpp-python ------------------------------------


def _generation_kwargs(request: ModelRequest) -> dict[str, Any]:
    params = dict(request.params)
    unknown = set(params) - GENERATION_PARAMS
    if unknown:
        raise BadRequestError(
            f"unsupported parameter(s) {', '.join(sorted(unknown))}",
            provider="llamacpp",
            model=request.model,
            hint="llamacpp accepts: " + ", ".join(sorted(GENERATION_PARAMS)),
        )
    params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if request.output_schema is not None and not request.tools:
        params["response_format"] = {"type": "json_object", "schema": dict(request.output_schema.schema)}
    return params


def _seed(loaded: _Loaded, kwargs: dict[str, Any]) -> None:
    seed = kwargs.pop("seed", None)
    if seed is not None:
        loaded.llama.set_seed(int(seed))


def _tool_choice(request: ModelRequest) -> Any:
    choice = request.tool_choice
    names = [t.name for t in request.tools]
    if choice in (None, "auto"):
        return "auto"
    if choice == "none":
        return "none"
    if choice == "required":
        return {"type": "function", "function": {"name": names[0]}} if len(names) == 1 else "auto"
    if choice not in names:
        raise BadRequestError(
            f"tool_choice names {choice!r}, which is not among the tools ({', '.join(names)})",
            provider="llamacpp",
            model=request.model,
        )
    return {"type": "function", "function": {"name": choice}}


def _wire_tool(spec: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": dict(spec.parameters)},
    }


def _wire_messages(request: ModelRequest, *, for_tools: bool) -> list[dict[str, Any]]:
    """Messages for llama-cpp-python.

    Chat templates of small models know no ``tool`` role (``chatml-function-calling``
    drops it), so a tool result is given to the model as a user turn that names the tool.
    """
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": message.content})
        elif isinstance(message, UserMessage):
            if any(isinstance(p, ImagePart) for p in message.content):
                raise BadRequestError(
                    "this provider has no image input", provider="llamacpp", model=request.model
                )
            out.append({"role": "user", "content": message.text})
        elif isinstance(message, AssistantMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": message.content or None}
            if message.tool_calls:
                if for_tools:
                    entry["tool_calls"] = [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in message.tool_calls
                    ]
                else:
                    calls = "\n".join(f"functions.{c.name}:\n{c.arguments}" for c in message.tool_calls)
                    entry["content"] = ((message.content or "") + "\n" + calls).strip()
            if entry["content"] is None and "tool_calls" not in entry:
                entry["content"] = ""
            out.append(entry)
        elif isinstance(message, ToolMessage):
            status = "error" if message.is_error else "result"
            text = message.content
            if message.images:  # this provider has no image input: say so rather than fail the run
                text += f"\n[{len(message.images)} image(s) returned that this model cannot see]"
            out.append({"role": "user", "content": f"[{message.name} {status}]\n{text}"})
    if for_tools and not any(m["role"] == "system" for m in out):
        out.insert(0, {"role": "system", "content": DEFAULT_SYSTEM})  # the tool list lives in it
    return out


def _usage(raw: Mapping[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        requests=1,
    )


def _response(raw: Mapping[str, Any], model: str) -> ModelResponse:
    choice = raw["choices"][0]
    wire = choice.get("message") or {}
    calls = tuple(
        ToolCall(
            id=c.get("id") or f"call_{i}",
            name=c["function"]["name"],
            arguments=c["function"].get("arguments") or "{}",
        )
        for i, c in enumerate(wire.get("tool_calls") or ())
    )
    usage = _usage(raw.get("usage"))
    finish = choice.get("finish_reason") or ("tool_calls" if calls else "stop")
    message = AssistantMessage(
        content=wire.get("content") or "", tool_calls=calls, model=model, usage=usage, finish_reason=finish
    )
    return ModelResponse(message)


def _translate(exc: BaseException, model: str) -> BaseException:
    if isinstance(exc, ProviderError):
        return exc
    text = str(exc)
    if "context window" in text or "exceed context" in text or "Requested tokens" in text:
        return ContextLengthError(text, provider="llamacpp", model=model)
    if isinstance(exc, ValueError):
        return BadRequestError(text, provider="llamacpp", model=model)
    return exc
