"""Fitting history into the context window, summaries of what was dropped, windows and costs."""

from __future__ import annotations

import logging

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentkit.default_plugins.tokens as builtin_tokens
from agentkit.context_budget import (
    SUMMARY_HEADER,
    TRIMMED_RESULT,
    cost_of,
    fit_messages,
    known_context_window,
    make_summarizer,
    summary_message,
    summary_prompt,
)
from agentkit.errors import ConfigError, ContextLengthError
from agentkit.events import ModelResponse
from agentkit.hookspecs import hookimpl
from agentkit.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.plugins import PluginHost
from agentkit.providers import ModelRequest, Provider, ToolSpec
from agentkit.tokens import count_message_tokens

MODEL = "words/test"  # counted by one token per word, so the arithmetic below is readable


def words(text: str) -> int:
    return len(text.split())


class WordCounter:
    @hookimpl
    def register_token_counters(self, registry):
        registry.add("words", words, models="words/*")


@pytest.fixture(scope="module")
def host() -> PluginHost:
    h = PluginHost(entry_points=False, defaults=False)
    h.register(builtin_tokens, name="agentkit.default_plugins.tokens")
    h.register(WordCounter(), name="word-counter")
    return h


def cost(messages, host) -> int:
    return count_message_tokens(messages, MODEL, host=host)


def text(n: int, word: str = "w") -> str:
    return " ".join([word] * n)


SYSTEM = SystemMessage("You are terse.")  # 3 + 1 + 3 = 7 tokens


def conversation() -> list[Message]:
    """Three turns (one with tools) and the latest user message; every message is 14 tokens."""
    return [
        SYSTEM,
        UserMessage(text(10, "first")),
        AssistantMessage(text(10, "a1")),
        UserMessage(text(10, "second")),
        AssistantMessage("", tool_calls=[ToolCall(id="c1", name="look", arguments=text(2, "x"))]),
        ToolMessage(tool_call_id="c1", name="look", content=text(8, "r1")),
        AssistantMessage(text(10, "a2")),
        UserMessage(text(10, "third")),
        AssistantMessage(text(10, "a3")),
        UserMessage(text(10, "latest")),
    ]


# -- trim ---------------------------------------------------------------------------------------


async def test_fitting_history_is_returned_whole(host: PluginHost) -> None:
    messages = conversation()
    out = await fit_messages(messages, model=MODEL, window=10_000, reserve=100, host=host)
    assert out == messages and out is not messages


async def test_trims_oldest_whole_turns_first(host: PluginHost) -> None:
    messages = conversation()
    total = cost(messages, host)
    # Room for everything but the first turn (user + assistant: 28 tokens).
    out = await fit_messages(messages, model=MODEL, window=total - 28 + 100, reserve=100, host=host)
    assert out == [messages[0], *messages[3:]]
    # One token less: the second turn (with its tool call and result) goes too, never half of it.
    out = await fit_messages(messages, model=MODEL, window=total - 28 + 99, reserve=100, host=host)
    assert out == [messages[0], *messages[7:]]
    assert cost(out, host) <= total - 28 - 1


async def test_system_messages_and_latest_user_message_stay(host: PluginHost) -> None:
    messages = conversation()
    memory = SystemMessage("Known about the user: likes tea.")
    messages.insert(4, memory)  # a system message in the middle of history
    must = cost([messages[0], memory, messages[-1]], host)
    out = await fit_messages(messages, model=MODEL, window=must, reserve=0, host=host)
    assert out == [messages[0], memory, messages[-1]]


async def test_the_latest_input_alone_too_big_is_a_context_length_error(host: PluginHost) -> None:
    messages = [SYSTEM, UserMessage(text(5)), AssistantMessage(text(5)), UserMessage(text(500))]
    with pytest.raises(ContextLengthError) as info:
        await fit_messages(messages, model="words/test", window=300, reserve=50, host=host)
    error = info.value
    assert error.provider == "words" and error.model == "test"
    assert "need 514 tokens" in str(error) and "context window is 300 tokens with 50 reserved" in str(error)
    assert error.hint and "context_window" in error.hint


