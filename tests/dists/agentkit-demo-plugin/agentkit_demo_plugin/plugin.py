"""Hook implementations only; the parts live in agentkit_demo_plugin.parts, imported when used."""

from __future__ import annotations

from typing import Any

import agentkit


@agentkit.hookimpl
def register_tools(registry: Any) -> None:
    from .parts import shout

    registry.add(shout)


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    def factory(**settings: Any) -> Any:
        from .parts import EchoProvider

        return EchoProvider(**settings)

    registry.add("demo", factory, description="echoes the last user message")


@agentkit.hookimpl
def register_stores(registry: Any) -> None:
    def factory(**settings: Any) -> Any:
        from .parts import DictStore

        return DictStore(**settings)

    registry.add("demo-store", factory, description="keeps sessions in a dict")
