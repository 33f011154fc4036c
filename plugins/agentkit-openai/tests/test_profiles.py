"""Profiles as provider names, keys and base URLs, settings, and the plugin's registration."""

from __future__ import annotations

import pytest
from _openai_helpers import request

from agentkit.errors import AuthenticationError, ConfigError, PluginError
from agentkit.plugins import PluginHost
from agentkit.testing.servers import json_reply
from agentkit_openai import PROFILES
from agentkit_openai.provider import OpenAIProvider

EXPECTED = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
    "anthropic-openai": ("https://api.anthropic.com/v1/", "ANTHROPIC_API_KEY"),
    "lmstudio": ("http://localhost:1234/v1", None),
    "vllm": ("http://localhost:8000/v1", None),
    "llama-server": ("http://localhost:8080/v1", None),
    "ollama-openai": ("http://localhost:11434/v1", None),
}
OK = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}


def test_every_profile_is_a_registered_provider() -> None:
    host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-openai"})
    registry = host.registry("provider")
    for name, (base_url, env_var) in EXPECTED.items():
        entry = registry.get(name)
        assert entry.plugin == "agentkit-openai"
        assert entry.extra["base_url"] == base_url and entry.extra["env_var"] == env_var
        provider = entry.value(api_key="k")
        assert isinstance(provider, OpenAIProvider)
        assert provider.name == name and provider.base_url == base_url.rstrip("/")
    assert set(PROFILES) == set(EXPECTED)


def test_anthropic_is_the_compat_profile_when_the_native_plugin_is_absent() -> None:
    # Only this plugin loaded (as when agentkit-anthropic is not installed): anthropic/ still
    # works, as the OpenAI-compatible profile, and nothing warns of a clash.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-openai"})
        entry = host.registry("provider").get("anthropic")
    assert entry.plugin == "agentkit-openai" and entry.extra["fallback"] is True
    provider = entry.value(api_key="k")
    assert isinstance(provider, OpenAIProvider) and provider.name == "anthropic-openai"
    assert provider.base_url == "https://api.anthropic.com/v1"


@pytest.mark.parametrize("name", [n for n, (_, var) in EXPECTED.items() if var])
async def test_hosted_profile_without_key_fails_before_any_request(name) -> None:
    provider = OpenAIProvider(profile=name)
    with pytest.raises(AuthenticationError) as info:
        await provider.complete(request())
    assert EXPECTED[name][1] in str(info.value)
    assert info.value.env_var == EXPECTED[name][1] and info.value.provider == name
    with pytest.raises(AuthenticationError):
        async for _ in provider.stream(request()):
            pass
    await provider.aclose()


async def test_key_comes_from_the_profile_variable(serve, monkeypatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-from-env")
    server = serve([json_reply(OK)])
    provider = OpenAIProvider(profile="groq", base_url=server.url + "/v1")
    await provider.complete(request())
    await provider.aclose()
    assert server.requests[0].headers["authorization"] == "Bearer gsk-from-env"


async def test_argument_beats_api_key_env_beats_profile_variable(serve, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-profile-var")
    monkeypatch.setenv("MY_PROXY_KEY", "from-named-var")
    server = serve([json_reply(OK)])
    for kwargs, expected in [
        ({"api_key": "from-argument", "api_key_env": "MY_PROXY_KEY"}, "from-argument"),
        ({"api_key_env": "MY_PROXY_KEY"}, "from-named-var"),
        ({}, "from-profile-var"),
    ]:
        provider = OpenAIProvider(base_url=server.url + "/v1", **kwargs)
        await provider.complete(request())
        await provider.aclose()
        assert server.requests[-1].headers["authorization"] == f"Bearer {expected}"


async def test_named_variable_that_is_unset_is_an_error_naming_it() -> None:
    provider = OpenAIProvider(profile="vllm", api_key_env="VLLM_KEY_THAT_IS_NOT_SET")
    with pytest.raises(AuthenticationError, match="VLLM_KEY_THAT_IS_NOT_SET"):
        await provider.complete(request())


async def test_local_profile_needs_no_key_and_sends_none(serve) -> None:
    server = serve([json_reply(OK)])
    provider = OpenAIProvider(profile="lmstudio", base_url=server.url + "/v1")
    assert (await provider.complete(request())).message.content == "ok"
    await provider.aclose()
    assert "authorization" not in server.requests[0].headers


async def test_openai_base_url_env_points_openai_at_any_server(serve, monkeypatch) -> None:
    server = serve([json_reply(OK)])
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    provider = OpenAIProvider()  # no key needed: not api.openai.com
    assert provider.base_url == server.url + "/v1"
    await provider.complete(request())
    await provider.aclose()
    assert server.requests[0].path == "/v1/chat/completions"


def test_repr_never_shows_the_key() -> None:
    provider = OpenAIProvider(api_key="sk-secret-123")
    assert "sk-secret-123" not in repr(provider) and "sk-secret-123" not in str(vars(provider))
    assert "api_key=set" in repr(provider)


def test_unknown_setting_is_a_config_error_listing_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        OpenAIProvider(api_key="k", temprature=0.1)
    assert "temprature" in str(info.value) and "total_timeout" in (info.value.hint or "")


def test_bad_setting_values() -> None:
    with pytest.raises(ConfigError, match="total_timeout"):
        OpenAIProvider(api_key="k", total_timeout="soon")
    with pytest.raises(ConfigError, match="structured_output"):
        OpenAIProvider(api_key="k", structured_output="xml")
    with pytest.raises(PluginError, match="profiles"):
        OpenAIProvider(profile="nope")


def test_timeouts_and_retries_reach_the_http_settings() -> None:
    provider = OpenAIProvider(
        api_key="k", connect_timeout=3, read_timeout=30, total_timeout=90, max_retries=5
    )
    s = provider.http_settings
    assert (s.connect_timeout, s.read_timeout, s.total_timeout, s.max_retries) == (3, 30, 90, 5)
    caps = provider.capabilities
    assert caps.streaming and caps.tools and caps.vision and caps.structured_output
    assert caps.embeddings and caps.list_models


async def test_extra_headers_are_sent(serve) -> None:
    server = serve([json_reply(OK)])
    provider = OpenAIProvider(
        profile="openrouter",
        base_url=server.url + "/v1",
        api_key="k",
        headers={"HTTP-Referer": "https://x.test"},
    )
    await provider.complete(request())
    await provider.aclose()
    assert server.requests[0].headers["http-referer"] == "https://x.test"


def test_importing_the_plugin_does_not_import_httpx_or_the_provider() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agentkit_openai.plugin, agentkit_openai.profiles;"
        "print('httpx' in sys.modules, 'agentkit_openai.provider' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


async def test_empty_api_key_means_none_and_never_reads_the_variable(serve, monkeypatch) -> None:
    # what a project config that moved base_url passes: the user's key must not go there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-users-own")
    server = serve([json_reply(OK)])
    provider = OpenAIProvider(base_url=server.url + "/v1", api_key="")
    await provider.complete(request())
    await provider.aclose()
    assert "authorization" not in server.requests[0].headers
