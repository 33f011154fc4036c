"""The llamacpp provider: chat, tools, structured output and streaming on an in-process model.

- Prompts are the model's own chat template (from the GGUF metadata), rendered here
  (:mod:`agentkit_llamacpp.turns`), so the prompt's length is known before generating: the
  answer's ``max_tokens`` is cut to the room left in the context window (the answer then ends
  with finish reason ``length``), and a prompt that does not fit at all is a
  :class:`~agentkit.errors.ContextLengthError` saying so.
- A turn with tools is generated under one grammar (:mod:`agentkit_llamacpp.grammar`): either
  a message or calls whose arguments fit the tools' schemas (enums, ranges, required). The
  setting ``tool_chat_format`` picks one of llama-cpp-python's function-calling handlers instead.
- An output schema becomes a grammar too (the answer is JSON of that shape).
- Loaded models are cached per process and shared by every agent; loading and generation run
  in worker threads, one generation per model at a time (a llama.cpp context is not
  thread-safe), so the event loop is never blocked. They are closed when the interpreter
  exits (:func:`close_models`), before module teardown, so ``Llama.__del__`` has nothing left
  to do then (it used to print a traceback at exit).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
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

from .grammar import MESSAGE_PREFIX
from .models import ALIASES, resolve_model_path

__all__ = ["LlamaCppProvider", "close_models", "count_tokens", "loaded_models"]

log = logging.getLogger("agentkit.llamacpp")

DEFAULT_MAX_TOKENS = 512
DEFAULT_TEMPERATURE = 0.2
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


@attrs.define
class _Loaded:
    llama: Any
    lock: threading.Lock
    path: Path
    prompter: Any = None  # a turns.ChatPrompter, made on first use


_models: dict[tuple[str, int, int, int], _Loaded] = {}
_models_lock = threading.Lock()


def loaded_models() -> list[str]:
    """Paths of the models loaded in this process."""
    with _models_lock:
        return sorted({str(m.path) for m in _models.values()})


def close_models() -> None:
    """Free every loaded model now (each waits for its running generation). Called at exit."""
    with _models_lock:
        loaded = list(_models.values())
        _models.clear()
    for model in loaded:
        with model.lock:
            model.llama.close()


def _at_exit() -> None:
    close_models()
    # llama-cpp-python keeps two /dev/null files open for as long as the process lives (to
    # silence llama.cpp while a model loads); closed here, no "unclosed file" is reported at exit.
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        file = getattr(utils, name, None)
        if file is not None:
            file.close()


atexit.register(_at_exit)


def count_tokens(model: str, text: str) -> int:
    """``text``'s tokens in ``model``'s own tokenizer (a model loaded from that file, or loaded now
    as the provider's defaults load it); the context budget counts a model's messages with it."""
    path = resolve_model_path(model)
    with _models_lock:
        loaded = next((m for m in _models.values() if m.path == path), None)
    if loaded is None:
        alias = ALIASES.get(model.lower())
        provider = LlamaCppProvider()
        loaded = _load(path, alias.n_ctx if alias else 4096, provider.n_threads, provider.n_gpu_layers)
    return len(loaded.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


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


@attrs.frozen
class _Prepared:
    """A generation ready to run: the prompt, its tokens, grammars and parameters."""

    prompt: str
    tokens: list[int]
    turn_grammar: str | None  # a turn with tools: "message:" or a call
    text_grammar: str | None  # the answer's text: the output schema's grammar, else free
    kwargs: dict[str, Any]


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
        tool_chat_format: str | None = None,
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
        # half the CPUs, as llama-cpp-python's own default: with every CPU, a thread that is
        # descheduled on a busy machine holds the others at each step (several times slower)
        self.n_threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
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
        """The tokens the messages may take: the model's window less this provider's own framing
        of a turn with tools (the instructions in the system message, which the context budget
        does not see; the tools themselves it counts)."""
        from .turns import tools_instructions

        loaded = await self._model(model)
        framing = _tokenize(loaded, f"{DEFAULT_SYSTEM}\n\n" + tools_instructions([], "auto"))
        return int(loaded.llama.n_ctx()) - len(framing)

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
        if self.tool_chat_format and request.tools:
            raw = await asyncio.to_thread(self._generate_with_handler, loaded, request)
            return _chat_response(raw, request.model)
        response: ModelResponse | None = None
        async for item in self._generate(loaded, request, stream=False):
            if isinstance(item, ModelResponse):
                response = item
        assert response is not None
        return response

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        loaded = await self._model(request.model)
        if self.tool_chat_format and request.tools:
            response = await self.complete(request)
            for event in _events(response):
                yield event
            yield response
            return
        async for item in self._generate(loaded, request, stream=True):
            yield item

    async def _generate(
        self, loaded: _Loaded, request: ModelRequest, *, stream: bool
    ) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        """Runs :meth:`_worker` in a thread; its chunks become events (``stream``) and a response."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody waits for this turn any more
                cancelled.set()

        def worker() -> None:
            try:
                for item in self._worker(loaded, request, cancelled, stream=stream):
                    put(item)
                put(("end", None))
            except BaseException as exc:  # delivered to the awaiting coroutine
                put(("error", exc))

        thread = threading.Thread(target=worker, name="llamacpp-generate", daemon=True)
        thread.start()
        call: ModelResponse | None = None
        text: list[str] = []
        finish_reason = "stop"
        usage = Usage(requests=1)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise _translate(value, request.model)
                if kind == "end":
                    break
                if kind == "call":  # the turn is a call: generated whole under the grammar
                    call = _response(value, request)
                    continue
                if kind == "usage":
                    usage = value
                    continue
                choice = value["choices"][0]
                piece = choice.get("text")
                if piece:
                    text.append(piece)
                    if stream:
                        yield TextDelta(piece)
                finish_reason = choice.get("finish_reason") or finish_reason
        finally:
            cancelled.set()
        if call is not None:
            if stream:
                for event in _events(call):
                    yield event
            yield call
            return
        content = "".join(text)
        if not stream:
            content = content.strip()
        message = AssistantMessage(
            content=content, model=request.model, usage=usage, finish_reason=finish_reason
        )
        yield ModelResponse(message)

    def _worker(
        self, loaded: _Loaded, request: ModelRequest, cancelled: threading.Event, *, stream: bool
    ) -> Iterator[tuple[str, Any]]:
        """One turn, in a worker thread: ``("call", completion)``, or ``("chunk", ...)`` pieces of
        the answer then ``("usage", Usage)``.

        With tools, the turn begins under the turn grammar (not streamed: a few tokens when the
        model answers); when it chose ``message:``, the answer is generated from there.
        """
        with loaded.lock:
            prepared = self._prepare(loaded, request)
            kwargs = dict(prepared.kwargs)
            _seed(loaded, kwargs)
            tokens, spent = prepared.tokens, 0
            if prepared.turn_grammar is not None:
                first = self._completion(loaded, tokens, prepared.turn_grammar, kwargs, stream=False)
                text = first["choices"][0]["text"]
                if not text.lstrip().startswith(MESSAGE_PREFIX):
                    yield ("call", first)
                    return
                spent = int(first["usage"]["completion_tokens"])
                tokens = _tokenize(loaded, prepared.prompt + MESSAGE_PREFIX)
                kwargs["max_tokens"] = max(
                    1, min(kwargs["max_tokens"] - spent, int(loaded.llama.n_ctx()) - len(tokens))
                )
            chunks = self._completion(loaded, tokens, prepared.text_grammar, kwargs, stream=True)
            count = 0
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        break
                    if chunk["choices"][0].get("text"):
                        count += 1
                    yield ("chunk", chunk)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            yield ("usage", Usage(input_tokens=len(prepared.tokens), output_tokens=spent + count, requests=1))

    @staticmethod
    def _completion(
        loaded: _Loaded, tokens: list[int], grammar: str | None, kwargs: dict[str, Any], *, stream: bool
    ) -> Any:
        from llama_cpp import LlamaGrammar

        rules = LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        return loaded.llama.create_completion(prompt=tokens, grammar=rules, stream=stream, **kwargs)

    def _prepare(self, loaded: _Loaded, request: ModelRequest) -> _Prepared:
        """The prompt, its tokens, the grammars and the parameters; ``max_tokens`` cut to the room left."""
        from . import grammar, turns

        kwargs = _generation_kwargs(request)
        messages = _wire_messages(request)
        schema = dict(request.output_schema.schema) if request.output_schema is not None else None
        choice = _turn_choice(request) if request.tools else "none"
        turn: str | None = None
        if choice != "none":
            messages = _with_system(messages, turns.tools_instructions(request.tools, choice))
            turn = grammar.turn_grammar([(t.name, t.parameters) for t in request.tools], choice)
        text = grammar.schema_grammar(schema) if schema is not None else None
        if loaded.prompter is None:
            loaded.prompter = turns.ChatPrompter(loaded.llama)
        prompt = loaded.prompter.render(messages)
        tokens = _tokenize(loaded, prompt)
        window = int(loaded.llama.n_ctx())
        room = window - len(tokens)
        if room < 1:
            raise ContextLengthError(
                f"the prompt takes {len(tokens)} tokens of the model's {window}-token context window, "
                "leaving no room for an answer",
                provider="llamacpp",
                model=request.model,
                hint="shorten the input, or give a larger n_ctx (provider setting) if the model supports one",
            )
        if kwargs["max_tokens"] > room:
            log.info("max_tokens %d cut to the %d tokens left in the window", kwargs["max_tokens"], room)
            kwargs["max_tokens"] = room
        stop = kwargs.pop("stop", None) or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        if loaded.prompter.eos:
            stop.append(loaded.prompter.eos)
        kwargs["stop"] = stop
        return _Prepared(prompt, tokens, turn, text, kwargs)

    def _generate_with_handler(self, loaded: _Loaded, request: ModelRequest) -> dict[str, Any]:
        """A turn with tools through one of llama-cpp-python's chat handlers (``tool_chat_format``)."""
        from llama_cpp import llama_chat_format

        kwargs = _generation_kwargs(request)
        handler: Any = llama_chat_format.get_chat_completion_handler(str(self.tool_chat_format))
        messages = _wire_messages(request, handler=True)
        if not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": DEFAULT_SYSTEM})  # the tool list lives in it
        with loaded.lock:
            _seed(loaded, kwargs)
            try:
                return handler(  # type: ignore[no-any-return]  # a dict: stream=False
                    llama=loaded.llama,
                    messages=messages,
                    tools=[_wire_tool(t) for t in request.tools],
                    tool_choice=_handler_tool_choice(request),
                    stream=False,
                    **kwargs,
                )
            except ValueError as exc:
                raise _translate(exc, request.model) from exc


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
    params.setdefault("temperature", DEFAULT_TEMPERATURE)
    return params


def _seed(loaded: _Loaded, kwargs: dict[str, Any]) -> None:
    seed = kwargs.pop("seed", None)
    if seed is not None:
        loaded.llama.set_seed(int(seed))


def _turn_choice(request: ModelRequest) -> str:
    """``"auto"``, ``"none"``, ``"required"`` or a tool's name, checked."""
    choice = request.tool_choice
    if choice in (None, "auto"):
        return "auto"
    if choice in ("none", "required"):
        return choice
    names = [t.name for t in request.tools]
    if choice not in names:
        raise BadRequestError(
            f"tool_choice names {choice!r}, which is not among the tools ({', '.join(names)})",
            provider="llamacpp",
            model=request.model,
        )
    return choice


def _handler_tool_choice(request: ModelRequest) -> Any:
    choice = _turn_choice(request)
    if choice in ("auto", "none"):
        return choice
    names = [t.name for t in request.tools]
    if choice == "required":
        return {"type": "function", "function": {"name": names[0]}} if len(names) == 1 else "auto"
    return {"type": "function", "function": {"name": choice}}


def _wire_tool(spec: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": dict(spec.parameters)},
    }


def _wire_messages(request: ModelRequest, *, handler: bool = False) -> list[dict[str, Any]]:
    """Messages as role/content dicts for a chat template.

    An earlier call is written as the model writes one (``functions.<name>:`` and its
    arguments); chat templates of small models know no ``tool`` role, so a tool result is a
    user turn that names the tool. ``handler``: for a llama-cpp-python chat handler, which
    takes calls as ``tool_calls``.
    """
    from .grammar import CALL_PREFIX

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
                if handler:
                    entry["tool_calls"] = [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in message.tool_calls
                    ]
                else:
                    calls = "\n".join(f"{CALL_PREFIX}{c.name}:\n{c.arguments}" for c in message.tool_calls)
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
    return out


def _with_system(messages: list[dict[str, Any]], extra: str) -> list[dict[str, Any]]:
    """``extra`` added to the first system message (one is made when there is none)."""
    out = list(messages)
    for i, message in enumerate(out):
        if message["role"] == "system":
            out[i] = {**message, "content": f"{message['content']}\n\n{extra}"}
            return out
    return [{"role": "system", "content": f"{DEFAULT_SYSTEM}\n\n{extra}"}, *out]


def _tokenize(loaded: _Loaded, text: str) -> list[int]:
    return list(loaded.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _events(response: ModelResponse) -> Iterator[ModelStreamEvent]:
    """A whole turn reported as the events a streamed one would give."""
    for index, call in enumerate(response.message.tool_calls):
        yield ToolCallStarted(index, call.id, call.name)
        yield ToolCallDelta(index, call.id, call.arguments)
    if response.message.content:
        yield TextDelta(response.message.content)


def _usage(raw: Mapping[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        requests=1,
    )


def _response(raw: Mapping[str, Any], request: ModelRequest) -> ModelResponse:
    """A turn written under the turn grammar (a call) as agentkit's response."""
    from .turns import parse_turn

    choice = raw["choices"][0]
    text, calls = parse_turn(choice.get("text") or "")
    finish = choice.get("finish_reason") or "stop"
    if calls and finish == "stop":
        finish = "tool_calls"
    usage = _usage(raw.get("usage"))
    message = AssistantMessage(
        content=text, tool_calls=calls, model=request.model, usage=usage, finish_reason=finish
    )
    return ModelResponse(message)


def _chat_response(raw: Mapping[str, Any], model: str) -> ModelResponse:
    """A llama-cpp-python chat completion (from a ``tool_chat_format`` handler) as agentkit's response."""
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
