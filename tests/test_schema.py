"""JSON Schema inference from type hints, and docstring parsing, as tools use them."""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import pathlib
import uuid
from typing import Annotated, Any, Literal, NewType, NotRequired, Optional, TypedDict, TypeVar, Union

import attrs
import pytest

from agentkit._docstrings import parse_docstring
from agentkit._schema import UnsupportedType, schema_for, structure
from agentkit.errors import ToolDefinitionError
from agentkit.tools import tool


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Inner:
    value: int
    tags: list[str] = dataclasses.field(default_factory=list)


@attrs.define
class Outer:
    """An outer record.

    Args:
        inner: The inner part.
        note: Free text.
    """

    inner: Inner
    note: str | None = None
    color: Color = Color.RED
    hidden: int = attrs.field(default=0, init=False)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


UserId = NewType("UserId", int)


@attrs.define
class Node:
    children: list[Node]


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (Optional[int], {"type": ["integer", "null"]}),  # noqa: UP045
        (str | None, {"type": ["string", "null"]}),
        (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),  # noqa: UP007
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array"}),
        (collections.abc.Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (frozenset[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (collections.abc.Mapping[str, Any], {"type": "object", "additionalProperties": {}}),
        (dict, {"type": "object"}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (tuple[float, ...], {"type": "array", "items": {"type": "number"}}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, "one"], {"enum": [1, "one"]}),
        (Literal[Color.RED], {"type": "string", "enum": ["red"]}),
        (Color, {"type": "string", "enum": ["red", "green"], "description": "A colour."}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (UserId, {"type": "integer"}),
        (Annotated[int, "How many."], {"type": "integer", "description": "How many."}),
        (Annotated[int, {"minimum": 0}], {"type": "integer", "minimum": 0}),
        (
            list[Annotated[str, "a tag"]],
            {"type": "array", "items": {"type": "string", "description": "a tag"}},
        ),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (pathlib.Path, {"type": "string"}),
        (
            Movie,
            {
                "type": "object",
                "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                "required": ["title"],
                "additionalProperties": False,
            },
        ),
        (
            Inner,
            {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["value"],
                "additionalProperties": False,
            },
        ),
    ],
)
def test_schema_for(annotation, schema):
    assert schema_for(annotation) == schema


def test_nested_records_with_docs_defaults_and_enums():
    assert schema_for(Outer) == {
        "type": "object",
        "description": "An outer record.",
        "properties": {
            "inner": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["value"],
                "additionalProperties": False,
                "description": "The inner part.",
            },
            "note": {"type": ["string", "null"], "description": "Free text.", "default": None},
            "color": {
                "type": "string",
                "enum": ["red", "green"],
                "description": "A colour.",
                "default": "red",
            },
        },
        "required": ["inner"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (object(), "object object"),
        (dict[int, str], "dict[str, ...]"),
        (TypeVar("T"), "type variables"),
        (Node, "recursive"),
        (complex, "complex"),
        (bytes, "bytes"),
        (Literal[b"x"], "Literal values"),
    ],
)
def test_unsupported_annotations_are_named(annotation, fragment):
    with pytest.raises(UnsupportedType) as info:
        schema_for(annotation)
    assert fragment in str(info.value)


def test_unsupported_nested_annotation_becomes_a_definition_error_naming_the_parameter():
    with pytest.raises(ToolDefinitionError, match=r"parameter 'items'.*complex"):

        @tool
        def f(items: list[dict[str, complex]]) -> None: ...


def test_structure_turns_json_into_annotated_types():
    assert structure({"inner": {"value": 1}, "color": "green"}, Outer) == Outer(Inner(1), None, Color.GREEN)
    assert structure({"title": "x"}, Movie) == {"title": "x"}
    assert structure("2024-01-02T03:04:05", datetime.datetime) == datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert structure(None, int | None) is None
    assert structure(2, Level) is Level.HIGH
    assert structure("a", Annotated[str, "x"]) == "a"
    assert structure([1, "b"], tuple[int, str]) == (1, "b")


# -- docstrings ------------------------------------------------------------------------------------


def test_google_style():
    doc = parse_docstring(
        """Fetch a page.

        It follows redirects.

        Args:
            url (str): The address.
            timeout: Seconds to wait,
                at most 60.
            *args: ignored
            **kwargs: ignored too

        Returns:
            The body.

        Raises:
            ValueError: never.
        """
    )
    assert doc.description == "Fetch a page.\n\nIt follows redirects."
    assert doc.params == {
        "url": "The address.",
        "timeout": "Seconds to wait, at most 60.",
        "args": "ignored",
        "kwargs": "ignored too",
    }


def test_rest_style():
    doc = parse_docstring(
        """Fetch a page.

        :param url: The address.
        :param int timeout: Seconds to wait,
            at most 60.
        :type timeout: int
        :returns: The body.
        """
    )
    assert doc.description == "Fetch a page."
    assert doc.params == {"url": "The address.", "timeout": "Seconds to wait, at most 60."}


def test_numpy_style():
    doc = parse_docstring(
        """Fetch a page.

        Parameters
        ----------
        url : str
            The address.
        timeout : float, optional
            Seconds to wait.

        Returns
        -------
        str
            The body.
        """
    )
    assert doc.description == "Fetch a page."
    assert doc.params == {"url": "The address.", "timeout": "Seconds to wait."}


def test_plain_and_missing_docstrings():
    assert parse_docstring(None).description == ""
    assert parse_docstring("  One line.  ").description == "One line."
    assert parse_docstring("Line one\ncontinues.").description == "Line one continues."


def test_annotated_description_wins_over_the_docstring():
    @tool
    def f(a: Annotated[int, "from Annotated"], b: int) -> None:
        """Do it.

        :param a: from the docstring
        :param b: b from the docstring
        """

    props = f.parameters["properties"]
    assert props["a"]["description"] == "from Annotated"
    assert props["b"]["description"] == "b from the docstring"


def test_arguments_are_read_by_the_one_converter_configuration() -> None:
    """The converter of tool arguments and output types extends agentkit's wire converter
    (serialization.make_converter): agentkit's values and bytes read as they are written."""
    from agentkit import Message, UserMessage, to_dict
    from agentkit._schema import _converter
    from agentkit.serialization import converter

    assert _converter() is not converter()  # an extension of its own, the wire converter untouched
    assert structure(to_dict(UserMessage("hi")), Message) == UserMessage("hi")
    assert structure(to_dict(b"\x00bytes"), bytes) == b"\x00bytes"  # base64, as the wire writes them
    assert structure(3.0, int) == 3 and type(structure(3.0, int)) is int  # JSON Schema's integer
    assert converter().structure(3, float) == 3.0
    with pytest.raises(ValueError):
        converter().structure("3", float)  # the wire stays strict
