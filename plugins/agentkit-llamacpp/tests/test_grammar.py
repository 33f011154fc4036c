"""The turn grammar's parts that need no model: integer ranges, the grammar's text, reading a turn.

Generation under the grammar, with SmolLM2, is in test_grammar_inference.py (marked ``llama``).
"""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit_llamacpp.grammar import int_range
from agentkit_llamacpp.turns import parse_turn

needs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"
)


def as_regex(expression: str) -> re.Pattern[str]:
    """An integer range's GBNF (quoted digits, classes, groups, alternatives) as a regex."""
    return re.compile(expression.replace('"', "").replace(" ", ""))


bound = st.one_of(st.none(), st.integers(-5000, 5000))


@given(low=bound, high=bound, number=st.integers(-20000, 20000))
def test_int_range_matches_exactly_the_integers_in_range(
    low: int | None, high: int | None, number: int
) -> None:
    if low is not None and high is not None and low > high:
        low, high = high, low
    pattern = as_regex(int_range(low, high))
    inside = (low is None or number >= low) and (high is None or number <= high)
    assert bool(pattern.fullmatch(str(number))) == inside
    for junk in ("-0", "007", "", "-", "1-2"):
        assert not pattern.fullmatch(junk)


def test_int_range_of_a_forecast_is_short() -> None:
    assert int_range(1, 7) == "[1-7]"
    assert as_regex(int_range(15, 42)).fullmatch("42") and not as_regex(int_range(15, 42)).fullmatch("43")


def test_an_empty_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="minimum 8 > maximum 7"):
        int_range(8, 7)


@needs_llama_cpp
def test_turn_grammar_has_a_rule_per_tool_with_ranges_enums_and_strict_strings() -> None:
    from agentkit_llamacpp.grammar import turn_grammar

    forecast = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "units": {"enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    }
    text = turn_grammar([("forecast", forecast), ("now", {"type": "object", "properties": {}})])
    rules = dict(line.split(" ::= ", 1) for line in text.splitlines() if " ::= " in line)
    assert rules["root"] == '"message:" | call'
    assert '"forecast:"' in rules["call"] and '"now:"' in rules["call"]
    assert "[1-7]" in rules["forecast-args-days"]
    assert '"\\"celsius\\""' in rules["forecast-args-units"]
    assert r"\x00-\x1F" in rules["char"]  # no raw control character inside a JSON string
    assert turn_grammar([("forecast", forecast), ("now", {})], "required").startswith("root ::= call\n")
    only = turn_grammar([("forecast", forecast), ("now", {})], "now")
    assert '"now:"' in only and '"forecast:"' not in only


def test_a_message_turn() -> None:
    assert parse_turn("message:") == ("", ())


def test_calls_in_one_turn() -> None:
    text, calls = parse_turn('functions.forecast:\n{"city": "Oslo", "days": 3}\nfunctions.now:\n{}')
    assert text == ""
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("forecast", {"city": "Oslo", "days": 3}),
        ("now", {}),
    ]
    assert len({c.id for c in calls}) == 2


def test_a_call_cut_short_is_kept_as_written() -> None:
    _, (call,) = parse_turn('functions.forecast:\n{"city": "Os')
    assert call.arguments == '{"city": "Os'
