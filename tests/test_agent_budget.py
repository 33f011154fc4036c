"""Context window fitting, usage and cost, the synthesizer model, and memory recall in the loop."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import (
    AssistantMessage,
    ModelRequest,
    SystemMessage,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.agent import Agent
from agentkit.hookspecs import hookimpl
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


class WordCounter:
    """Counts scripted models' tokens as words: exact and offline."""

    @hookimpl
    def register_token_counters(self, registry: Any) -> None:
        registry.add("words", lambda text: len(text.split()), models="scripted/*")


@pytest.fixture
def words(plugin_host: Any) -> Any:
    plugin_host.register(WordCounter(), name="words")
    return plugin_host


@tool
def lookup(q: str) -> str:
    """Look something up."""
    return "found " + q


def _long_history(turns: int) -> list[Any]:
    history: list[Any] = []
    for i in range(turns):
        history += [UserMessage(f"question {i} " + "word " * 50), AssistantMessage(f"answer {i} " + "word " * 50)]
    return history


def test_messages_are_fitted_to_the_providers_window(words: Any) -> None:
    provider = ScriptedProvider(["short answer"], context_window=400)
    agent = Agent("scripted/m", provider=provider, system="Be brief.", params={"max_tokens": 50})
    history = _long_history(10)
    result = agent.run("latest question", history=history)
    sent = provider.requests[0].messages
    assert sent[0] == SystemMessage("Be brief.")
    assert sent[-1] == UserMessage("latest question")
    assert len(sent) < len(history) + 2  # the oldest turns were dropped
    assert result.messages[0] == UserMessage("latest question")  # the result is not trimmed


def test_agent_context_window_is_the_fallback(words: Any) -> None:
    provider = ScriptedProvider(["ok"])
    agent = Agent("scripted/unknown-model", provider=provider, context_window=300, params={"max_tokens": 20})
    agent.run("now", history=_long_history(10))
    assert len(provider.requests[0].messages) < 21


def test_agent_context_window_beats_the_providers(words: Any) -> None:
    """An explicit window wins: a server may run a model with less than its full window."""
    roomy = ScriptedProvider(["ok"], context_window=100_000)
    agent = Agent("scripted/gpt-4o", provider=roomy, context_window=300, params={"max_tokens": 20})
    agent.run("now", history=_long_history(10))
    assert len(roomy.requests[0].messages) < 21


def test_unknown_window_sends_everything(words: Any) -> None:
    provider = ScriptedProvider(["ok"])
    agent = Agent("scripted/unknown-model", provider=provider)
    agent.run("now", history=_long_history(10))
    assert len(provider.requests[0].messages) == 21


def test_summarize_strategy_uses_the_model_and_counts_it(words: Any) -> None:
    def answer(request: ModelRequest) -> str:
        if len(request.messages) == 1:  # the summary request: one user message with the transcript
            return "they talked about words"
        return "final answer"

    provider = ScriptedProvider([answer], context_window=400, repeat_last=True)
    agent = Agent("scripted/m", provider=provider, context_strategy="summarize", params={"max_tokens": 50})
    result = agent.run("latest", history=_long_history(10))
    main = provider.requests[-1]
    assert any(isinstance(m, SystemMessage) and "they talked about words" in m.content for m in main.messages)
    assert result.text == "final answer"
    assert result.usage.requests == 2  # the summary call is counted


def test_cost_with_prices(scripted_agent: Any) -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, requests=1)
    agent = scripted_agent(
        [AssistantMessage("a", usage=usage), AssistantMessage("b", usage=usage)],
        prices={"scripted/*": {"input": 1.0, "output": 2.0}},
    )
    first = agent.run("x")
    assert first.usage.cost == pytest.approx(2.0)
    assert first.messages[-1].usage.cost == pytest.approx(2.0)
    assert scripted_agent(["free"]).run("x").usage.cost is None


def test_synthesizer_model_after_tool_results(scripted_agent: Any) -> None:
    script = [tool_calls(("lookup", {"q": "x"})), tool_calls(("lookup", {"q": "y"})), "summary"]
    agent = scripted_agent(script, tools=[lookup], model="scripted/big", synthesizer_model="scripted/small")
    result = agent.run("research")
    assert [r.model for r in agent.provider.requests] == ["big", "small", "small"]
    assert [m.model for m in result.messages if isinstance(m, AssistantMessage)] == ["big", "small", "small"]


def test_synthesizer_on_another_provider(plugin_host: Any) -> None:
    cheap = ScriptedProvider(["cheap summary"], name="cheap")

    class Cheap:
        @hookimpl
        def register_providers(self, registry: Any) -> None:
            registry.add("cheap", lambda base_url=None, api_key=None, **_: cheap)

    plugin_host.register(Cheap(), name="cheap")
    main = ScriptedProvider([tool_calls(("lookup", {"q": "x"}))])
    agent = Agent("scripted/big", provider=main, tools=[lookup], synthesizer_model="cheap/tiny")
    result = agent.run("go")
    assert result.text == "cheap summary"
    assert cheap.requests[0].model == "tiny"
    assert isinstance(cheap.requests[0].messages[-1], ToolMessage)


def test_memory_recall_block_after_the_system_prompt(scripted_agent: Any) -> None:
    from agentkit.memory import resolve_memory

    memory = resolve_memory("memory")
    import asyncio

    asyncio.run(memory.add("The user's favourite colour is teal", user_id="u1"))
    agent = scripted_agent(["teal!"], system="You are helpful.", memory=memory)
    agent.run("what is my favourite colour?", user_id="u1")
    sent = agent.provider.requests[0].messages
    assert sent[0] == SystemMessage("You are helpful.")
    assert isinstance(sent[1], SystemMessage) and "teal" in sent[1].content and "<memory>" in sent[1].content
    assert sent[2] == UserMessage("what is my favourite colour?")


def test_memory_by_name_with_tools_and_no_auto_recall(scripted_agent: Any) -> None:
    script = [tool_calls(("remember", {"text": "likes tea"})), "noted"]
    agent = scripted_agent(script, memory="memory", memory_settings={"tools": True, "auto_recall": False})
    result = agent.run("remember that I like tea", user_id="u2")
    assert [t.name for t in agent.provider.requests[0].tools] == ["remember", "recall"]
    assert result.messages[2].content.startswith("remembered")
    assert not any(isinstance(m, SystemMessage) for m in agent.provider.requests[0].messages)


