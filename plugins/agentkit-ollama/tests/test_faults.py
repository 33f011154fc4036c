"""Faults: no server, unknown model, server errors, errors and cuts mid-stream, slow and stalled streams."""

from __future__ import annotations

import logging

import pytest
from fake_ollama_server import FAST, Chat, FakeOllama, go_json

from agentkit.errors import (
    BadRequestError,
    ContextLengthError,
    IncompleteStreamError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderTimeoutError,
    ServerError,
)
from agentkit.events import ModelResponse, TextDelta
from agentkit.messages import UserMessage
from agentkit.providers import ModelRequest
from agentkit_ollama.provider import OllamaProvider

pytestmark = pytest.mark.filterwarnings("error")


def req(model: str = "qwen3:8b") -> ModelRequest:
    return ModelRequest(model=model, messages=(UserMessage("hi"),))


async def test_no_server_names_the_host_and_how_to_start_it(closed_port: int) -> None:
    provider = OllamaProvider(base_url=f"127.0.0.1:{closed_port}", **{**FAST, "max_retries": 1})
    with pytest.raises(ProviderConnectionError) as caught:
        await provider.complete(req())
    err = caught.value
    assert f"http://127.0.0.1:{closed_port}" in str(err)
    assert "ollama serve" in str(err) and "ollama serve" in (err.hint or "")
    assert err.provider == "ollama" and err.model == "qwen3:8b"
    with pytest.raises(ProviderConnectionError, match="ollama serve"):
        await provider.list_models()
    await provider.aclose()


async def test_no_server_via_ollama_host(closed_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port}")
    provider = OllamaProvider(**{**FAST, "max_retries": 0})
    with pytest.raises(ProviderConnectionError, match=f"127.0.0.1:{closed_port} \\(from OLLAMA_HOST\\)"):
        await provider.complete(req())


async def test_unknown_model_says_how_to_pull_it(ollama: FakeOllama, provider: OllamaProvider) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        await provider.complete(req("llama3.2"))
    err = caught.value
    assert "ollama pull llama3.2" in str(err) and "ollama pull llama3.2" in (err.hint or "")
    assert err.status_code == 404 and err.model == "llama3.2"
    assert 'model "llama3.2" not found' in (err.body or "")
    assert len(ollama.chat_requests()) == 1  # never retried
    with pytest.raises(ModelNotFoundError, match="ollama pull nope"):
        await provider.context_window("nope")
    with pytest.raises(ModelNotFoundError, match="ollama pull nope"):
        await provider.embed("nope", ["x"])


async def test_server_error_then_success_is_retried(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(status=500, error="llama runner process has terminated"), Chat(content="recovered"))
    response = await provider.complete(req())
    assert response.message.content == "recovered"
    assert len(ollama.chat_requests()) == 2


async def test_server_errors_exhaust_retries(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(*[Chat(status=503, error="server busy")] * 3)
    with pytest.raises(ServerError, match="server busy"):
        await provider.complete(req())
    assert len(ollama.chat_requests()) == 3  # first try + max_retries (2)


async def test_bad_request_is_not_retried_and_gets_a_hint(
    ollama: FakeOllama, provider: OllamaProvider
) -> None:
    ollama.script(Chat(status=400, error="registry.ollama.ai/library/gemma:2b does not support tools"))
    with pytest.raises(BadRequestError) as caught:
        await provider.complete(req())
    assert "does not support tools" in str(caught.value)
    assert "cannot call tools" in (caught.value.hint or "")
    assert len(ollama.chat_requests()) == 1


async def test_error_line_after_tokens_is_raised_not_retried(
    ollama: FakeOllama, provider: OllamaProvider
) -> None:
    ollama.script(Chat(content="The beginning of an answer", error_after=3))
    seen: list[str] = []
    with pytest.raises(IncompleteStreamError) as caught:
        async for event in provider.stream(req()):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert "".join(seen) == "The beginnin"  # three lines of four characters
    assert "unexpected EOF" in str(caught.value)
    assert len(ollama.chat_requests()) == 1


async def test_error_line_before_any_token_is_retried(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="lost", error_after=0), Chat(content="second try"))
    response = await provider.complete(req())
    assert response.message.content == "second try"
    assert len(ollama.chat_requests()) == 2


async def test_error_line_before_any_token_every_time(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(
        *[Chat(content="x", error_after=0, stream_error="model runner has unexpectedly stopped")] * 3
    )
    with pytest.raises(ServerError, match="unexpectedly stopped"):
        await provider.complete(req())
    assert len(ollama.chat_requests()) == 3


async def test_context_length_error_line(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(error_after=0, stream_error="input length exceeds the context length"))
    with pytest.raises(ContextLengthError) as caught:
        await provider.complete(req())
    assert "num_ctx" in (caught.value.hint or "")
    assert len(ollama.chat_requests()) == 1


async def test_stream_without_done_is_incomplete(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="An answer cut short", omit_done=True))
    seen: list[str] = []
    with pytest.raises(IncompleteStreamError, match="done: true"):
        async for event in provider.stream(req()):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert "".join(seen) == "An answer cut short"
    assert len(ollama.chat_requests()) == 1


async def test_connection_cut_mid_stream(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="An answer that breaks", cut_after=2))
    with pytest.raises(IncompleteStreamError):
        await provider.complete(req())


async def test_lines_split_at_every_byte(ollama: FakeOllama, provider: OllamaProvider) -> None:
    text = "Grüße aus Zürich 🌍 — fin"  # multi-byte characters cut between reads
    ollama.script(Chat(content=text, split=1, thinking="hmm… 🤔", piece=3))
    response = await provider.complete(req())
    assert response.message.content == text
    assert response.message.reasoning == "hmm… 🤔"


