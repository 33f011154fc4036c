"""Where the server is (base_url, OLLAMA_HOST, default) and how settings are checked."""

from __future__ import annotations

import pytest

from agentkit.errors import ConfigError
from agentkit_ollama.host import DEFAULT_HOST, parse_host, resolve_host
from agentkit_ollama.provider import OllamaProvider


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("localhost:11434", "http://localhost:11434"),
        ("127.0.0.1", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://localhost:11434"),  # where the server listens is not where to connect
        ("0.0.0.0:11500", "http://localhost:11500"),
        (":11435", "http://localhost:11435"),
        ("gpu-box", "http://gpu-box:11434"),
        ("http://gpu-box:8080", "http://gpu-box:8080"),
        ("http://gpu-box", "http://gpu-box"),  # an explicit scheme keeps its own default port
        ("https://ollama.example.com/", "https://ollama.example.com"),
        ("https://example.com/ollama/", "https://example.com/ollama"),
        ("http://localhost:11434/api", "http://localhost:11434"),
        ("[::1]:11500", "http://[::1]:11500"),
        ("  localhost:11434  ", "http://localhost:11434"),
    ],
)
def test_ollama_host_shapes(value: str, url: str) -> None:
    assert parse_host(value).url == url


def test_credentials_in_the_url_become_a_header() -> None:
    host = parse_host("https://me:p%40ss@ollama.example.com")
    assert host.url == "https://ollama.example.com"
    assert host.authorization == "Basic bWU6cEBzcw=="  # me:p@ss
    assert "p%40ss" not in repr(host) and "bWU6" not in repr(host)


def test_openai_endpoint_is_refused_with_a_pointer() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_host("http://localhost:11434/v1")
    assert "ollama-openai" in (caught.value.hint or "")


@pytest.mark.parametrize("value", ["ftp://host", "http://host:notaport"])
def test_bad_hosts(value: str) -> None:
    with pytest.raises(ConfigError, match="Ollama host"):
        parse_host(value)


def test_precedence_base_url_then_env_then_default() -> None:
    assert resolve_host(None, {}).url == DEFAULT_HOST == "http://localhost:11434"
    assert resolve_host(None, {}).source == "default"
    env = {"OLLAMA_HOST": "gpu-box:11500"}
    assert resolve_host(None, env).url == "http://gpu-box:11500"
    assert resolve_host(None, env).source == "OLLAMA_HOST"
    assert resolve_host("http://other:1", env).url == "http://other:1"
    assert resolve_host("", {"OLLAMA_HOST": "  "}).url == DEFAULT_HOST


def test_provider_reads_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11999")
    assert OllamaProvider().base_url == "http://localhost:11999"
    assert OllamaProvider(base_url="box:1").base_url == "http://box:1"


def test_unknown_setting_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        OllamaProvider(temprature=0.5)
    assert "'temprature'" in str(caught.value)
    assert "first_byte_timeout" in (caught.value.hint or "") and "options" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "settings",
    [
        {"read_timeout": 0},
        {"first_byte_timeout": "10"},
        {"max_retries": -1},
        {"max_retries": True},
        {"options": ["temperature"]},
        {"num_ctx": "8k"},
        {"headers": "x"},
    ],
)
def test_bad_setting_values(settings: dict) -> None:
    with pytest.raises(ConfigError):
        OllamaProvider(**settings)


def test_http_defaults_are_patient_with_a_loading_model() -> None:
    s = OllamaProvider().settings
    assert s.first_byte_timeout == 600 and s.read_timeout == 120 and s.first_byte_timeout < s.total_timeout
    assert OllamaProvider(first_byte_timeout=900, max_retries=0).settings.first_byte_timeout == 900


def test_option_names_are_settings_too() -> None:
    provider = OllamaProvider(temperature=0.2, max_tokens=50, options={"top_k": 5}, num_ctx=4096, think="low")
    assert provider._defaults == {
        "options": {"top_k": 5, "temperature": 0.2, "num_predict": 50, "num_ctx": 4096},
        "think": "low",
    }