async def test_reserve_larger_than_window(host: PluginHost) -> None:
    with pytest.raises(ContextLengthError, match="context window is 100 tokens with 200 reserved"):
        await fit_messages([UserMessage("hi")], model=MODEL, window=100, reserve=200, host=host)


def shortened(message: Message) -> Message:
    return attrs.evolve(message, content=TRIMMED_RESULT)


async def test_older_tool_results_are_shortened_first_then_turns_then_steps(host: PluginHost) -> None:
    steps: list[Message] = []
    for i in range(3):
        steps.append(AssistantMessage("", tool_calls=[ToolCall(id=f"c{i}", name="look", arguments=text(5))]))
        steps.append(ToolMessage(tool_call_id=f"c{i}", name="look", content=text(40, f"r{i}")))
    messages = [
        SYSTEM,
        UserMessage(text(10, "old")),
        AssistantMessage(text(10)),
        UserMessage("do it"),
        *steps,
    ]
    short = [steps[0], shortened(steps[1]), steps[2], shortened(steps[3]), steps[4], steps[5]]
    # Room once the older results are shortened: every message stays, the latest result whole.
    whole = [*messages[:4], *short]
    out = await fit_messages(messages, model=MODEL, window=cost(whole, host), reserve=0, host=host)
    assert out == whole
    # Less room: then the oldest turn goes, the run's steps keep their shortened results.
    no_old_turn = [SYSTEM, messages[3], *short]
    out = await fit_messages(messages, model=MODEL, window=cost(no_old_turn, host), reserve=0, host=host)
    assert out == no_old_turn
    # Less still: the run's oldest steps go, oldest first; the last one stays whole.
    keep_two = [SYSTEM, messages[3], *short[2:]]
    out = await fit_messages(messages, model=MODEL, window=cost(keep_two, host), reserve=0, host=host)
    assert out == keep_two
    assert messages[5].content == text(40, "r0")  # the input list is not changed
    keep_one = [SYSTEM, messages[3], *steps[4:]]
    out = await fit_messages(messages, model=MODEL, window=cost(keep_one, host), reserve=0, host=host)
    assert out == keep_one
    with pytest.raises(ContextLengthError):
        await fit_messages(messages, model=MODEL, window=cost(keep_one, host) - 1, reserve=0, host=host)


async def test_tool_specs_count_against_the_window(host: PluginHost) -> None:
    messages = conversation()
    total = cost(messages, host)
    tool = ToolSpec(name="look", description=text(50), parameters={"type": "object", "properties": {}})
    assert await fit_messages(messages, model=MODEL, window=total, reserve=0, host=host) == messages
    out = await fit_messages(messages, model=MODEL, window=total, reserve=0, tools=[tool], host=host)
    assert len(out) < len(messages)


async def test_with_real_tiktoken_counts() -> None:
    messages = [SystemMessage("You are terse."), *[UserMessage(f"question {i} " * 50) for i in range(20)]]
    out = await fit_messages(messages, model="openai/gpt-4", window=1_000, reserve=200)
    assert out[0] == messages[0] and out[-1] == messages[-1]
    assert count_message_tokens(out, "openai/gpt-4") <= 800 < count_message_tokens(messages, "openai/gpt-4")


async def test_bad_strategy() -> None:
    with pytest.raises(ValueError, match="unknown context strategy 'drop'"):
        await fit_messages([], model=MODEL, window=10, reserve=0, strategy="drop")
    with pytest.raises(ValueError, match="needs a summarizer"):
        await fit_messages([], model=MODEL, window=10, reserve=0, strategy="summarize")


