"""The HTTP settings of the first-party HTTP providers are checked once (agentkit/_provider_http.py):
the same bad value gets the same error from OpenAI, Anthropic and Ollama."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from agentkit._provider_http import HTTP_SETTING_RULES, HTTP_SETTINGS
from agentkit.errors import ConfigError
from agentkit.http import HttpSettings


def _openai(**settings: Any) -> Any:
    from agentkit_openai import OpenAIProvider

    return OpenAIProvider(api_key="sk-test", **settings).http_settings


def _anthropic(**settings: Any) -> Any:
    from agentkit_anthropic import AnthropicProvider

    return AnthropicProvider(api_key="sk-ant-test", **settings).http_settings


def _ollama(**settings: Any) -> Any:
    from agentkit_ollama import OllamaProvider

    return OllamaProvider(**settings).settings


PROVIDERS: dict[str, Callable[..., HttpSettings]] = {"openai": _openai, "anthropic": _anthropic, "ollama": _ollama}

BAD = [
    ("read_timeout", 0, "a number of seconds > 0"),
    ("connect_timeout", -1, "a number of seconds > 0"),
    ("first_byte_timeout", "10", "a number of seconds > 0"),
    ("total_timeout", True, "a number of seconds > 0"),
    ("max_retries", -1, "a whole number >= 0"),
    ("max_retries", 1.5, "a whole number >= 0"),
    ("max_retries", True, "a whole number >= 0"),
    ("backoff_base", -0.5, "a number of seconds >= 0"),
    ("end_grace", None, "a number of seconds >= 0"),
]

GOOD = [("max_retries", 0), ("backoff_base", 0), ("backoff_max", 0.0), ("max_retry_wait", 0), ("read_timeout", 0.5)]


def test_every_http_setting_has_a_rule() -> None:
    assert set(HTTP_SETTING_RULES) == set(HTTP_SETTINGS) == {f.name for f in attrs.fields(HttpSettings)}


@pytest.mark.parametrize(("name", "value", "said"), BAD)
def test_a_bad_value_is_the_same_error_from_every_provider(name: str, value: Any, said: str) -> None:
    errors = {}
    for provider, make in PROVIDERS.items():
        with pytest.raises(ConfigError) as caught:
            make(**{name: value})
        errors[provider] = (str(caught.value), caught.value.key_path)
    expected = (f"provider_settings.{name}: {name} must be {said}, not {value!r}", f"provider_settings.{name}")
    assert errors == dict.fromkeys(PROVIDERS, expected)


@pytest.mark.parametrize(("name", "value"), GOOD)
def test_a_good_value_is_taken_by_every_provider(name: str, value: Any) -> None:
    for make in PROVIDERS.values():
        assert getattr(make(**{name: value}), name) == value