async def test_ollama_transcript_byte_for_byte(ollama: FakeOllama, provider: OllamaProvider) -> None:
    """A reply exactly as Ollama's docs show it, HTML escapes included, cut into odd pieces."""
    lines = [
        {
            "model": "qwen3:8b",
            "created_at": "2023-08-04T08:52:19.385406455-07:00",
            "message": {"role": "assistant", "content": "<b>The", "images": None},
            "done": False,
        },
        {
            "model": "qwen3:8b",
            "created_at": "2023-08-04T08:52:19.385406455-07:00",
            "message": {"role": "assistant", "content": " sky & sea</b>"},
            "done": False,
        },
        {
            "model": "qwen3:8b",
            "created_at": "2023-08-04T19:22:45.499127Z",
            "message": {"role": "assistant", "content": ""},
            "done_reason": "stop",
            "done": True,
            "total_duration": 4883583458,
            "load_duration": 1334875,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 342546000,
            "eval_count": 282,
            "eval_duration": 4535599000,
        },
    ]
    raw = b"".join(go_json(line) + b"\n" for line in lines)
    assert b"\\u003cb\\u003eThe" in raw and b"\\u0026" in raw
    ollama.script(Chat(raw=raw, split=5))
    response = await provider.complete(req())
    assert response.message.content == "<b>The sky & sea</b>"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (26, 282)


async def test_garbage_line_is_an_incomplete_stream(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(
        *[Chat(raw=b'{"model":"qwen3:8b","message":{"role":"assistant","content":"a"},"done":false}\n{"mod')]
        * 3
    )
    with pytest.raises(IncompleteStreamError, match="not JSON"):
        await provider.complete(req())


async def test_slow_model_load_within_first_byte_timeout_succeeds(ollama: FakeOllama) -> None:
    """Headers wait while Ollama loads the model: longer than the idle timeout, shorter than the first-byte one."""
    provider = OllamaProvider(
        base_url=ollama.url, read_timeout=0.3, first_byte_timeout=10, total_timeout=20, max_retries=0
    )
    ollama.script(Chat(content="loaded at last", header_delay=1.0), Chat(content="and again", body_delay=1.0))
    assert (await provider.complete(req())).message.content == "loaded at last"
    assert (await provider.complete(req())).message.content == "and again"
    assert len(ollama.chat_requests()) == 2
    await provider.aclose()


async def test_first_byte_timeout(ollama: FakeOllama) -> None:
    provider = OllamaProvider(base_url=ollama.url, read_timeout=0.2, first_byte_timeout=0.4, max_retries=0)
    ollama.script(Chat(content="too late", body_delay=2.0))
    with pytest.raises(ProviderTimeoutError, match="first-byte timeout"):
        await provider.complete(req())
    await provider.aclose()


async def test_stall_after_tokens_fires_the_idle_timeout(ollama: FakeOllama) -> None:
    provider = OllamaProvider(
        base_url=ollama.url, read_timeout=0.3, first_byte_timeout=10, max_retries=2, backoff_base=0.01
    )
    ollama.script(Chat(content="It started well and then", stall_after=2, stall=3.0))
    seen: list[str] = []
    with pytest.raises(ProviderTimeoutError, match="stalled"):
        async for event in provider.stream(req()):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert "".join(seen) == "It start"  # two lines, then the stall
    assert len(ollama.chat_requests()) == 1  # output was delivered: never retried
    await provider.aclose()


async def test_total_deadline(ollama: FakeOllama) -> None:
    provider = OllamaProvider(
        base_url=ollama.url, read_timeout=5, first_byte_timeout=5, total_timeout=0.5, max_retries=0
    )
    ollama.script(Chat(content="trickle " * 20, piece=8, stall_after=1, stall=2.0))
    with pytest.raises(ProviderTimeoutError, match="total deadline"):
        await provider.complete(req())
    await provider.aclose()


async def test_secrets_stay_out_of_reprs_errors_and_logs(
    ollama: FakeOllama, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-ollama-SECRET-123"
    provider = OllamaProvider(base_url=ollama.url, api_key=secret, **FAST)
    basic = OllamaProvider(
        base_url=f"http://me:{secret}@127.0.0.1:{closed_port}", **{**FAST, "max_retries": 0}
    )
    with caplog.at_level(logging.DEBUG):
        await provider.complete(req())
        with pytest.raises(ModelNotFoundError) as not_found:
            await provider.complete(req("missing"))
        with pytest.raises(ProviderConnectionError) as refused:
            await basic.complete(req())
    assert ollama.requests[0].headers["authorization"] == f"Bearer {secret}"
    for text in (
        repr(provider),
        repr(basic),
        str(not_found.value),
        str(refused.value),
        refused.value.hint,
        caplog.text,
        repr(basic.host),
    ):
        assert secret not in (text or "")
    await provider.aclose()


async def test_api_key_from_environment(ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "env-key")
    provider = OllamaProvider(base_url=ollama.url)
    await provider.complete(req())
    assert ollama.requests[0].headers["authorization"] == "Bearer env-key"
    await provider.aclose()


async def test_stopping_early_closes_the_stream(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="a long answer " * 20))
    agen = provider.stream(req())
    async for event in agen:
        assert not isinstance(event, ModelResponse)
        break
    await agen.aclose()
    assert (await provider.complete(req())).message.content == "ok"
