"""Named OpenAI-compatible endpoints: each one a provider name with its base URL and key variable.

A profile is data, not code: ``Agent("groq/llama-3.1-8b-instant")`` is the same
:class:`~agentkit_openai.provider.OpenAIProvider` as ``Agent("openai/gpt-4o-mini")``, built
with Groq's base URL and ``GROQ_API_KEY``. This module imports nothing heavy, so the plugin
can register every profile at startup without loading httpx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import attrs

__all__ = ["FALLBACK_NAMES", "PROFILES", "Profile", "StructuredOutputMode", "factory_for"]

#: Names the plugin also registers as fallbacks (``fallback=True``: another plugin's registration
#: of the name wins, silently): ``anthropic/`` is agentkit-anthropic's native Messages API when
#: that plugin is installed, and this plugin's ``anthropic-openai`` profile when it is not.
FALLBACK_NAMES: dict[str, str] = {"anthropic": "anthropic-openai"}

#: How a profile asks for structured output. ``json_schema``: OpenAI's
#: ``{"type": "json_schema", "json_schema": {...}}``; ``json_object``:
#: ``{"type": "json_object", "schema": {...}}`` (llama-cpp-python and older servers, which
#: reject ``json_schema``); ``none``: no ``response_format`` at all (the loop validates).
StructuredOutputMode = Literal["json_schema", "json_object", "none"]


@attrs.frozen
class Profile:
    """One OpenAI-compatible endpoint.

    ``requires_key``: a hosted API that refuses anonymous calls, so a missing key is an
    :class:`~agentkit.errors.AuthenticationError` before any request (naming ``env_var``).
    Local servers take a key when given one but do not need it.

    ``null_tool_call_content``: how an assistant turn that only calls tools is sent. The
    OpenAI spec says ``"content": null``; several local servers (llama-cpp-python among them)
    reject ``null`` and accept ``""``.
    """

    name: str
    base_url: str
    env_var: str | None = None
    requires_key: bool = False
    description: str = ""
    structured_output: StructuredOutputMode = "json_schema"
    null_tool_call_content: bool = True
    base_url_env: str | None = None  # an environment variable that overrides base_url


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "openai",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            requires_key=True,
            description="OpenAI Chat Completions, or any OpenAI-compatible server via base_url / OPENAI_BASE_URL",
            base_url_env="OPENAI_BASE_URL",
        ),
        Profile(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            requires_key=True,
            description="OpenRouter (many vendors' models behind one key)",
        ),
        Profile(
            "groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", requires_key=True, description="Groq"
        ),
        Profile(
            "together",
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            requires_key=True,
            description="Together AI",
        ),
        Profile(
            "deepseek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_API_KEY",
            requires_key=True,
            description="DeepSeek",
        ),
        Profile(
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "GEMINI_API_KEY",
            requires_key=True,
            description="Google Gemini through its OpenAI-compatible endpoint",
        ),
        Profile(
            "anthropic-openai",
            "https://api.anthropic.com/v1/",
            "ANTHROPIC_API_KEY",
            requires_key=True,
            description="Anthropic Claude through its OpenAI-compatible endpoint (agentkit-anthropic speaks "
            "the native Messages API as anthropic/)",
        ),
        Profile(
            "lmstudio",
            "http://localhost:1234/v1",
            description="LM Studio's local server (no key)",
            null_tool_call_content=False,
        ),
        Profile(
            "vllm",
            "http://localhost:8000/v1",
            description="a local vLLM server (no key)",
            null_tool_call_content=False,
        ),
        Profile(
            "llama-server",
            "http://localhost:8080/v1",
            description="llama.cpp's llama-server (no key)",
            null_tool_call_content=False,
        ),
        Profile(
            "ollama-openai",
            "http://localhost:11434/v1",
            description="Ollama's OpenAI-compatible endpoint (no key; see also the native ollama plugin)",
            null_tool_call_content=False,
        ),
    )
}


def factory_for(profile: str) -> Callable[..., Any]:
    """The provider factory registered for ``profile``: ``factory(base_url=None, api_key=None, **settings)``.

    The provider module (and httpx) is imported only when the factory is called.
    """

    def factory(base_url: str | None = None, api_key: str | None = None, **settings: Any) -> Any:
        from .provider import OpenAIProvider

        return OpenAIProvider(profile=profile, base_url=base_url, api_key=api_key, **settings)

    factory.__name__ = f"{profile.replace('-', '_')}_provider"
    factory.__qualname__ = factory.__name__
    factory.__doc__ = f"Build the {profile!r} OpenAI-compatible provider."
    return factory
