"""Structured output: types to schemas, native vs final_answer tool, validation and re-asks."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Literal, TypedDict

import attrs
import pytest

from agentkit import ConfigError, OutputValidationError, ToolMessage, UserMessage
from agentkit.agent import Agent
from agentkit.output import FINAL_ANSWER_TOOL, output_spec, strict_allowed
from agentkit.testing import ScriptedProvider, tool_calls
from agentkit.tools import tool


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen
class City:
    """A city and how many people live there."""

    name: str
    population: int
    color: Color


@dataclasses.dataclass
class Pet:
    name: str
    legs: int = 4


class Movie(TypedDict):
    title: str
    year: int


def _final(args: dict[str, Any]) -> Any:
    return tool_calls((FINAL_ANSWER_TOOL, args))


def test_attrs_output_via_the_final_answer_tool(scripted_agent: Any) -> None:
    agent = scripted_agent([_final({"name": "Oslo", "population": 700000, "color": "blue"})], output_type=City)
    result = agent.run("Tell me about Oslo")
    assert result.output == City("Oslo", 700000, Color.BLUE)
    assert json.loads(result.text) == {"name": "Oslo", "population": 700000, "color": "blue"}
    request = agent.provider.requests[0]
    assert request.tool_choice == FINAL_ANSWER_TOOL
    assert [t.name for t in request.tools] == [FINAL_ANSWER_TOOL]
    assert request.tools[0].parameters["required"] == ["name", "population", "color"]
    assert request.output_schema is None
    # the history stays valid: the final_answer call is answered
    assert isinstance(result.messages[-1], ToolMessage) and result.messages[-1].content == "Final answer received."


def test_with_other_tools_the_model_must_call_some_tool(scripted_agent: Any) -> None:
    @tool
    def lookup(city: str) -> int:
        """Population of a city."""
        return 700000

    script = [tool_calls(("lookup", {"city": "Oslo"})), _final({"name": "Oslo", "population": 700000, "color": "red"})]
    agent = scripted_agent(script, tools=[lookup], output_type=City)
    result = agent.run("Oslo?")
    assert result.output.population == 700000
    assert agent.provider.requests[0].tool_choice == "required"
    assert {t.name for t in agent.provider.requests[0].tools} == {"lookup", FINAL_ANSWER_TOOL}


def test_native_structured_output(scripted_agent: Any) -> None:
    agent = scripted_agent(
        ['{"name": "Rex", "legs": 3}'], output_type=Pet, provider_options={"structured_output": True}
    )
    result = agent.run("A pet")
    assert result.output == Pet("Rex", 3)
    request = agent.provider.requests[0]
    assert request.output_schema is not None
    assert request.output_schema.name == "Pet"
    assert request.output_schema.strict is False  # legs has a default: strict mode cannot express it
    assert request.tools == ()


def test_native_output_in_a_code_fence(scripted_agent: Any) -> None:
    agent = scripted_agent(
        ['```json\n{"title": "Alien", "year": 1979}\n```'], output_type=Movie,
        provider_options={"structured_output": True},
    )
    assert agent.run("A film").output == {"title": "Alien", "year": 1979}


def test_strict_only_when_the_schema_allows() -> None:
    city = output_spec(City)
    pet = output_spec(Pet)
    assert city is not None and city.strict is True
    assert pet is not None and pet.strict is False
    assert strict_allowed({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                           "additionalProperties": False})
    assert not strict_allowed({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    assert not strict_allowed({"type": "object", "additionalProperties": {"type": "string"}})
    nested_loose = {
        "type": "object",
        "properties": {"inner": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "required": ["inner"],
        "additionalProperties": False,
    }
    assert not strict_allowed(nested_loose)


def test_json_schema_dict_and_the_named_form(scripted_agent: Any) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    agent = scripted_agent(['{"ok": true}'], output_type=schema, provider_options={"structured_output": True})
    assert agent.run("?").output == {"ok": True}
    assert agent.provider.requests[0].output_schema.name == "output"

    named = {"name": "verdict", "schema": schema, "strict": False}
    agent = scripted_agent(['{"ok": false}'], output_type=named, provider_options={"structured_output": True})
    assert agent.run("?").output == {"ok": False}
    sent = agent.provider.requests[0].output_schema
    assert (sent.name, sent.strict) == ("verdict", False)


def test_non_object_types_are_wrapped(scripted_agent: Any) -> None:
    agent = scripted_agent([_final({"result": [3, 1, 2]})], output_type=list[int])
    result = agent.run("numbers")
    assert result.output == [3, 1, 2]
    assert agent.provider.requests[0].tools[0].parameters["required"] == ["result"]

    agent = scripted_agent(['{"result": "no"}'], output_type=Literal["yes", "no"],
                           provider_options={"structured_output": True})
    assert agent.run("?").output == "no"


def test_pydantic_model_when_installed(scripted_agent: Any) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):
        name: str
        age: int

    agent = scripted_agent(['{"name": "Ada", "age": "not a number"}', '{"name": "Ada", "age": 36}'],
                           output_type=Person, provider_options={"structured_output": True})
    result = agent.run("Who?")
    assert isinstance(result.output, Person) and result.output.age == 36


def test_invalid_answer_is_re_asked_with_the_errors(scripted_agent: Any) -> None:
    script = [
        _final({"name": "Oslo", "population": "lots", "color": "green"}),
        _final({"name": "Oslo", "population": 700000, "color": "red"}),
    ]
    agent = scripted_agent(script, output_type=City)
    result = agent.run("Oslo")
    assert result.output.population == 700000
    error_result = result.messages[2]
    assert isinstance(error_result, ToolMessage) and error_result.is_error
    assert "@ $.population" in error_result.content and "@ $.color" in error_result.content
    assert agent.provider.requests[1].messages[-1] == error_result


def test_native_invalid_answer_is_re_asked(scripted_agent: Any) -> None:
    agent = scripted_agent(['not json at all', '{"name": "Rex"}'], output_type=Pet,
                           provider_options={"structured_output": True})
    result = agent.run("pet")
    assert result.output == Pet("Rex")
    retry = agent.provider.requests[1].messages[-1]
    assert isinstance(retry, UserMessage) and "not valid JSON" in retry.text


def test_output_retries_exhausted(scripted_agent: Any) -> None:
    bad = _final({"name": "Oslo"})
    agent = scripted_agent([bad, bad, bad], output_type=City, output_retries=2)
    with pytest.raises(OutputValidationError) as info:
        agent.run("Oslo")
    error = info.value
    assert json.loads(error.raw_text) == {"name": "Oslo"}
    assert any("'population' is a required property @ $" in e for e in error.errors)
    assert len(agent.provider.requests) == 3
    # the run so far: the three model calls, their usage, and the re-ask messages
    assert error.partial is not None and not error.partial.stopped
    assert error.partial.turns == 3 and error.partial.usage.requests == 3
    assert len(error.partial.messages) == 7  # the question, then 3 calls of the tool and their results


def test_text_instead_of_the_tool_is_re_asked(scripted_agent: Any) -> None:
    agent = scripted_agent(["Oslo has 700k people", _final({"name": "Oslo", "population": 7, "color": "red"})],
                           output_type=City)
    result = agent.run("Oslo")
    assert result.output.population == 7
    assert isinstance(result.messages[2], UserMessage) and FINAL_ANSWER_TOOL in result.messages[2].text


def test_other_calls_beside_the_final_answer_are_not_run(scripted_agent: Any) -> None:
    ran = []

    @tool
    def side_effect() -> str:
        """Should not run once the answer is given."""
        ran.append(1)
        return "ran"

    answer = tool_calls(("side_effect", {}), (FINAL_ANSWER_TOOL, {"name": "A", "population": 1, "color": "red"}))
    agent = scripted_agent([answer], tools=[side_effect], output_type=City)
    result = agent.run("x")
    assert ran == []
    assert result.output.name == "A"
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [r.tool_call_id for r in results] == ["call_1", "call_2"]
    assert results[0].content.startswith("Not run")


def test_bad_output_type_fails_at_construction() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigError, match="output_type: JSON Schema cannot express"):
        Agent("scripted/x", output_type=Opaque)
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        Agent("scripted/x", output_type={"type": 12})


def test_str_output_type_is_plain_text(scripted_agent: Any) -> None:
    agent = scripted_agent(["just text"], output_type=str)
    result = agent.run("x")
    assert result.output == "just text"
    assert agent.provider.requests[0].tools == ()


def test_output_type_override_per_run(plugin_host: Any) -> None:
    provider = ScriptedProvider(['{"name": "Rex", "legs": 2}', "plain"], structured_output=True)
    agent = Agent("scripted/m", provider=provider)
    assert agent.run("pet", output_type=Pet).output == Pet("Rex", 2)
    assert agent.run("text").output == "plain"
