"""agentkit-llamacpp's hook implementations (the heavy code loads on first use)."""

from __future__ import annotations

from typing import Any

import agentkit


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    registry.add(
        "llamacpp",
        _factory,
        description="GGUF models in-process via llama-cpp-python (aliases: smollm2, gemma3-270m, or a .gguf path)",
        options="agentkit_llamacpp.provider:LlamaCppProvider",  # its settings get a "did you mean"
    )


@agentkit.hookimpl
def register_token_counters(registry: Any) -> None:
    from .models import ALIASES

    names: dict[str, list[str]] = {}
    for name, alias in ALIASES.items():
        names.setdefault(alias.name, []).append(f"llamacpp/{name}")
    for main, spellings in names.items():
        registry.add(
            f"llamacpp-{main}",
            _Counter(main),
            models="|".join(spellings),
            description=f"{main}'s own tokenizer (the model loaded in-process)",
        )


class _Counter:
    """Counts with a model's own tokenizer; the provider module loads on the first count."""

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, text: str) -> int:
        from .provider import count_tokens

        return count_tokens(self.model, text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Counter) and other.model == self.model

    def __hash__(self) -> int:
        return hash((_Counter, self.model))


def _factory(**settings: Any) -> Any:
    from .provider import LlamaCppProvider

    return LlamaCppProvider(**settings)
