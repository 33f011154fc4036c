"""The guardrail contract: verdicts, how the loop applies them, and resolving guardrails by name."""

from __future__ import annotations

import json

import pytest

import agentkit.default_plugins.guardrails as builtin_guardrails
from agentkit.errors import ConfigError, GuardrailError, GuardrailTripwireError
from agentkit.guardrails import (
    Guardrail,
    Verdict,
    apply_input,
    apply_output,
    apply_tool_call,
    apply_tool_result,
    resolve_guardrails,
    system_instructions,
)
from agentkit.hookspecs import hookimpl
from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.plugins import PluginHost
from agentkit.run_context import RunContext


@pytest.fixture
def host() -> PluginHost:
    """A host with only the built-in guardrails, so other plugins cannot disturb these tests."""
    h = PluginHost(entry_points=False, defaults=False)
    h.register(builtin_guardrails, name="agentkit.default_plugins.guardrails")
    return h


@pytest.fixture
def ctx() -> RunContext:
    return RunContext(agent=None, run_id="run-1", model="openai/gpt-4o-mini", session_id="s1", user_id="u1")


class Recorder(Guardrail):
    """Records what it saw and answers with fixed verdicts."""

    def __init__(self, name: str, **verdicts: Verdict) -> None:
        self.name = name
        self.verdicts = verdicts
        self.seen: list[tuple[str, object]] = []

    async def check_input(self, text, ctx):
        self.seen.append(("input", text))
        return self.verdicts.get("input", Verdict.allow())

    async def check_output(self, text, ctx):
        self.seen.append(("output", text))
        return self.verdicts.get("output", Verdict.allow())

    async def check_tool_call(self, call, ctx):
        self.seen.append(("tool_call", call))
        return self.verdicts.get("tool_call", Verdict.allow())

    async def check_tool_result(self, call, result, ctx):
        self.seen.append(("tool_result", result))
        return self.verdicts.get("tool_result", Verdict.allow())


# -- Verdict -------------------------------------------------------------------------------------


def test_verdict_constructors() -> None:
    assert Verdict.allow() == Verdict() and Verdict.allow().allowed
    assert Verdict.rewrite("new", reason="masked") == Verdict("rewrite", "masked", "new")
    assert Verdict.refuse("no").action == "refuse"
    assert Verdict.tripwire("stop") == Verdict("tripwire", "stop")


def test_verdict_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        Verdict("block")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="replacement"):
        Verdict("rewrite")


def test_rewrite_replacement_is_not_in_repr() -> None:
    # A replacement may be the redacted text; the original never sits in the verdict.
    assert "secret text" not in repr(Verdict.rewrite("secret text"))


def test_base_guardrail_allows_everything() -> None:
    g = Guardrail()
    assert g.instructions() is None
    assert repr(g) == "<Guardrail 'guardrail'>"


# -- apply_input ---------------------------------------------------------------------------------


async def test_input_rewrite_replaces_text_and_keeps_images(ctx: RunContext) -> None:
    image = ImagePart(url="https://example.com/cat.png")
    message = UserMessage([TextPart("My mail is "), image, TextPart("bob@example.com")])
    g = Recorder("upper", input=Verdict.rewrite("MY MAIL IS [EMAIL]"))
    out = await apply_input([g], [SystemMessage("sys"), message], ctx)
    assert out[0] == SystemMessage("sys")
    assert out[1] == UserMessage([TextPart("MY MAIL IS [EMAIL]"), image])
    assert g.seen == [("input", "My mail is bob@example.com")]


async def test_input_guardrails_chain_in_order(ctx: RunContext) -> None:
    first = Recorder("first", input=Verdict.rewrite("rewritten"))
    second = Recorder("second")
    out = await apply_input([first, second], [UserMessage("original")], ctx)
    assert second.seen == [("input", "rewritten")]
    assert out == [UserMessage("rewritten")]


async def test_input_checks_every_user_message_but_not_others(ctx: RunContext) -> None:
    g = Recorder("r")
    messages = [UserMessage("one"), AssistantMessage("two"), UserMessage("three")]
    assert await apply_input([g], messages, ctx) == messages
    assert g.seen == [("input", "one"), ("input", "three")]


async def test_input_tripwire_raises_with_name_and_verdict(ctx: RunContext) -> None:
    verdict = Verdict.tripwire("asks for something forbidden")
    later = Recorder("later")
    with pytest.raises(GuardrailTripwireError) as info:
        await apply_input(
            [Recorder("policy", input=verdict), later], [UserMessage("do the forbidden thing")], ctx
        )
    assert info.value.guardrail == "policy"
    assert info.value.verdict is verdict
    assert "policy" in str(info.value) and "asks for something forbidden" in str(info.value)
    assert "forbidden thing" not in str(info.value)  # the input itself is not echoed
    assert later.seen == []


