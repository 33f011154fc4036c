"""Broken on purpose: registers one provider, then raises."""

from typing import Any

import agentkit


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    registry.add("half-registered", lambda **settings: None)
    raise RuntimeError("the plugin's configuration is missing")
