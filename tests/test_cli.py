"""The ``agentkit`` command end to end: real subprocesses against a loopback fake OpenAI server
(or the built-in scripted provider), a real SQLite store under a private AGENTKIT_HOME."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import DATA, SECRET, Cli, env_for, one_line_error, write_config

from agentkit.testing.fake_openai import FakeOpenAIServer, FakeReply, tool_call
from agentkit.testing.servers import Pause, Reply

# -- run --------------------------------------------------------------------------------------------


def test_run_streams_answer_and_shows_tool_calls_on_stderr(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(tool_call("get_weather", {"city": "Paris"}), "It is sunny in Paris.")
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "Weather in Paris?", sub=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "It is sunny in Paris.\n"  # stdout is not a terminal: the answer alone
    assert '⚙ get_weather(city="Paris")' in done.stderr
    assert "↳ sunny in Paris" in done.stderr
    assert server.chat_requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": server.chat_requests[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": "sunny in Paris",
    }
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_run_json_prints_every_event(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(tool_call("get_weather", {"city": "Oslo"}), "Sunny.")
    write_config(project, server)
    done = agentkit("run", "--json", "-a", "helper", "Weather in Oslo?", sub=True)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "tool_call_started" and "tool_call_delta" in types
    assert types.count("turn_completed") == 2 and types.count("tool_result") == 1
    assert types[-1] == "run_completed"
    assert events[-1]["result"]["text"] == "Sunny."
    tool_result = next(e for e in events if e["type"] == "tool_result")
    assert tool_result["result"]["content"] == "sunny in Oslo"
    assert done.stderr == ""


@pytest.mark.parametrize("how", ["pipe", "dash"])
def test_prompt_from_stdin(how: str, project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Four.")
    write_config(project, server)
    args = ["run", "-a", "helper"] + (["-"] if how == "dash" else [])
    done = agentkit(*args, input="What is 2+2?\n", sub=how == "pipe")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Four.\n"
    assert server.chat_requests[0]["messages"][-1]["content"] in ("What is 2+2?\n", [{"type": "text", "text": "What is 2+2?\n"}])


def test_flags_override_the_agent(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("ok")
    write_config(project, server)
    done = agentkit(
        "run", "-a", "helper", "-m", "openai/gpt-4.1-nano", "-s", "Be terse.", "-p", "temperature=0.5",
        "-p", "stop=[\"x\"]", "hi",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = server.chat_requests[0]
    assert body["model"] == "gpt-4.1-nano"
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["temperature"] == 0.5 and body["stop"] == ["x"]


def test_schema_prints_structured_output(project: Path, agentkit: Cli, server: Any) -> None:
    server.add('{"city": "Paris", "sunny": true}')
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "--schema", str(DATA / "answer.schema.json"), "Paris?")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"city": "Paris", "sunny": True}


def test_agent_with_output_schema_prints_its_output(project: Path, agentkit: Cli, server: Any) -> None:
    server.add('{"city": "Oslo", "sunny": false}')
    schema = DATA / "answer.schema.json"
    write_config(project, server, f'[agents.typed]\nmodel = "openai/gpt-4o-mini"\noutput_schema = "{schema}"\n')
    done = agentkit("run", "-a", "typed", "Oslo?")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"city": "Oslo", "sunny": False}
    assert "final_answer" not in done.stderr


def test_no_config_with_model_flag(project: Path, agentkit: Cli, server: Any) -> None:
    """Without any config file an agent comes from the flags alone (here the scripted provider)."""
    done = agentkit("run", "-m", "scripted/x", "hi")
    assert done.returncode == 4  # the scripted provider has an empty script
    error, _hint = one_line_error(done.stderr)
    assert "the script is used up" in error


# -- sessions -----------------------------------------------------------------------------------------


def test_sessions_round_trip(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Hello Ann!", "Your name is Ann.")
    write_config(project, server)
    first = agentkit("run", "-a", "helper", "--session", "s1", "I am Ann", sub=True)
    assert first.returncode == 0, first.stderr
    second = agentkit("run", "-a", "helper", "--session", "s1", "Who am I?", sub=True)
    assert second.stdout == "Your name is Ann.\n"
    assert [m["role"] for m in server.chat_requests[1]["messages"]] == ["user", "assistant", "user"]

    listed = agentkit("sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == ["s1"]
    shown = agentkit("sessions", "show", "s1")
    assert shown.stdout.splitlines() == [
        "user: I am Ann",
        "assistant: Hello Ann!",
        "user: Who am I?",
        "assistant: Your name is Ann.",
    ]
    export = project / "s1.json"
    assert agentkit("sessions", "export", "s1", "-o", str(export)).returncode == 0
    assert agentkit("sessions", "delete", "s1").returncode == 0
    gone = agentkit("sessions", "show", "s1")
    assert gone.returncode == 7
    one_line_error(gone.stderr)
    imported = agentkit("sessions", "import", str(export), "--id", "s2")
    assert imported.returncode == 0, imported.stderr
    other = f"sqlite:{project / 'other.db'}"
    migrated = agentkit("sessions", "migrate", "--to", other)
    assert migrated.returncode == 0, migrated.stderr
    listed = agentkit("sessions", "--store", other, "list", "--json")
    assert [s["id"] for s in json.loads(listed.stdout)] == ["s2"]
    shown = agentkit("sessions", "--store", other, "show", "s2", "--json")
    assert [json.loads(line)["role"] for line in shown.stdout.splitlines()] == ["user", "assistant"] * 2


def test_a_failed_first_run_leaves_no_session_to_list(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(FakeReply(status=500, error={"message": "the model is down"}))
    write_config(project, server)
    failed = agentkit("run", "-a", "helper", "--session", "fresh", "hi", sub=True)
    assert failed.returncode != 0 and "model is down" in failed.stderr
    listed = agentkit("sessions", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stdout


def test_ctrl_c_exits_130_and_keeps_complete_turns(project: Path, home: Path, agentkit: Cli) -> None:
    def slow(_request: Any) -> Reply:  # starts an answer, then stalls
        return Reply(200, headers={"content-type": "text/event-stream"}, chunks=[Pause(30)])

    script = ["Hello Ann!", tool_call("get_weather", {"city": "Rome"}), slow]
    with FakeOpenAIServer(script, api_key=SECRET) as server:
        write_config(project, server)
        first = agentkit("run", "-a", "helper", "--session", "c1", "I am Ann")
        assert first.returncode == 0, first.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", "-a", "helper", "--session", "c1", "Weather in Rome?"],
            cwd=project,
            env=env_for(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while len(server.chat_requests) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(server.chat_requests) == 3, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "session 'c1' keeps every complete exchange (not this one)" in err
    # the complete exchange is kept; the interrupted one is not stored half-done
    shown = agentkit("sessions", "show", "c1")
    assert shown.stdout.splitlines() == ["user: I am Ann", "assistant: Hello Ann!"], shown.stderr
    # and the session goes on from there
    with FakeOpenAIServer(["Still Ann."], api_key=SECRET) as server:
        write_config(project, server)
        again = agentkit("run", "-a", "helper", "--session", "c1", "Who am I?")
        assert again.stdout == "Still Ann.\n"
        assert [m["role"] for m in server.chat_requests[0]["messages"]] == ["user", "assistant", "user"]


# -- exit codes, one-line errors ------------------------------------------------------------------------


def test_usage_errors_exit_2(project: Path, home: Path, agentkit: Cli) -> None:
    done = agentkit("run", "--no-such-flag")
    assert done.returncode == 2 and "unrecognized arguments: --no-such-flag" in done.stderr
    done = agentkit("run", input="   \n")
    assert done.returncode == 2
    assert done.stderr.startswith("agentkit run: error: the prompt read from standard input is empty")
    done = agentkit("run", "-m", "scripted/x", "-p", "oops", "hi")
    assert done.returncode == 2 and "expected KEY=VALUE, got 'oops'" in done.stderr


def test_config_error_exit_3(project: Path, home: Path, agentkit: Cli) -> None:
    (project / "agentkit.toml").write_text('[agents.helper]\nmodle = "openai/x"\n')
    done = agentkit("run", "-a", "helper", "hi", sub=True)
    assert done.returncode == 3
    error, hint = one_line_error(done.stderr)
    assert error == f"agentkit: error: {project / 'agentkit.toml'}: agents.helper.modle: unknown key 'modle' (did you mean 'model'?)"
    assert hint == "hint: see docs/config.md for every agent key"


def test_provider_error_exit_4_names_no_secret(project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server)
    wrong = "sk-wrong-key-that-must-not-leak"
    path = project / "agentkit.toml"
    path.write_text(path.read_text().replace(SECRET, wrong))
    done = agentkit("run", "-a", "helper", "hi")
    assert done.returncode == 4
    error, _hint = one_line_error(done.stderr)
    assert "openai/gpt-4o-mini" in error and wrong not in done.stderr


def test_tool_error_exit_5(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(tool_call("explode", {"reason": "test"}))
    write_config(project, server, '[agents.raiser]\nmodel = "openai/gpt-4o-mini"\ntools = ["cli_tools:explode"]\ntool_errors = "raise"\n')
    done = agentkit("run", "-a", "raiser", "go")
    assert done.returncode == 5, done.stderr
    error, _hint = one_line_error(done.stderr)
    assert "boom: test" in error


def test_guardrail_tripwire_exit_6(project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server, '[agents.guarded]\nmodel = "openai/gpt-4o-mini"\nguardrails = [{ name = "blocked_words", words = ["xyzzy"] }]\n')
    done = agentkit("run", "-a", "guarded", "say xyzzy")
    assert done.returncode == 6, done.stderr
    one_line_error(done.stderr)
    assert server.chat_requests == []  # tripped before any model call


def test_plugin_error_exit_8(project: Path, home: Path, agentkit: Cli) -> None:
    done = agentkit("models", "no-such-provider")
    assert done.returncode == 8
    error, _hint = one_line_error(done.stderr)
    assert "unknown provider 'no-such-provider'" in error and "openai (agentkit-openai)" in error


def test_max_turns_exit_9(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(*[tool_call("get_weather", {"city": "X"}) for _ in range(3)])
    write_config(project, server, '[agents.loopy]\nmodel = "openai/gpt-4o-mini"\ntools = ["cli_tools:get_weather"]\nmax_turns = 2\n')
    done = agentkit("run", "-a", "loopy", "loop")
    assert done.returncode == 9, done.stderr
    one_line_error(done.stderr)


def test_debug_shows_the_traceback(project: Path, home: Path, agentkit: Cli) -> None:
    (project / "agentkit.toml").write_text("[agents.helper]\nmax_turns = 0\n")
    done = agentkit("--debug", "run", "-a", "helper", "hi", sub=True)
    assert done.returncode == 3 and "Traceback" in done.stderr
    done = agentkit("run", "--debug", "-a", "helper", "hi", sub=True)
    assert done.returncode == 3 and "Traceback" in done.stderr


def test_closed_pipe_is_quiet(project: Path, home: Path, agentkit: Cli) -> None:
    long_answer = "\n".join(f"line {i} " + "x" * 60 for i in range(5000))
    with FakeOpenAIServer(default=FakeReply(text=long_answer), api_key=SECRET, chunk_size=64) as server:
        write_config(project, server)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", "--json", "-a", "helper", "hi"],
            cwd=project,
            env=env_for(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        proc.stderr.close()
        proc.wait(timeout=30)
    assert json.loads(first)["type"] == "text_delta"
    assert proc.returncode == 141
    assert err == ""


# -- plugins, tools, models, config ---------------------------------------------------------------------


def test_plugins_lists_versions_hooks_and_registrations(project: Path, home: Path, agentkit: Cli) -> None:
    done = agentkit("plugins", "--json")
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["agentkit:testing"]["builtin"] and plugins["agentkit:testing"]["registered"] == {
        "provider": ["scripted"]
    }
    openai = plugins["agentkit-openai"]
    assert openai["version"] and "register_providers" in openai["hooks"]
    assert "openai" in openai["registered"]["provider"]
    text = agentkit("plugins").stdout
    assert "agentkit-openai " in text and "  provider: " in text


def test_tools_lists_registered_tools(project: Path, home: Path, agentkit: Cli) -> None:
    done = agentkit("tools", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert set(listing) == {"tools", "toolsets", "sources"}  # sources: tool sources such as MCP servers
    if any(t["plugin"] == "agentkit-files" for t in listing["tools"]):
        read = next(t for t in listing["tools"] if t["name"] == "read")
        assert read["settings"] == "files"


def test_models_from_a_provider_that_lists(project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server)
    done = agentkit("models", "--json")
    assert done.returncode == 0, done.stderr
    assert {m["id"] for m in json.loads(done.stdout)} >= {"openai/gpt-4o-mini"}
    done = agentkit("models", "openai")
    assert "openai/gpt-4o-mini" in done.stdout.splitlines()


def test_config_check_and_show(project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server)
    done = agentkit("config", "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: {project / 'agentkit.toml'} (1 agent, 1 provider setting)")
    shown = agentkit("config", "show")
    assert shown.returncode == 0 and SECRET not in shown.stdout
    assert 'api_key = "***"' in shown.stdout and "[agents.helper]" in shown.stdout
    as_json = json.loads(agentkit("config", "show", "--json").stdout)
    assert as_json["providers"]["openai"]["api_key"] == "***"
    (project / "agentkit.toml").write_text('[agents.a]\nmodle = "x"\nmax_turns = 0\n[providers.opnai]\n')
    bad = agentkit("config", "check")
    assert bad.returncode == 3
    listed = [line.strip() for line in bad.stderr.splitlines() if line.startswith("  ")]
    assert [line.split(": ")[1] for line in listed] == ["agents.a.max_turns", "agents.a.modle", "providers.opnai"]


def test_example_config_checks(project: Path, home: Path, agentkit: Cli) -> None:
    env = env_for(home, OPENAI_API_KEY="sk-example")
    done = agentkit("config", "check", "-c", str(DATA / "example.toml"), env=env)
    assert done.returncode == 0, done.stderr


def test_project_config_base_url_gets_no_env_key(project: Path, home: Path, agentkit: Cli) -> None:
    with FakeOpenAIServer(default="hi") as server:
        (project / "agentkit.toml").write_text(
            f'[providers.openai]\nbase_url = "{server.base_url}"\nmax_retries = 0\n'
            '[agents.a]\nmodel = "openai/gpt-4o-mini"\n'
        )
        env = env_for(home, OPENAI_API_KEY="sk-user-env-secret")
        done = agentkit("run", "-a", "a", "hi", env=env, sub=True)
        assert "is not sent there" in done.stderr
        trusted = agentkit("run", "--trust-config", "-a", "a", "hi", env=env)
        assert trusted.returncode == 0, trusted.stderr
    headers = [r.headers.get("authorization", "") for r in server.requests]
    assert headers[-1] == "Bearer sk-user-env-secret"  # trusted on purpose
    assert all("sk-user-env-secret" not in h for h in headers[:-1])


def test_install_uses_the_environment_installer(project: Path, home: Path, agentkit: Cli) -> None:
    done = agentkit("install", "--dry-run", "agentkit-example")
    assert done.returncode == 0
    assert done.stdout.split() == [sys.executable, "-m", "pip", "install", "agentkit-example"]
    env = env_for(home, UV="/opt/uv/bin/uv")
    done = agentkit("install", "--dry-run", "-U", "agentkit-example", env=env)
    assert done.stdout.split() == ["/opt/uv/bin/uv", "pip", "install", "--python", sys.executable, "--upgrade", "agentkit-example"]
    done = agentkit("uninstall", "--dry-run", "-y", "agentkit-example")
    assert done.stdout.split() == [sys.executable, "-m", "pip", "uninstall", "-y", "agentkit-example"]