async def test_refuse_on_input_or_output_stops_the_run(ctx: RunContext) -> None:
    with pytest.raises(GuardrailTripwireError, match="not here"):
        await apply_input([Recorder("r", input=Verdict.refuse("not here"))], [UserMessage("x")], ctx)
    with pytest.raises(GuardrailTripwireError, match="not here"):
        await apply_output([Recorder("r", output=Verdict.refuse("not here"))], "x", ctx)


async def test_no_guardrails_is_a_copy(ctx: RunContext) -> None:
    messages = [UserMessage("hi")]
    out = await apply_input([], messages, ctx)
    assert out == messages and out is not messages


async def test_sync_checks_and_none_are_accepted() -> None:
    class Sync:
        name = "sync"

        def check_input(self, text, ctx):
            return Verdict.rewrite(text.upper()) if "x" in text else None

    assert await apply_input([Sync()], [UserMessage("x marks")], None) == [UserMessage("X MARKS")]
    assert await apply_output([Sync()], "plain", None) == "plain"  # no check_output: allowed


async def test_a_check_returning_junk_is_a_clear_error() -> None:
    class Wrong(Guardrail):
        name = "wrong"

        async def check_output(self, text, ctx):
            return True

    with pytest.raises(GuardrailError, match=r"'wrong': check_output\(\) returned bool; it must return a Verdict") as info:
        await apply_output([Wrong()], "text", None)
    assert info.value.guardrail == "wrong"


async def test_a_guardrail_that_raises_fails_the_run() -> None:
    class Broken(Guardrail):
        name = "broken"

        async def check_input(self, text, ctx):
            raise RuntimeError("backend down")

    with pytest.raises(GuardrailError, match=r"guardrail 'broken' failed in check_input\(\): RuntimeError: backend down") as info:
        await apply_input([Broken()], [UserMessage("hi")], None)
    assert info.value.guardrail == "broken"
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not isinstance(info.value, GuardrailTripwireError)


# -- apply_output ---------------------------------------------------------------------------------


async def test_output_rewrite_and_tripwire(ctx: RunContext) -> None:
    assert await apply_output([Recorder("r", output=Verdict.rewrite("safe"))], "unsafe", ctx) == "safe"
    with pytest.raises(GuardrailTripwireError, match="on the output: leaks"):
        await apply_output([Recorder("r", output=Verdict.tripwire("leaks"))], "unsafe", ctx)


# -- tool calls and results ---------------------------------------------------------------------


CALL = ToolCall(id="call_1", name="send_email", arguments=json.dumps({"to": "bob@example.com", "body": "hi"}))


async def test_tool_call_allowed_is_returned_unchanged(ctx: RunContext) -> None:
    assert await apply_tool_call([Recorder("r")], CALL, ctx) is CALL


async def test_tool_call_rewrite_gives_new_arguments(ctx: RunContext) -> None:
    new_args = json.dumps({"to": "alice@example.com", "body": "hi"})
    out = await apply_tool_call([Recorder("r", tool_call=Verdict.rewrite(new_args))], CALL, ctx)
    assert out == ToolCall(id="call_1", name="send_email", arguments=new_args)


async def test_tool_call_refused_becomes_an_error_result(ctx: RunContext) -> None:
    later = Recorder("later")
    out = await apply_tool_call(
        [Recorder("policy", tool_call=Verdict.refuse("mail is off")), later], CALL, ctx
    )
    assert isinstance(out, ToolMessage)
    assert out.tool_call_id == "call_1" and out.name == "send_email" and out.is_error
    assert "mail is off" in out.content and "policy" in out.content
    assert later.seen == []


async def test_tool_call_tripwire(ctx: RunContext) -> None:
    with pytest.raises(GuardrailTripwireError, match="call to tool 'send_email'") as info:
        await apply_tool_call([Recorder("policy", tool_call=Verdict.tripwire("exfiltration"))], CALL, ctx)
    assert info.value.guardrail == "policy"


async def test_tool_result_rewrite_refuse_tripwire(ctx: RunContext) -> None:
    result = ToolMessage(tool_call_id="call_1", name="send_email", content="sent to bob@example.com")
    rewritten = await apply_tool_result(
        [Recorder("r", tool_result=Verdict.rewrite("sent"))], CALL, result, ctx
    )
    assert rewritten == ToolMessage(tool_call_id="call_1", name="send_email", content="sent")
    withheld = await apply_tool_result(
        [Recorder("r", tool_result=Verdict.refuse("private"))], CALL, result, ctx
    )
    assert withheld.is_error and "withheld" in withheld.content and "private" in withheld.content
    assert "bob@example.com" not in withheld.content
    with pytest.raises(GuardrailTripwireError, match="result of tool 'send_email'"):
        await apply_tool_result([Recorder("r", tool_result=Verdict.tripwire("injection"))], CALL, result, ctx)


