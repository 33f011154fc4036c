"""Which request fields go where, as Ollama's ``ChatRequest`` (``api/types.go``) declares them.

Top level: ``format``, ``keep_alive``, ``think``, ``truncate``, ``shift``, ``logprobs``,
``top_logprobs``; everything else that tunes the model goes in ``options``.
"""

from __future__ import annotations

from fake_ollama_server import Chat, FakeOllama

from agentkit.messages import UserMessage
from agentkit.providers import ModelRequest
from agentkit_ollama.provider import OllamaProvider


async def test_logprobs_are_top_level_fields_not_options(ollama: FakeOllama, provider: OllamaProvider) -> None:
    ollama.script(Chat(content="ok"))
    params = {"logprobs": True, "top_logprobs": 3, "truncate": False, "shift": False, "temperature": 0.3}
    request = ModelRequest(model="qwen3:8b", messages=[UserMessage("hi")], params=params)
    [event async for event in provider.stream(request)]
    body = ollama.chat_requests()[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 3
    assert body["truncate"] is False and body["shift"] is False
    assert body["options"] == {"temperature": 0.3}


async def test_logprobs_as_provider_defaults_are_top_level_too(ollama: FakeOllama) -> None:
    ollama.script(Chat(content="ok"))
    provider = OllamaProvider(base_url=ollama.url, options={"num_ctx": 4096}, logprobs=True, top_logprobs=2)
    try:
        request = ModelRequest(model="qwen3:8b", messages=[UserMessage("hi")])
        [event async for event in provider.stream(request)]
    finally:
        await provider.aclose()
    body = ollama.chat_requests()[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert body["options"] == {"num_ctx": 4096}


def test_top_level_names_given_inside_options_are_lifted_out() -> None:
    from agentkit_ollama.wire import split_params

    options, top = split_params({"options": {"top_logprobs": 4, "logprobs": True, "num_ctx": 2048}})
    assert top == {"top_logprobs": 4, "logprobs": True}
    assert options == {"num_ctx": 2048}
