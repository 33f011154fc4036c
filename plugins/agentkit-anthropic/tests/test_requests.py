"""What the provider sends: every body passes the SDK's request types at the fake API."""

from __future__ import annotations

import base64

import pytest
from agentkit_anthropic.provider import AnthropicProvider
from agentkit_anthropic.wire import DEFAULT_MAX_TOKENS, WireOptions, build_messages_body
from fake_anthropic_server import KEY, Turn, text, tool_use

from agentkit.errors import AuthenticationError, ConfigError
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    ReasoningBlock,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.providers import ModelRequest, ToolSpec

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ADD = ToolSpec("add", "Add two integers.", {"type": "object", "properties": {"a": {"type": "integer"}}})


def req(*messages, **kwargs) -> ModelRequest:
    return ModelRequest("claude-sonnet-4-5", messages or [UserMessage("hi")], **kwargs)


async def test_headers_and_a_minimal_body(fake, provider) -> None:
    response = await provider.complete(req())
    assert response.message.content == "ok" and response.finish_reason == "stop"
    headers = fake.headers[-1]
    assert headers["x-api-key"] == KEY and headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    body = fake.requests[-1]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS and "stream" not in body
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}]


async def test_system_is_top_level_and_same_role_turns_merge(fake, provider) -> None:
    history = [
        SystemMessage("Be brief."),
        UserMessage("one"),
        UserMessage("two"),
        AssistantMessage(tool_calls=[ToolCall("toolu_1", "add", '{"a": 1}'), ToolCall("toolu_2", "add", '{"a": 2}')]),
        ToolMessage("toolu_1", "add", "1"),
        ToolMessage("toolu_2", "add", "no such number", is_error=True),
        UserMessage("and now?"),
    ]
    await provider.complete(req(*history, tools=[ADD]))
    body = fake.requests[-1]
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    roles = [t["role"] for t in body["messages"]]
    assert roles == ["user", "assistant", "user"]  # alternating: the two user turns and the results merged
    assert [b["text"] for b in body["messages"][0]["content"]] == ["one", "two"]
    calls = body["messages"][1]["content"]
    assert [(c["type"], c["id"], c["input"]) for c in calls] == [("tool_use", "toolu_1", {"a": 1}), ("tool_use", "toolu_2", {"a": 2})]
    results = body["messages"][2]["content"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "toolu_1", "content": "1"}
    assert results[1] == {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no such number", "is_error": True}
    assert results[2]["text"] == "and now?"
    assert body["tools"] == [
        {"name": "add", "input_schema": dict(ADD.parameters), "description": "Add two integers.", "cache_control": {"type": "ephemeral"}}
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [("auto", {"type": "auto"}), ("none", {"type": "none"}), ("required", {"type": "any"}), ("add", {"type": "tool", "name": "add"})],
)
async def test_tool_choice_forms(fake, provider, choice, wire) -> None:
    fake.script(Turn([tool_use("toolu_1", "add", {"a": 1})]))
    response = await provider.complete(req(tools=[ADD], tool_choice=choice))
    assert fake.requests[-1]["tool_choice"] == wire
    assert response.message.tool_calls == (ToolCall("toolu_1", "add", '{"a": 1}'),)
    assert response.finish_reason == "tool_calls"


async def test_images_by_url_and_as_base64(fake, provider, tmp_path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    message = UserMessage(
        [TextPart("what are these?"), ImagePart(url="https://example.com/cat.jpg"), ImagePart(path=str(path)), ImagePart(data=PNG)]
    )
    await provider.complete(req(message))
    content = fake.requests[-1]["messages"][0]["content"]
    assert content[1] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    encoded = base64.b64encode(PNG).decode()
    assert content[2]["source"] == {"type": "base64", "media_type": "image/png", "data": encoded}
    assert content[3]["source"] == {"type": "base64", "media_type": "image/png", "data": encoded}


async def test_tool_images_go_inside_the_tool_result(fake, provider) -> None:
    history = [
        UserMessage("look"),
        AssistantMessage(tool_calls=[ToolCall("toolu_1", "shot", "{}")]),
        ToolMessage("toolu_1", "shot", "a screenshot", images=[ImagePart(data=PNG)]),
    ]
    await provider.complete(req(*history, tools=[ToolSpec("shot", "", {"type": "object", "properties": {}})]))
    result = fake.requests[-1]["messages"][2]["content"][0]
    assert result["type"] == "tool_result" and result["content"][0] == {"type": "text", "text": "a screenshot"}
    assert result["content"][1]["type"] == "image" and result["content"][1]["source"]["type"] == "base64"


async def test_params_pass_through_and_max_tokens_is_always_sent(fake, provider) -> None:
    params = {"max_tokens": 77, "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}, "service_tier": "auto"}
    await provider.complete(req(params=params))
    body = fake.requests[-1]
    assert body["max_tokens"] == 77 and body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-1"} and body["service_tier"] == "auto"


def test_sampling_params_are_sent_as_given() -> None:
    # temperature and top_p are passed through untouched (older models take them; the SDK the
    # fake API checks against no longer lists them, so this one is checked without the server)
    body = build_messages_body(req(params={"temperature": 0.2, "top_p": 0.9}), stream=False)
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9


def test_reserved_params_are_refused_clearly() -> None:
    provider = AnthropicProvider(api_key=KEY)
    with pytest.raises(ConfigError, match="params\\['system'\\] cannot be set"):
        provider._body(req(params={"system": "x"}), stream=False)


async def test_thinking_blocks_go_back_first_and_unchanged(fake, provider) -> None:
    blocks = (
        ReasoningBlock("anthropic", text="Let me add.", signature="sig-Ab+/=="),
        ReasoningBlock("anthropic", data="ENCRYPTED=="),
        ReasoningBlock("someone-else", text="not for Claude"),
    )
    history = [
        UserMessage("add 1"),
        AssistantMessage("Adding.", tool_calls=[ToolCall("toolu_1", "add", '{"a": 1}')], reasoning_blocks=blocks),
        ToolMessage("toolu_1", "add", "1"),
    ]
    await provider.complete(req(*history, tools=[ADD], params={"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048}))
    content = fake.requests[-1]["messages"][1]["content"]
    assert content[0] == {"type": "thinking", "thinking": "Let me add.", "signature": "sig-Ab+/=="}
    assert content[1] == {"type": "redacted_thinking", "data": "ENCRYPTED=="}
    assert [b["type"] for b in content[2:]] == ["text", "tool_use"]


async def test_forced_tool_choice_gives_way_while_thinking(fake, provider) -> None:
    fake.script(Turn([tool_use("toolu_1", "add", {"a": 1})]))
    await provider.complete(req(tools=[ADD], tool_choice="required", params={"thinking": {"type": "adaptive"}}))
    assert fake.requests[-1]["tool_choice"] == {"type": "auto"}
    assert fake.requests[-1]["thinking"] == {"type": "adaptive"}


def test_at_most_four_breakpoints_on_the_stable_prefix() -> None:
    history = [SystemMessage("sys")]
    for i in range(6):
        history += [UserMessage(f"q{i}"), AssistantMessage(f"a{i}")]
    history.append(UserMessage("last"))
    body = build_messages_body(req(*history, tools=[ADD]), stream=False)
    marked = [
        where
        for where, blocks in [("tools", body["tools"]), ("system", body["system"])]
        + [(f"turn{i}", t["content"]) for i, t in enumerate(body["messages"])]
        for b in blocks
        if "cache_control" in b
    ]
    last = len(body["messages"]) - 1
    assert marked == ["tools", "system", f"turn{last - 2}", f"turn{last}"]  # the previous call's end, this one's
    # a top-level cache_control (automatic caching) takes one of the four
    auto = build_messages_body(req(*history, tools=[ADD], params={"cache_control": {"type": "ephemeral"}}), stream=False)
    assert str(auto).count("cache_control") == 4
    off = build_messages_body(req(*history, tools=[ADD]), stream=False, options=WireOptions(cache=False))
    assert "cache_control" not in str(off)
    hour = build_messages_body(req(), stream=False, options=WireOptions(cache_ttl="1h"))
    assert hour["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


async def test_no_key_fails_before_any_request(fake) -> None:
    provider = AnthropicProvider(base_url=fake.url)
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        await provider.complete(req())
    assert fake.requests == []


async def test_a_refused_key_names_its_source_never_the_key(fake) -> None:
    provider = AnthropicProvider(base_url=fake.url + "/v1", api_key="sk-ant-wrong-key-123456789")
    with pytest.raises(AuthenticationError) as info:
        await provider.complete(req())
    assert info.value.status_code == 401 and "api_key" in str(info.value)
    assert "sk-ant-wrong" not in str(info.value) and "sk-ant" not in repr(provider)
    await provider.aclose()


async def test_key_and_base_url_from_the_environment(fake, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    provider = AnthropicProvider()
    assert (await provider.complete(req())).message.content == "ok"
    await provider.aclose()


def test_unknown_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'cahce'"):
        AnthropicProvider(api_key=KEY, cahce=False)
    with pytest.raises(ConfigError, match="cache_ttl"):
        AnthropicProvider(api_key=KEY, cache_ttl="2h")


async def test_list_models(fake, provider) -> None:
    assert [m.id for m in await provider.list_models()] == ["claude-haiku-4-5", "claude-sonnet-4-5"]


async def test_count_tokens_endpoint(fake, provider) -> None:
    count = await provider.count_tokens(req(SystemMessage("s"), UserMessage("hello"), tools=[ADD]))
    body = fake.count_requests[-1]
    assert count == fake.count_tokens(body)
    assert "max_tokens" not in body and "cache_control" not in str(body) and body["tools"][0]["name"] == "add"


def test_text_of_a_message_round_trip() -> None:
    # an assistant turn with only text and the reply to it
    body = build_messages_body(req(UserMessage("a"), AssistantMessage("b"), UserMessage("c")), stream=True)
    assert body["stream"] is True and [t["role"] for t in body["messages"]] == ["user", "assistant", "user"]
    assert text("x") == {"type": "text", "text": "x"}