def test_system_instructions_joined() -> None:
    class Says(Guardrail):
        def __init__(self, text):
            self.text = text

        def instructions(self):
            return self.text

    assert system_instructions([]) is None
    assert system_instructions([Says(None), Says("  ")]) is None
    assert (
        system_instructions([Says("Be kind."), Recorder("r"), Says("No politics.\n")])
        == "Be kind.\n\nNo politics."
    )


# -- resolving ------------------------------------------------------------------------------------


def test_resolve_objects_names_and_mappings(host: PluginHost) -> None:
    mine = Recorder("mine")
    resolved = resolve_guardrails(
        [mine, "pii_redactor", {"name": "instruction", "text": "Don't discuss politics."}], host=host
    )
    assert resolved[0] is mine
    assert resolved[1].name == "pii_redactor"
    assert system_instructions(resolved) == "Don't discuss politics."
    assert resolve_guardrails(None, host=host) == []
    assert [g.name for g in resolve_guardrails("pii_redactor", host=host)] == ["pii_redactor"]


def test_default_host_has_the_builtins() -> None:
    registry = PluginHost(entry_points=False).registry("guardrail")
    expected = {
        "instruction",
        "blocked_words",
        "max_input_length",
        "pii_redactor",
        "tool_allowlist",
        "approval",
    }
    assert expected | {"llm_judge"} <= set(registry.names())
    assert registry.get("pii_redactor").plugin == "agentkit:guardrails"


def test_unknown_name_lists_installed(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_guardrails(["pii_redacter"], host=host)
    text = str(info.value)
    assert "guardrails[0].name" in text and "unknown guardrail 'pii_redacter'" in text
    assert "did you mean 'pii_redactor'" in text and "blocked_words" in text and "llm_judge" in text


def test_unknown_option_is_named(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_guardrails([{"name": "blocked_words", "wordz": ["x"]}], host=host)
    text = str(info.value)
    assert "guardrails[0].wordz" in text and "no option 'wordz'" in text and "did you mean 'words'" in text
    assert "words, patterns, on, action, mask" in text


def test_bad_option_value_is_a_config_error(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match=r"guardrails\[1\]: guardrail 'blocked_words': on='inptu'"):
        resolve_guardrails(
            ["pii_redactor", {"name": "blocked_words", "words": ["x"], "on": ["inptu"]}], host=host
        )


def test_mapping_without_name_and_junk_specs(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match="needs a 'name'"):
        resolve_guardrails([{"words": ["x"]}], host=host)
    with pytest.raises(ConfigError, match="cannot use int 42 as a guardrail"):
        resolve_guardrails([42], host=host)
    with pytest.raises(ConfigError, match="cannot use type"):
        resolve_guardrails([Recorder], host=host)


def test_duck_typed_guardrail_and_plugin_registered_guardrail(host: PluginHost) -> None:
    class NoPolitics:
        name = "no_politics"

        def instructions(self):
            return "Don't discuss politics."

    class Plugin:
        @hookimpl
        def register_guardrails(self, registry):
            registry.add("no_politics", NoPolitics)
            registry.add("broken", lambda: "not a guardrail")
            registry.add("flexible", lambda **options: Recorder(str(sorted(options))))

    h = PluginHost(entry_points=False, defaults=False)
    h.register(Plugin(), name="my-plugin")
    duck = NoPolitics()
    assert resolve_guardrails([duck], host=h) == [duck]
    assert system_instructions(resolve_guardrails(["no_politics"], host=h)) == "Don't discuss politics."
    with pytest.raises(ConfigError, match="'broken' from plugin 'my-plugin' built str, not a Guardrail"):
        resolve_guardrails(["broken"], host=h)
    assert resolve_guardrails([{"name": "flexible", "anything": 1}], host=h)[0].name == "['anything']"


def test_factories_taking_host_get_it(host: PluginHost) -> None:
    judge = resolve_guardrails(
        [{"name": "llm_judge", "model": "acme/small", "policy": "No spam."}], host=host
    )[0]
    assert judge._host is host
    with pytest.raises(ConfigError, match="no option 'host'"):
        resolve_guardrails([{"name": "instruction", "text": "x", "host": "h"}], host=host)
