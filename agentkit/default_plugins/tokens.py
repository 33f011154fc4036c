"""Built-in plugin: the tiktoken token counters (see :mod:`agentkit.tokens` for how one is chosen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from agentkit.registry import TokenCounterRegistrar

__all__ = ["register_token_counters"]


@hookimpl
def register_token_counters(registry: TokenCounterRegistrar) -> None:
    # agentkit.tokens imports tiktoken only when a count is first needed.
    from agentkit.tokens import MODEL_ENCODINGS, TiktokenCounter

    for name, encoding, models in MODEL_ENCODINGS:
        approx = " (an approximation for models with other tokenizers)" if models == "*" else ""
        registry.add(
            name, TiktokenCounter(encoding), models=models, description=f"tiktoken {encoding}{approx}"
        )