# Property: whatever the history, the fitted one keeps its invariants.
_kinds = st.lists(
    st.tuples(
        st.sampled_from(["user", "assistant", "tools", "system"]), st.integers(1, 30), st.integers(1, 3)
    ),
    min_size=1,
    max_size=25,
)


def _history(spec) -> list[Message]:
    messages: list[Message] = [SYSTEM]
    for i, (kind, size, calls) in enumerate(spec):
        if kind == "user":
            messages.append(UserMessage(text(size, f"u{i}")))
        elif kind == "assistant":
            messages.append(AssistantMessage(text(size, f"a{i}")))
        elif kind == "system":
            messages.append(SystemMessage(text(size, f"s{i}")))
        else:
            ids = [f"c{i}_{j}" for j in range(calls)]
            messages.append(
                AssistantMessage("", tool_calls=[ToolCall(id=c, name="t", arguments="{}") for c in ids])
            )
            messages.extend(ToolMessage(tool_call_id=c, name="t", content=text(size)) for c in ids)
    messages.append(UserMessage(text(3, "latest")))
    return messages


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_kinds, window=st.integers(20, 600))
async def test_fitted_history_invariants(host: PluginHost, spec, window: int) -> None:
    messages = _history(spec)
    try:
        out = await fit_messages(messages, model=MODEL, window=window, reserve=10, host=host)
    except ContextLengthError:
        must = [m for m in messages if isinstance(m, SystemMessage)] + [messages[-1]]
        assert cost(must, host) > window - 10  # raised only when what must stay does not fit
        return
    assert cost(out, host) <= window - 10
    # Order is kept: the result is a subsequence of the input, some older tool results shortened.
    it = iter(messages)
    assert all(any(m is n or (isinstance(n, ToolMessage) and m == shortened(n)) for n in it) for m in out)
    # System messages and the latest user message are never dropped.
    assert [m for m in out if isinstance(m, SystemMessage)] == [
        m for m in messages if isinstance(m, SystemMessage)
    ]
    assert out[-1] is messages[-1]
    # No tool result without its call, no call without its results.
    calls = {c.id for m in out if isinstance(m, AssistantMessage) for c in m.tool_calls}
    results = {m.tool_call_id for m in out if isinstance(m, ToolMessage)}
    assert calls == results
    # History after the system messages starts with a user message whenever one was dropped.
    first = next(m for m in out if not isinstance(m, SystemMessage))
    if len(out) < len(messages) and any(isinstance(m, UserMessage) for m in messages[1:-1]):
        assert isinstance(first, UserMessage)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_kinds, window=st.integers(40, 600))
async def test_summarized_history_invariants(host: PluginHost, spec, window: int) -> None:
    messages = _history(spec)
    summarizer = Summarizer(text(300, "summary"))
    try:
        out = await fit_messages(
            messages,
            model=MODEL,
            window=window,
            reserve=10,
            strategy="summarize",
            summarizer=summarizer,
            host=host,
        )
    except ContextLengthError:
        return
    assert cost(out, host) <= window - 10
    assert out[-1] is messages[-1]
    calls = {c.id for m in out if isinstance(m, AssistantMessage) for c in m.tool_calls}
    assert calls == {m.tool_call_id for m in out if isinstance(m, ToolMessage)}
    summaries = [m for m in out if isinstance(m, SystemMessage) and m.content.startswith(SUMMARY_HEADER)]
    assert len(summaries) <= 1
    if summaries:
        assert summarizer.calls
        at = out.index(summaries[0])
        first_gone = messages.index(summarizer.calls[-1][0])  # the summarizer gets them whole

        def position(m: Message) -> int:  # in the input, for a shortened tool result too
            if isinstance(m, ToolMessage) and m.content == TRIMMED_RESULT:
                return next(i for i, n in enumerate(messages) if getattr(n, "tool_call_id", None) == m.tool_call_id)
            return messages.index(m)

        assert all(position(m) < first_gone for m in out[:at])  # where the dropped ones were
        assert all(position(m) > first_gone for m in out[at + 1 :])
        assert not any(m in out for m in summarizer.calls[-1])  # it stands for messages no longer there


