"""The one error tree: every error is an AgentkitError, carries its context, and leaks no secret."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from agentkit import errors
from agentkit.errors import (
    AgentkitError,
    AuthenticationError,
    ConfigError,
    CorruptSessionError,
    GuardrailError,
    GuardrailTripwireError,
    MaxTurnsError,
    MemoryStoreError,
    OutputValidationError,
    PluginError,
    ProviderError,
    RateLimitError,
    RunAbortedError,
    SchemaVersionError,
    StorageError,
    TemplateError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolTimeoutError,
    UnknownToolError,
    snippet,
)
from agentkit.http import HttpClient, HttpSettings
from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply

ERROR_CLASSES = [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)]
SECRET = "sk-test-THIS-IS-A-SECRET-0123456789abcdef"


def test_every_error_is_an_agentkit_error_named_error():
    assert len(ERROR_CLASSES) == len(errors.__all__) - 1  # all but snippet()
    for cls in ERROR_CLASSES:
        assert issubclass(cls, AgentkitError), cls
        assert cls.__name__.endswith("Error"), cls
        assert cls.__doc__, cls


@pytest.mark.parametrize("cls", ERROR_CLASSES)
def test_every_error_can_be_built_from_a_message_alone(cls):
    err = cls("something went wrong")
    assert "something went wrong" in str(err)


def _tree() -> list[tuple[str, str | None, list[str]]]:
    """(class, parent, attributes) from the tree drawn in the errors module docstring."""
    rows = []
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        m = re.match(r"^(\s*(?:[│ ]\s*)*)(?:[├└]── )?([A-Z]\w+Error)\s*(.*)$", line)
        if not m or "Error" not in m.group(2):
            continue
        depth = len(m.group(1)) + (0 if "──" not in line else 4)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        attrs = [a.strip() for a in m.group(3).split(",") if a.strip() and not a.strip().startswith("(")]
        rows.append((m.group(2), parent, attrs))
        stack.append((depth, m.group(2)))
    return rows


def test_the_tree_in_the_docstring_matches_the_classes():
    rows = _tree()
    drawn = {name for name, _, _ in rows}
    assert drawn == {c.__name__ for c in ERROR_CLASSES}
    for name, parent, attributes in rows:
        cls = getattr(errors, name)
        if parent is not None:
            assert getattr(errors, parent) in cls.__bases__, (name, parent)
        err = cls("x")
        for attribute in attributes:
            assert hasattr(err, attribute), (name, attribute)
            assert attribute in inspect.signature(cls).parameters or cls is ToolDefinitionError, (
                name,
                attribute,
            )


@pytest.mark.parametrize(
    ("err", "attributes"),
    [
        (
            ConfigError("bad", file="a.toml", key_path="agents.x.model"),
            {"file": "a.toml", "key_path": "agents.x.model"},
        ),
        (TemplateError("missing", placeholder="name"), {"placeholder": "name"}),
        (PluginError("broken", plugin="agentkit-x"), {"plugin": "agentkit-x"}),
        (
            ProviderError("failed", provider="openai", model="gpt-x", status_code=500, body="oops"),
            {"provider": "openai", "model": "gpt-x", "status_code": 500, "body": "oops"},
        ),
        (AuthenticationError("no", env_var="OPENAI_API_KEY"), {"env_var": "OPENAI_API_KEY"}),
        (RateLimitError("slow down", retry_after=3.0), {"retry_after": 3.0}),
        (ToolError("failed", tool="t"), {"tool": "t"}),
        (ToolArgumentsError("bad", tool="t", errors=("x @ $",)), {"tool": "t", "errors": ("x @ $",)}),
        (UnknownToolError("unknown", tool="t", available=("a",)), {"tool": "t", "available": ("a",)}),
        (ToolTimeoutError("slow", tool="t", timeout=2.0), {"tool": "t", "timeout": 2.0}),
        (GuardrailTripwireError("tripped", guardrail="g", verdict="v"), {"guardrail": "g", "verdict": "v"}),
        (GuardrailError("failed", guardrail="g"), {"guardrail": "g"}),
        (MaxTurnsError("too many", max_turns=3, partial="p"), {"max_turns": 3, "partial": "p"}),
        (OutputValidationError("bad", raw_text="{", errors=("e",)), {"raw_text": "{", "errors": ("e",)}),
        (RunAbortedError(partial="p"), {"partial": "p"}),
        (StorageError("failed", store="sqlite", session_id="s"), {"store": "sqlite", "session_id": "s"}),
        (CorruptSessionError("torn", path="/x.jsonl", line=3), {"path": "/x.jsonl", "line": 3}),
        (SchemaVersionError("newer", found=3, supported=2), {"found": 3, "supported": 2}),
        (MemoryStoreError("failed", backend="sqlite"), {"backend": "sqlite"}),
    ],
)
def test_errors_carry_their_context(err, attributes):
    assert isinstance(err, AgentkitError)
    for name, value in attributes.items():
        assert getattr(err, name) == value


def test_messages_name_where_and_hint_how_to_fix():
    assert str(ConfigError("unknown key", file="agentkit.toml", key_path="agents.x.colour")) == (
        "agentkit.toml: agents.x.colour: unknown key"
    )
    assert str(ProviderError("failed", provider="openai", model="gpt-x", status_code=500, body="oops")) == (
        "openai/gpt-x: failed (HTTP 500): oops"
    )
    assert "OPENAI_API_KEY" in AuthenticationError("no", env_var="OPENAI_API_KEY").hint
    assert MaxTurnsError("x").hint
    assert isinstance(ToolDefinitionError("x"), TypeError)


def test_bodies_are_cut_to_a_short_snippet():
    err = ProviderError("failed", body="x" * 10_000)
    assert len(err.body) == 200 and err.body.endswith("…")
    assert snippet(b"a\n  b") == "a b"
    assert snippet(None) == ""


# -- secrets ------------------------------------------------------------------------------------


def _echo_key(request: RecordedRequest) -> Reply:
    """Quote the credentials sent in the error body, as some servers do. Path: /<status>/<json|text>."""
    _, status, kind = request.path.split("/")[:3]
    key = request.headers.get("authorization", "") + " " + request.headers.get("x-api-key", "")
    text = f"Incorrect API key provided: {key.strip()}"
    if kind == "clean":
        text = "invalid credentials"
    body = (
        json.dumps({"error": {"message": text, "type": "invalid_request_error"}}) if kind == "json" else text
    )
    return Reply(int(status), body=body.encode(), headers={"content-type": "application/json"})


@pytest.fixture(scope="module")
def echo_server():
    with LoopbackServer(_echo_key) as server:
        yield server


def _all_text(err: BaseException) -> str:
    parts = [str(err), repr(err), repr(err.args), str(getattr(err, "hint", "")), str(vars(err))]
    return "\n".join(parts)


# The key is scrubbed where it is known: HttpClient replaces the values of its secret headers
# in an error body before building the error.
@pytest.mark.parametrize("status", [401, 400, 429, 500])
@pytest.mark.parametrize("as_json", [True, False])
async def test_provider_errors_never_contain_an_echoed_api_key(echo_server, status, as_json):
    client = HttpClient(
        provider="openai",
        base_url=echo_server.url,
        headers={"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET},
        settings=HttpSettings(max_retries=0),
        env_var="OPENAI_API_KEY",
    )
    try:
        with pytest.raises(ProviderError) as info:
            path = f"/{status}/{'json' if as_json else 'text'}"
            await client.request_json("POST", path, json_body={"x": 1}, model="gpt-x")
    finally:
        await client.aclose()
    assert echo_server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"  # it was sent
    text = _all_text(info.value)
    assert SECRET not in text
    assert SECRET[-12:] not in text
    assert "openai" in str(info.value)
    assert SECRET not in repr(client)


async def test_provider_errors_do_not_contain_the_api_key_sent(echo_server):
    client = HttpClient(
        provider="openai",
        base_url=echo_server.url,
        headers={"Authorization": f"Bearer {SECRET}"},
        settings=HttpSettings(max_retries=0),
        env_var="OPENAI_API_KEY",
    )
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.request_json("POST", "/401/clean", json_body={}, model="gpt-x")
    finally:
        await client.aclose()
    assert SECRET not in _all_text(info.value)
    assert info.value.env_var == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY" in info.value.hint


def test_authentication_errors_name_the_variable_not_the_key():
    err = AuthenticationError(
        "authentication failed", provider="openai", env_var="OPENAI_API_KEY", status_code=401
    )
    assert "OPENAI_API_KEY" in err.hint
    assert "OPENAI_API_KEY" not in str(err) or SECRET not in str(err)
