"""agentkit-openai's hook implementations: one provider name per OpenAI-compatible profile.

Registering reads only the profile table; httpx and the provider load when a factory is called.
"""

from __future__ import annotations

from typing import Any

import agentkit

__all__ = ["register_providers"]


@agentkit.hookimpl
def register_providers(registry: Any) -> None:
    from .profiles import FALLBACK_NAMES, PROFILES, factory_for

    for profile in PROFILES.values():
        registry.add(
            profile.name,
            factory_for(profile.name),
            description=profile.description,
            env_var=profile.env_var,
            base_url=profile.base_url,
        )
    for name, profile_name in FALLBACK_NAMES.items():
        profile = PROFILES[profile_name]
        registry.add(
            name,
            factory_for(profile.name),
            description=f"{profile.description}; the {profile.name!r} profile, used while no other plugin "
            f"registers {name!r}",
            env_var=profile.env_var,
            base_url=profile.base_url,
            fallback=True,
        )