# -- summarize ----------------------------------------------------------------------------------


class Summarizer:
    def __init__(self, answer: str = "The user asked about w; the assistant answered.") -> None:
        self.answer = answer
        self.calls: list[tuple[Message, ...]] = []

    async def __call__(self, messages) -> str:
        self.calls.append(tuple(messages))
        return self.answer


async def test_summarize_inserts_a_summary_of_what_was_dropped(host: PluginHost) -> None:
    messages = conversation()
    summarizer = Summarizer()
    window = cost(messages, host) - 30  # 132 - 30: the summary's allowance makes two turns go
    out = await fit_messages(
        messages,
        model=MODEL,
        window=window,
        reserve=0,
        strategy="summarize",
        summarizer=summarizer,
        host=host,
    )
    (dropped,) = summarizer.calls
    assert dropped == tuple(messages[1:7])  # the first two turns, tool call and result included
    assert out[0] == SYSTEM
    assert out[1] == summary_message(summarizer.answer)
    assert out[1].content.startswith(SUMMARY_HEADER)
    assert out[2:] == messages[7:]
    assert cost(out, host) <= window


async def test_summaries_are_cached_for_the_same_dropped_messages(host: PluginHost) -> None:
    messages = conversation()
    summarizer = Summarizer()
    kwargs = dict(model=MODEL, window=100, reserve=0, strategy="summarize", summarizer=summarizer, host=host)
    first = await fit_messages(messages, **kwargs)
    second = await fit_messages(messages, **kwargs)
    assert first == second and len(summarizer.calls) == 1


async def test_a_long_summary_is_cut_to_fit(host: PluginHost) -> None:
    messages = conversation()
    summarizer = Summarizer(text(5000, "s"))
    out = await fit_messages(
        messages, model=MODEL, window=100, reserve=0, strategy="summarize", summarizer=summarizer, host=host
    )
    summary = next(m for m in out[1:] if isinstance(m, SystemMessage))
    assert summary.content.startswith(SUMMARY_HEADER) and summary.content.endswith("…")
    assert cost(out, host) <= 100


