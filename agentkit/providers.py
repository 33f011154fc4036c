"""What a model provider is: the request it takes, the response and stream it gives back.

A provider plugin registers a factory through ``register_providers``; the factory builds a
:class:`Provider`. The loop calls :meth:`Provider.complete` or :meth:`Provider.stream`; both
are async, and a provider needs to implement only one of them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import attrs

from .events import ModelResponse, ModelStreamEvent, _to_messages
from .messages import Message

__all__ = [
    "Capabilities",
    "ModelInfo",
    "ModelRequest",
    "OutputSchema",
    "Provider",
    "ToolSpec",
]


@attrs.frozen
class ToolSpec:
    """A tool as the model sees it: name, description and JSON Schema of its arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@attrs.frozen
class OutputSchema:
    """A JSON Schema the final answer must match. ``strict`` asks for provider-side enforcement."""

    name: str
    schema: Mapping[str, Any]
    strict: bool = True
    description: str | None = None


def _to_specs(value: Iterable[ToolSpec]) -> tuple[ToolSpec, ...]:
    return tuple(value)


@attrs.frozen
class ModelRequest:
    """One call to a model.

    ``tool_choice`` is ``None`` (provider default), ``"auto"``, ``"none"``, ``"required"``,
    or the name of the one tool the model must call. ``params`` holds generation
    parameters (``temperature``, ``max_tokens``, ``seed``, ...) passed through to the provider.
    """

    model: str
    messages: tuple[Message, ...] = attrs.field(converter=_to_messages)
    tools: tuple[ToolSpec, ...] = attrs.field(default=(), converter=_to_specs)
    tool_choice: str | None = None
    output_schema: OutputSchema | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Capabilities:
    """What a provider can do, so the loop can pick the best strategy."""

    streaming: bool = True
    tools: bool = True
    vision: bool = False
    structured_output: bool = False
    embeddings: bool = False
    list_models: bool = False


@attrs.frozen
class ModelInfo:
    """A model a provider can list."""

    id: str
    provider: str
    context_window: int | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)


class Provider(abc.ABC):  # noqa: B024 - abstract: a subclass implements complete() or stream()
    """Base class of model providers.

    Subclasses set :attr:`name` and override :meth:`complete` or :meth:`stream` (or both).
    Errors are raised as :class:`agentkit.errors.ProviderError` subclasses, translated at
    this boundary; secrets never appear in them.
    """

    name: str = "provider"
    capabilities: Capabilities = Capabilities()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Run one model call and return the whole response."""
        response: ModelResponse | None = None
        async for event in self.stream(request):
            if isinstance(event, ModelResponse):
                response = event
        if response is None:  # pragma: no cover - a provider bug
            raise RuntimeError(f"{type(self).__name__}.stream() ended without a ModelResponse")
        return response

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent | ModelResponse]:
        """Run one model call, yielding deltas as they arrive; the last item is the ModelResponse."""
        if type(self).complete is Provider.complete:
            raise NotImplementedError(f"{type(self).__name__} implements neither complete() nor stream()")
        response = await self.complete(request)
        for event in response.stream_events():
            yield event
        yield response

    async def context_window(self, model: str) -> int | None:
        """The model's context window in tokens, or ``None`` when unknown."""
        return None

    async def list_models(self) -> list[ModelInfo]:
        """The models this provider offers. Only when ``capabilities.list_models``."""
        raise NotImplementedError(f"provider {self.name!r} cannot list models")

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """Embedding vectors for ``texts``. Only when ``capabilities.embeddings``."""
        raise NotImplementedError(f"provider {self.name!r} has no embeddings")

    async def aclose(self) -> None:
        """Release connections. Safe to call more than once."""
