"""``{{name}}`` templates: filling, missing values, no code, one pass; in system prompts and user templates."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import SystemMessage, TemplateError, UserMessage
from agentkit.templates import placeholders, render


def test_fill_with_and_without_spaces() -> None:
    assert render("Hi {{name}}, {{ name }} and {{  other  }}!", {"name": "Ada", "other": 3}) == "Hi Ada, Ada and 3!"


def test_missing_value_names_the_placeholder() -> None:
    with pytest.raises(TemplateError) as info:
        render("Hello {{ user }}", {"name": "x"}, where="system prompt")
    assert info.value.placeholder == "user"
    assert "system prompt: no value for placeholder {{user}}" in str(info.value)
    assert "given: name" in str(info.value)


@pytest.mark.parametrize("template", ["{{ user.name }}", "{{user['name']}}", "{{ obj.__class__ }}"])
def test_no_attribute_or_item_access(template: str) -> None:
    class Obj:
        name = "secret"

    with pytest.raises(TemplateError, match="not a plain name"):
        render(template, {"user": Obj(), "obj": Obj()})


def test_no_code_runs_and_other_braces_stay() -> None:
    text = 'JSON looks like {{ "a": 1 }} and {{ 1 + 1 }} stays'
    assert render(text, {}) == text


def test_one_pass_values_are_not_expanded() -> None:
    assert render("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"


def test_placeholders_listed_in_order() -> None:
    assert placeholders("{{b}} {{ a }} {{b}}") == ["b", "a"]


def test_system_prompt_and_user_template_in_a_run(scripted_agent: Any) -> None:
    agent = scripted_agent(
        ["ok", "ok"],
        system="You help {{company}} customers. Tone: {{tone}}.",
        template_params={"company": "Acme", "tone": "friendly"},
        user_template="Query from {{ customer }}: {{message}}",
    )
    result = agent.run("Where is my order? {{company}}", template_params={"customer": "Bob", "tone": "formal"})
    request = agent.provider.requests[0]
    assert request.messages[0] == SystemMessage("You help Acme customers. Tone: formal.")
    # the user's own text is inserted as is: its braces are not a template
    assert request.messages[1] == UserMessage("Query from Bob: Where is my order? {{company}}")
    assert result.messages[0] == request.messages[1]


def test_user_template_keeps_images(scripted_agent: Any) -> None:
    agent = scripted_agent(["ok"], user_template="Look: {{message}}")
    agent.run("this", images=["https://example.com/a.png"])
    sent = agent.provider.requests[0].messages[-1]
    assert sent.text == "Look: this"
    assert sent.images[0].url == "https://example.com/a.png"


def test_missing_template_param_fails_before_any_model_call(scripted_agent: Any) -> None:
    agent = scripted_agent(["never"], system="Hello {{who}}")
    with pytest.raises(TemplateError, match=r"system prompt: no value for placeholder \{\{who\}\}"):
        agent.run("hi")
    assert agent.provider.requests == []
