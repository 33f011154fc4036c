"""Built-in plugin: the ``scripted`` provider, for testing agents without a model.

``Agent("scripted/any-name", provider_settings={"script": ["Hello!"]})`` answers from the
script; tests usually pass a ready :class:`agentkit.testing.ScriptedProvider` as
``provider=`` instead, to read its recorded requests.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl

__all__ = ["register_providers"]


def _scripted(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> Any:
    """Build a ScriptedProvider; ``base_url`` and ``api_key`` are accepted and ignored."""
    from ..testing.scripted import ScriptedProvider

    return ScriptedProvider(**settings)


@hookimpl
def register_providers(registry: Any) -> None:
    registry.add("scripted", _scripted, description="answers from a script (for tests)")
