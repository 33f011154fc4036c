"""@tool: defining tools, validating a model's arguments, invoking, and rendering results."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import json
import threading
from typing import Any, Literal, TypedDict

import attrs
import pytest

import agentkit
from agentkit.errors import ToolArgumentsError, ToolDefinitionError, ToolTimeoutError
from agentkit.providers import ToolSpec
from agentkit.run_context import RunContext
from agentkit.tools import Tool, as_tool, render_result, tool


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Place:
    """Where to look.

    Attributes:
        city: City name.
        country: ISO country code.
    """

    city: str
    country: str = "NL"


@attrs.frozen
class Query:
    place: Place
    unit: Unit = Unit.CELSIUS
    days: tuple[int, ...] = ()


class Options(TypedDict, total=False):
    verbose: bool
    limit: int


@tool
def get_weather(city: str, unit: Unit = Unit.CELSIUS) -> str:
    """Get the current weather for a city.

    Args:
        city: The city, e.g. "Paris".
        unit: Temperature unit.
    """
    return f"{city}: 21 {unit.value}"


@tool(name="lookup", description="Look something up.", timeout=5)
async def _lookup(query: Query, options: Options | None = None) -> dict[str, Any]:
    return {"query": query, "options": options}


def ctx() -> RunContext:
    return RunContext(agent=None, run_id="r1", model="scripted/test", deps={"user": "ann"})


# -- decorating ---------------------------------------------------------------------------------


def test_bare_decorator_makes_a_tool_with_schema_and_description():
    assert isinstance(get_weather, Tool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the current weather for a city."
    assert get_weather.is_async is False
    assert get_weather.plugin is None and get_weather.timeout is None
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'The city, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "description": "Temperature unit.",
                "default": "celsius",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }


def test_decorator_with_options_on_async_function():
    assert _lookup.name == "lookup"
    assert _lookup.description == "Look something up."
    assert _lookup.is_async is True
    assert _lookup.timeout == 5
    assert _lookup.parameters["required"] == ["query"]


def test_tool_is_exported_from_the_package():
    assert agentkit.tool is tool
    assert agentkit.Tool is Tool


def test_decorated_tools_stay_directly_callable():
    assert get_weather("Oslo") == "Oslo: 21 celsius"
    assert get_weather(city="Oslo", unit=Unit.FAHRENHEIT) == "Oslo: 21 fahrenheit"
    result = asyncio.run(_lookup(Query(Place("Rome"))))
    assert result["query"] == Query(Place("Rome"))


def test_spec_is_what_the_model_sees():
    spec = get_weather.spec
    assert isinstance(spec, ToolSpec)
    assert (spec.name, spec.description, spec.parameters) == (
        get_weather.name,
        get_weather.description,
        get_weather.parameters,
    )


def test_description_without_docstring_falls_back_to_the_name():
    @tool
    def send_mail(to: str) -> None:
        pass

    assert send_mail.description == "send mail"


def test_tool_repr_is_short_and_names_the_tool():
    assert (
        repr(get_weather)
        == "Tool(name='get_weather', description='Get the current weather for a city.', plugin=None, timeout=None)"
    )


def test_renamed_and_from_plugin_return_new_tools():
    other = get_weather.renamed("weather").from_plugin("agentkit-weather")
    assert (other.name, other.plugin) == ("weather", "agentkit-weather")
    assert (get_weather.name, get_weather.plugin) == ("get_weather", None)
    assert other.function is get_weather.function
    with pytest.raises(ToolDefinitionError, match="invalid tool name"):
        get_weather.renamed("no spaces please")


@pytest.mark.parametrize(
    ("define", "message"),
    [
        (lambda: tool(lambda x: x), "no usable name"),
        (lambda: tool(name="has space")(lambda x: x), "invalid tool name"),
        (lambda: tool(name="x" * 65)(lambda x: x), "invalid tool name"),
        (lambda: tool(_varargs), r"parameter \*args"),
        (lambda: tool(_varkw), r"parameter \*\*extra"),
        (lambda: tool(_gen), "generator functions"),
        (lambda: tool(Place), "class"),
        (lambda: as_tool(42), "cannot make a tool of 42"),
    ],
)
def test_functions_that_cannot_be_tools_fail_at_decoration(define, message):
    with pytest.raises(ToolDefinitionError, match=message):
        define()


def _varargs(*args: int) -> None: ...


def _varkw(a: int, **extra: int) -> None: ...


def _gen(n: int):
    yield n


class Opaque:
    pass


def test_unexpressible_annotation_names_parameter_and_annotation():
    with pytest.raises(ToolDefinitionError) as info:

        @tool
        def bad(ok: int, thing: Opaque) -> None: ...

    text = str(info.value)
    assert "'thing'" in text and "Opaque" in text and "tool 'bad'" in text
    assert info.value.tool == "bad"
    assert isinstance(info.value, TypeError)


def test_unresolvable_annotation_is_a_definition_error():
    with pytest.raises(ToolDefinitionError, match="cannot resolve the annotations"):

        @tool
        def bad(thing: NoSuchName) -> None: ...  # type: ignore[name-defined]  # noqa: F821


def test_types_defined_inside_a_function_are_resolved():
    @dataclasses.dataclass
    class Local:
        n: int

    @tool
    def use_local(item: Local) -> int:
        return item.n

    assert use_local.parameters["properties"]["item"]["properties"] == {"n": {"type": "integer"}}
    assert asyncio.run(use_local.invoke({"item": {"n": 4}})) == 4


# -- RunContext -----------------------------------------------------------------------------


def test_run_context_parameter_is_hidden_and_injected():
    seen = {}

    @tool
    def whoami(context: RunContext, greeting: str = "hi") -> str:
        seen["ctx"] = context
        return f"{greeting} {context.deps['user']}"

    assert whoami.context_param == "context"
    assert list(whoami.parameters["properties"]) == ["greeting"]
    assert "required" not in whoami.parameters
    run_ctx = ctx()
    assert asyncio.run(whoami.invoke({}, run_ctx)) == "hi ann"
    assert seen["ctx"] is run_ctx
    # the model cannot pass it
    with pytest.raises(ToolArgumentsError):
        whoami.validate({"context": "x"})


def test_optional_run_context_gets_none_outside_a_run():
    @tool
    async def maybe(ctx: RunContext | None = None) -> bool:
        return ctx is None

    assert maybe.context_param == "ctx"
    assert maybe.parameters["properties"] == {}
    assert asyncio.run(maybe.invoke({}, None)) is True


def test_two_context_parameters_are_refused():
    with pytest.raises(ToolDefinitionError, match="only one parameter"):

        @tool
        def two(a: RunContext, b: RunContext) -> None: ...


# -- validating a model's arguments ---------------------------------------------------------------


def test_validate_accepts_json_text_and_mappings():
    assert get_weather.validate('{"city": "Paris"}') == {"city": "Paris"}
    assert get_weather.validate({"city": "Paris", "unit": "fahrenheit"}) == {
        "city": "Paris",
        "unit": "fahrenheit",
    }


def test_empty_arguments_mean_no_arguments():
    @tool
    def now() -> str:
        return "12:00"

    assert now.validate("") == {}
    assert now.validate("  ") == {}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("{city: Paris}", ["arguments are not valid JSON"]),
        ("[1, 2]", ["arguments must be a JSON object, got an array @ $"]),
        ('"Paris"', ["arguments must be a JSON object, got a string @ $"]),
        ("{}", ["'city' is a required property @ $"]),
        ('{"city": 3}', ["3 is not of type 'string' @ $.city"]),
        ('{"city": "P", "unit": "kelvin"}', ["'kelvin' is not one of ['celsius', 'fahrenheit'] @ $.unit"]),
        (
            '{"city": "P", "country": "FR"}',
            ["Additional properties are not allowed ('country' was unexpected) @ $"],
        ),
    ],
)
def test_bad_arguments_give_short_message_at_path_lines(arguments, expected):
    with pytest.raises(ToolArgumentsError) as info:
        get_weather.validate(arguments)
    err = info.value
    assert err.tool == "get_weather"
    assert len(err.errors) == len(expected)
    for line, want in zip(err.errors, expected, strict=True):
        assert line.startswith(want)
        assert " @ $" in line
    assert "get_weather" in str(err)


def test_nested_errors_point_into_the_structure():
    with pytest.raises(ToolArgumentsError) as info:
        _lookup.validate({"query": {"place": {"city": 1}, "days": [1, "two"]}})
    assert info.value.errors == (
        "1 is not of type 'string' @ $.query.place.city",
        "'two' is not of type 'integer' @ $.query.days[1]",
    )


def test_errors_inside_optional_values_point_into_the_value():
    with pytest.raises(ToolArgumentsError) as info:
        _lookup.validate({"query": {"place": {"city": "x"}}, "options": {"limit": "ten"}})
    assert info.value.errors == ("'ten' is not of type 'integer' @ $.options.limit",)


def test_many_errors_are_capped():
    @tool
    def many(values: list[int]) -> None: ...

    with pytest.raises(ToolArgumentsError) as info:
        many.validate({"values": ["x"] * 30})
    assert len(info.value.errors) == 11
    assert info.value.errors[-1] == "... and 20 more @ $"


def test_booleans_are_not_integers():
    @tool
    def count(n: int) -> int:
        return n

    with pytest.raises(ToolArgumentsError):
        count.validate({"n": True})


# -- invoking -------------------------------------------------------------------------------------


async def test_invoke_structures_user_types():
    args = _lookup.validate(
        '{"query": {"place": {"city": "Rome"}, "unit": "fahrenheit", "days": [1, 2]}, "options": {"verbose": true}}'
    )
    result = await _lookup.invoke(args, ctx())
    assert result == {
        "query": Query(Place("Rome", "NL"), Unit.FAHRENHEIT, (1, 2)),
        "options": {"verbose": True},
    }


async def test_invoke_accepts_python_values_as_well():
    result = await _lookup.invoke({"query": Query(Place("Rome"))})
    assert result["query"] == Query(Place("Rome"))


async def test_invoke_converts_scalars_tuples_literals_and_dates():
    @tool
    def scalars(
        when: datetime.date,
        pair: tuple[int, str],
        ratio: float,
        mode: Literal["fast", "slow"] = "fast",
        tags: set[str] | None = None,
        choice: int | str = 0,
    ) -> tuple[Any, ...]:
        return when, pair, ratio, mode, tags, choice

    args = scalars.validate(
        {"when": "2024-05-01", "pair": [1, "a"], "ratio": 2, "tags": ["x", "y"], "choice": "b"}
    )
    when, pair, ratio, mode, tags, choice = await scalars.invoke(args)
    assert when == datetime.date(2024, 5, 1)
    assert pair == (1, "a")
    assert ratio == 2.0 and isinstance(ratio, float)
    assert mode == "fast"
    assert tags == {"x", "y"}
    assert choice == "b"


async def test_sync_tools_run_in_a_worker_thread():
    @tool
    def where() -> str:
        return threading.current_thread().name

    assert await where.invoke({}) != threading.current_thread().name


async def test_async_tools_run_on_the_event_loop():
    @tool
    async def where() -> int:
        return id(asyncio.get_running_loop())

    assert await where.invoke({}) == id(asyncio.get_running_loop())


async def test_positional_only_parameters_are_passed_positionally():
    @tool
    def add(a: int, b: int, /) -> int:
        return a + b

    assert await add.invoke({"a": 2, "b": 3}) == 5


async def test_exceptions_from_the_function_propagate():
    @tool
    def boom() -> None:
        raise LookupError("no such thing")

    with pytest.raises(LookupError, match="no such thing"):
        await boom.invoke({})


async def test_timeout_cancels_a_hanging_async_tool():
    cancelled = asyncio.Event()

    @tool(timeout=0.05)
    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cancelled.set()

    with pytest.raises(ToolTimeoutError) as info:
        await hang.invoke({})
    assert info.value.tool == "hang" and info.value.timeout == 0.05
    assert cancelled.is_set()


async def test_invoke_rejects_values_the_annotation_refuses():
    @attrs.frozen
    class Positive:
        n: int = attrs.field(validator=attrs.validators.gt(0))

    @tool
    def take(p: Positive) -> int:
        return p.n

    with pytest.raises(ToolArgumentsError) as info:
        await take.invoke(take.validate({"p": {"n": -1}}))
    assert all(" @ $.p" in line for line in info.value.errors)


async def test_invoke_refuses_unknown_arguments():
    with pytest.raises(ToolArgumentsError, match="unexpected argument 'nope'"):
        await get_weather.invoke({"city": "x", "nope": 1})


# -- as_tool ----------------------------------------------------------------------------------


def test_as_tool_accepts_tools_functions_and_import_paths(tmp_path, monkeypatch):
    (tmp_path / "mytools_for_as_tool.py").write_text(
        "import agentkit\n\n"
        "def shout(text: str) -> str:\n    'Say it louder.'\n    return text.upper()\n\n"
        "@agentkit.tool(name='whisper')\ndef _whisper(text: str) -> str:\n    return text.lower()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert as_tool(get_weather) is get_weather
    shout = as_tool("mytools_for_as_tool:shout")
    assert (shout.name, shout.description, shout("a")) == ("shout", "Say it louder.", "A")
    assert as_tool("mytools_for_as_tool:_whisper").name == "whisper"
    assert as_tool(len).name == "len"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_module_xyz:f", "cannot import tool 'no_such_module_xyz:f': ModuleNotFoundError"),
        ("json:no_such_function", "json has no attribute 'no_such_function'"),
        ("json:", "invalid tool import path"),
    ],
)
def test_as_tool_import_path_errors_name_the_path(path, message):
    with pytest.raises(ToolDefinitionError, match=message):
        as_tool(path)


# -- rendering results ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain text", "plain text"),
        (None, "null"),
        (3, "3"),
        (True, "true"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        (Place("Köln", "DE"), '{"city": "Köln", "country": "DE"}'),
        (Unit.CELSIUS, '"celsius"'),
        ({"when": datetime.date(2024, 1, 2)}, '{"when": "2024-01-02"}'),
        (frozenset({2, 1}), "[1, 2]"),
        (b"bytes", "bytes"),
        (b"\xff\x00", '"/wA="'),
    ],
)
def test_render_result(value, text):
    assert render_result(value) in (text, text.strip('"'))


def test_render_result_uses_the_session_format_for_agentkit_values():
    from agentkit.messages import UserMessage

    assert json.loads(render_result(UserMessage("hi"))) == {
        "role": "user",
        "content": [{"type": "text", "text": "hi"}],
    }


def test_render_result_caps_with_a_marker():
    text = render_result("x" * 100, limit=10)
    assert text.startswith("x" * 10)
    assert "90 more characters cut" in text


class Toolkit:
    """Tools that share state, defined as methods."""

    def __init__(self, root: str) -> None:
        self.root = root

    @tool
    def read(self, path: str) -> str:
        """Read a file under the root."""
        return self.root + path

    @tool(name="read_async")
    async def aread(self, path: str) -> str:
        return self.root + path


async def test_methods_become_tools_bound_to_their_instance():
    kit = Toolkit("/srv/")
    assert list(Toolkit.read.parameters["properties"]) == ["path"]
    assert kit.read("a") == "/srv/a"
    assert await kit.read.invoke({"path": "b"}) == "/srv/b"
    assert await kit.aread.invoke({"path": "c"}) == "/srv/c"
    assert kit.aread.name == "read_async" and kit.aread.is_async
    other = Toolkit("/tmp/")
    assert await other.read.invoke({"path": "x"}) == "/tmp/x"


def test_quick_argument_check_agrees_with_jsonschema() -> None:
    """Flat schemas skip jsonschema for valid arguments; every verdict matches the full validator."""
    from jsonschema import Draft202012Validator

    @tool
    def mixed(n: int, x: float, s: str, flag: bool, note: str = "") -> str:
        """Mixed."""
        return ""

    full = Draft202012Validator(dict(mixed.parameters))
    assert mixed._caches()[1] is not None  # this schema takes the quick path
    cases: list[dict[str, Any]] = [
        {"n": 1, "x": 1.5, "s": "a", "flag": True},
        {"n": 1, "x": 2, "s": "a", "flag": False, "note": "b"},
        {"n": 1, "x": 2, "s": "a", "flag": False, "note": None},
        {"n": 2.0, "x": 1, "s": "a", "flag": True},  # an integral float is an integer for JSON Schema
        {"n": True, "x": 1, "s": "a", "flag": True},
        {"n": 1, "x": "1", "s": "a", "flag": True},
        {"n": 1, "x": 1, "s": "a"},
        {"n": 1, "x": 1, "s": "a", "flag": True, "extra": 1},
        {"n": 1, "x": 1, "s": 3, "flag": 1},
    ]
    for case in cases:
        valid = not list(full.iter_errors(case))
        try:
            mixed.validate(case)
        except ToolArgumentsError:
            assert not valid, case
        else:
            assert valid, case