async def test_a_failed_summary_falls_back_to_trimming(
    host: PluginHost, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(messages):
        raise RuntimeError("summarizer model down")

    messages = conversation()
    with caplog.at_level(logging.WARNING, logger="agentkit.context_budget"):
        out = await fit_messages(
            messages, model=MODEL, window=100, reserve=0, strategy="summarize", summarizer=broken, host=host
        )
    trimmed = await fit_messages(messages, model=MODEL, window=100, reserve=0, host=host)
    assert out[0] == SYSTEM and out[-1] == messages[-1]
    assert set(out) <= set(trimmed) | set(messages)
    assert "summarizer model down" in caplog.text


def test_summary_prompt() -> None:
    prompt = summary_prompt(
        [
            UserMessage("What's the weather in Oslo?"),
            AssistantMessage("", tool_calls=[ToolCall(id="c", name="weather", arguments='{"city": "Oslo"}')]),
            ToolMessage(tool_call_id="c", name="weather", content="-3 C, snow"),
            ToolMessage(tool_call_id="d", name="maps", content="timeout", is_error=True),
            AssistantMessage("It is -3 C and snowing."),
            UserMessage("x" * 10_000),
        ]
    )
    assert prompt.startswith("Summarize the conversation below")
    assert "user: What's the weather in Oslo?" in prompt
    assert 'assistant called tool weather with {"city": "Oslo"}' in prompt
    assert "tool weather returned: -3 C, snow" in prompt and "tool maps failed: timeout" in prompt
    assert "assistant: It is -3 C and snowing." in prompt
    assert "[…cut]" in prompt and len(prompt) < 6_000
    huge = summary_prompt([UserMessage(text(1000, "y"))] * 100)
    assert len(huge) < 62_000 and "earlier messages cut" in huge


async def test_make_summarizer_asks_the_model() -> None:
    class Echo(Provider):
        def __init__(self) -> None:
            self.requests: list[ModelRequest] = []

        async def complete(self, request: ModelRequest) -> ModelResponse:
            self.requests.append(request)
            return ModelResponse(message=AssistantMessage("  They talked about Oslo.  "))

    provider = Echo()
    summarize = make_summarizer(provider, "small-model", params={"max_tokens": 300})
    assert await summarize([UserMessage("Weather in Oslo?")]) == "They talked about Oslo."
    (request,) = provider.requests
    assert request.model == "small-model" and request.params == {"max_tokens": 300}
    assert "user: Weather in Oslo?" in request.messages[0].text


# -- context windows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("openai/gpt-4o", 128_000),
        ("gpt-4o-mini", 128_000),
        ("openai/gpt-4.1-mini", 1_047_576),
        ("gpt-4", 8_192),
        ("gpt-4-turbo-2024-04-09", 128_000),
        ("o1-mini", 128_000),
        ("o3", 200_000),
        ("anthropic/claude-3-5-sonnet-latest", 200_000),
        ("gemini-1.5-pro", 2_097_152),
        ("ollama/llama3", 8_192),
        ("ollama/llama3.1:8b", 131_072),
        ("qwen2.5:7b", 32_768),
        ("mistral-large-latest", 128_000),
        ("ollama/mistral", 32_768),
        ("something-new", None),
    ],
)
def test_known_context_windows(model: str, window: int | None) -> None:
    assert known_context_window(model) == window


def test_context_window_overrides() -> None:
    assert known_context_window("ollama/llama3.1:8b", windows={"ollama/*": 8_192}) == 8_192
    assert known_context_window("my-model", windows={"my-model": 4_096}) == 4_096
    assert known_context_window("gpt-4o", windows={"other": 1}) == 128_000


# -- cost ---------------------------------------------------------------------------------------

PRICES = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60, "cached_input": 0.075},
    "openai/*": {"input": 2.5, "output": 10.0},
    "claude-3-5*": {"input": 3.0, "output": 15.0},
}


def test_cost_of() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cached_tokens=200_000)
    assert cost_of(usage, "openai/gpt-4o-mini", PRICES) == pytest.approx(
        0.8 * 0.15 + 0.2 * 0.075 + 0.5 * 0.60
    )
    assert cost_of(usage, "openai/gpt-4o", PRICES) == pytest.approx(2.5 + 5.0)  # cached at the input price
    assert cost_of(usage, "anthropic/claude-3-5-haiku", PRICES) == pytest.approx(3.0 + 7.5)
    assert cost_of(Usage(), "openai/gpt-4o", PRICES) == 0.0
    assert cost_of(usage, "ollama/llama3", PRICES) is None
    assert cost_of(usage, "gpt-4o", None) is None and cost_of(usage, "gpt-4o", {}) is None
    assert cost_of(Usage(input_tokens=10), "embed", {"embed": {"input": 1.0}}) == pytest.approx(1e-5)


def test_bad_prices_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"prices.gpt-4o.inptu: unknown price key 'inptu'"):
        cost_of(Usage(input_tokens=1), "gpt-4o", {"gpt-4o": {"inptu": 1.0}})
    with pytest.raises(ConfigError, match=r"prices.gpt-4o.output: a price is a number >= 0"):
        cost_of(Usage(input_tokens=1), "gpt-4o", {"gpt-4o": {"input": 1.0, "output": "cheap"}})
    with pytest.raises(ConfigError, match=r"prices.gpt-4o: a price is a table"):
        cost_of(Usage(input_tokens=1), "gpt-4o", {"gpt-4o": 1.0})
