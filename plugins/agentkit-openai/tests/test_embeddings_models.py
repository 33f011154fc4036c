"""Embeddings (batching, order by index) and model listing over real HTTP."""

from __future__ import annotations

import pytest

from agentkit.errors import ProviderError
from agentkit.testing.servers import RecordedRequest, Reply, json_reply


def shuffled_embeddings(req: RecordedRequest) -> Reply:
    texts = req.json()["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t)), float(i)]}
        for i, t in enumerate(texts)
    ]
    return json_reply({"object": "list", "data": list(reversed(data)), "model": req.json()["model"]})


async def test_embeddings_in_batches_in_input_order(serve, make_provider) -> None:
    server = serve(shuffled_embeddings)
    provider = make_provider(server.url + "/v1", embedding_batch_size=2)
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    vectors = await provider.embed("text-embedding-3-small", texts)
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0, 4.0, 5.0]  # order by index, across batches
    assert [r.json()["input"] for r in server.requests] == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert all(r.path == "/v1/embeddings" for r in server.requests)
    assert server.requests[0].json()["model"] == "text-embedding-3-small"


async def test_no_texts_no_request(serve, make_provider) -> None:
    server = serve(shuffled_embeddings)
    provider = make_provider(server.url + "/v1")
    assert await provider.embed("m", []) == []
    assert server.requests == []


async def test_wrong_count_is_an_error(serve, make_provider) -> None:
    server = serve([json_reply({"data": [{"index": 0, "embedding": [0.1]}]})])
    provider = make_provider(server.url + "/v1")
    with pytest.raises(ProviderError, match="asked for 2 embeddings, got 1"):
        await provider.embed("m", ["x", "y"])


async def test_list_models_with_context_windows(serve, make_provider) -> None:
    body = {
        "object": "list",
        "data": [
            {"id": "qwen2.5-7b", "object": "model", "owned_by": "vllm", "max_model_len": 32768},
            {"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"},
            {"id": "meta/llama-3.1-8b", "object": "model", "context_length": 131072},
        ],
    }
    server = serve([json_reply(body)])
    provider = make_provider(server.url + "/v1")
    models = await provider.list_models()
    assert [(m.id, m.context_window, m.provider) for m in models] == [
        ("gpt-4o-mini", None, "openai"),
        ("meta/llama-3.1-8b", 131072, "openai"),
        ("qwen2.5-7b", 32768, "openai"),
    ]
    assert models[0].details["owned_by"] == "openai"
    assert server.requests[0].method == "GET" and server.requests[0].path == "/v1/models"
