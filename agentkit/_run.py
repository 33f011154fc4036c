"""The values of one run: its settings, the resources it uses, and its input messages.

Kept apart from the loop itself (:mod:`agentkit.loop`) so that each stays small: these are
plain data and one pure function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from .templates import render

if TYPE_CHECKING:
    from .cache import ResponseCache
    from .lifecycle import Lifecycle
    from .output import OutputSpec
    from .providers import Provider
    from .tools import Tool

__all__ = ["ModelTarget", "Resources", "RunSettings", "build_input"]

_MESSAGE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)


@attrs.frozen(kw_only=True)
class RunSettings:
    """The settings of one run: the agent's, with the run's overrides applied."""

    model: str
    system: str | None = None
    template_params: Mapping[str, Any] = attrs.field(factory=dict)
    user_template: str | None = None
    tools: tuple[Any, ...] = ()
    tool_settings: Mapping[str, Any] | None = None
    tool_choice: str | None = None
    output_type: Any = None
    output_retries: int = 2
    guardrails: tuple[Any, ...] = ()
    memory: Any = None
    memory_settings: Mapping[str, Any] = attrs.field(factory=dict)
    params: Mapping[str, Any] = attrs.field(factory=dict)
    synthesizer_model: str | None = None
    max_turns: int = 20
    final_turn: str | None = None
    tool_timeout: float | None = 60
    tool_retries: int = 2
    tool_errors: str = "return"
    cache: Any = None
    context_window: int | None = None
    context_strategy: str = "trim"
    prices: Mapping[str, Any] | None = None


@attrs.frozen
class ModelTarget:
    """A model to call: the provider object, the full ``provider/model`` string, the name
    sent in requests, and the provider's identity for cache keys (never a credential)."""

    provider: Provider = attrs.field(repr=False)
    model: str
    name: str
    label: str


@attrs.define
class Resources:
    """What a run uses, resolved by the agent from its settings."""

    target: ModelTarget
    synthesizer: ModelTarget | None
    tools: dict[str, Tool]
    guardrails: list[Any]
    cache: ResponseCache | None
    lifecycle: Lifecycle
    output: OutputSpec | None
    memory: Any = None
    host: Any = None
    toolsets: list[Any] = attrs.field(factory=list)  # asked for their tools before each model call


def build_input(
    prompt: Any, images: Sequence[Any] | None, user_template: str | None, params: Mapping[str, Any]
) -> list[Message]:
    """The run's input messages from ``prompt`` (text, a message, or a list of them)."""
    if isinstance(prompt, str):
        messages: list[Message] = [UserMessage(prompt)]
    elif isinstance(prompt, _MESSAGE_TYPES):
        messages = [prompt]
    elif isinstance(prompt, list | tuple):
        messages = []
        for i, item in enumerate(prompt):
            if isinstance(item, str):
                messages.append(UserMessage(item))
            elif isinstance(item, _MESSAGE_TYPES):
                messages.append(item)
            else:
                raise TypeError(f"prompt[{i}] is {type(item).__name__}; expected a str or a message")
    else:
        raise TypeError(f"prompt is {type(prompt).__name__}; expected a str, a message, or a list of them")
    last = max((i for i, m in enumerate(messages) if isinstance(m, UserMessage)), default=None)
    if user_template is not None and last is not None:
        message = messages[last]
        assert isinstance(message, UserMessage)
        text = render(user_template, {**params, "message": message.text}, where="user_template")
        messages[last] = UserMessage((TextPart(text), *message.images))
    if images:
        parts = tuple(p if isinstance(p, ImagePart) else ImagePart.from_source(p) for p in images)
        if last is None:
            messages.append(UserMessage(parts))
        else:
            message = messages[last]
            assert isinstance(message, UserMessage)
            messages[last] = UserMessage((*message.content, *parts))
    return messages
