"""The options of ``agentkit run`` and ``agentkit chat`` that coreloop's users expect, each seen
where it takes effect: in the request the loopback server receives, in the tool results the
model is sent, in the stored session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import SECRET, Cli, env_for, one_line_error, write_config

from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call

MODEL = "openai/gpt-4o-mini"


def last_message(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request["messages"][-1])


def chat_lines(stdout: str) -> list[str]:
    """What the chat printed, without its "> " prompts (input() writes them to stdout)."""
    lines = []
    for line in stdout.splitlines():
        while line.startswith("> "):
            line = line[2:]
        if line.strip() and line != ">":
            lines.append(line)
    return lines


# -- where the model is, and the key -----------------------------------------------------------------


def test_base_url_and_api_key_flags_reach_the_server(agentkit: Cli, home: Path) -> None:
    flag_key = "sk-from-the-flag-0001"
    with FakeOpenAIServer(["Hello."], api_key=flag_key) as server:
        env = env_for(home, OPENAI_API_KEY="sk-from-the-environment")
        done = agentkit(
            "run", "-m", MODEL, "--base-url", server.base_url, "--api-key", flag_key, "Hi", env=env, sub=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Hello.\n"
        assert server.requests[-1].headers["authorization"] == f"Bearer {flag_key}"  # the flag wins
    assert flag_key not in done.stderr


def test_base_url_flag_replaces_a_project_configs_and_the_users_key_goes_there(
    project: Path, agentkit: Cli, home: Path
) -> None:
    (project / "agentkit.toml").write_text(
        '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\nmax_retries = 0\n[agents.a]\nmodel = "openai/gpt-4o-mini"\n'
    )
    env = env_for(home, OPENAI_API_KEY="sk-user-key-0002")
    with FakeOpenAIServer(["Hi!"]) as server:
        done = agentkit("run", "-a", "a", "--base-url", server.base_url, "Hi", env=env)
        assert done.returncode == 0, done.stderr
        assert (
            server.requests[-1].headers["authorization"] == "Bearer sk-user-key-0002"
        )  # the user chose the URL
    assert "not sent there" not in done.stderr


def test_the_key_notice_reads_right_and_only_for_the_provider_in_use(
    project: Path, agentkit: Cli, home: Path
) -> None:
    with FakeOpenAIServer(["Hi!"]) as server:
        (project / "agentkit.toml").write_text(
            f'[providers.openai]\nbase_url = "{server.base_url}"\nmax_retries = 0\n'
            '[providers.groq]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[providers.ollama]\nbase_url = "http://127.0.0.1:9"\n'
            '[agents.a]\nmodel = "openai/gpt-4o-mini"\n'
        )
        env = env_for(home, OPENAI_API_KEY="sk-user-key-0003", GROQ_API_KEY="gsk-user-key")
        done = agentkit("run", "-a", "a", "Hi", env=env)
        base_url = server.base_url
    notes = [line for line in done.stderr.splitlines() if line.startswith("agentkit: note: ")]
    assert notes == [
        f"agentkit: note: {project / 'agentkit.toml'} points provider 'openai' at {base_url}; your "
        "OPENAI_API_KEY is not sent there (name a key with api_key_env, or trust this file with --trust-config "
        "or AGENTKIT_TRUST_CONFIG_BASE_URL=1)"
    ]
    assert "sk-user-key-0003" not in done.stderr


# -- the run's limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-n", "--max-turns"])
def test_max_turns_flag_stops_the_loop(flag: str, project: Path, agentkit: Cli, server: Any) -> None:
    server.add(*[tool_call("get_weather", {"city": "Rome"}) for _ in range(5)])
    write_config(project, server)
    done = agentkit("run", "-a", "helper", flag, "2", "Weather?")
    assert done.returncode == 9, done.stderr
    assert len(server.chat_requests) == 2
    bad = agentkit("run", "-a", "helper", flag, "0", "Weather?")
    assert bad.returncode == 2 and "expected at least 1, got 0" in bad.stderr


def test_tool_timeout_flag_cancels_a_slow_tool(project: Path, agentkit: Cli, server: Any) -> None:
    server.add(tool_call("slow", {"seconds": 2}), "Too slow.")
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "-T", "cli_tools:slow", "--tool-timeout", "0.2", "Go", sub=True)
    assert done.returncode == 0, done.stderr
    result = last_message(server.chat_requests[1])
    assert result["role"] == "tool" and "0.2" in result["content"], result


# -- what is sent to the model -------------------------------------------------------------------------


def test_think_asks_for_reasoning(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Thought about it.", "Thought harder.")
    write_config(project, server)
    assert agentkit("run", "-a", "helper", "--think", "Why?").returncode == 0
    assert server.chat_requests[0]["reasoning_effort"] == "medium"
    assert agentkit("run", "-a", "helper", "--think", "-p", "reasoning_effort=high", "Why?").returncode == 0
    assert server.chat_requests[1]["reasoning_effort"] == "high"  # -p says how much


def test_extra_json_is_merged_into_the_request_body(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Ok.")
    write_config(project, server)
    done = agentkit(
        "run", "-a", "helper", "-e", '{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}',
        "--extra", '{"top_k": 30, "min_p": 0.05}', "-p", "temperature=0.1", "Hi",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = server.chat_requests[0]
    assert body["top_k"] == 30 and body["min_p"] == 0.05 and body["temperature"] == 0.1
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


@pytest.mark.parametrize(
    ("value", "message"),
    [("{top_k: 1}", "-e expects a JSON object, got '{top_k: 1}' (Expecting property name enclosed in double quotes"),
     ("[1, 2]", "-e expects a JSON object, got list '[1, 2]'")],
)  # fmt: skip
def test_extra_that_is_not_a_json_object_is_a_usage_error(value: str, message: str, agentkit: Cli) -> None:
    done = agentkit("run", "-m", MODEL, "-e", value, "Hi")
    assert done.returncode == 2
    assert done.stderr.startswith(f"agentkit run: error: {message}")


def test_cache_flag_replays_and_no_cache_turns_a_configured_cache_off(
    project: Path, agentkit: Cli, server: Any
) -> None:
    server.reset(default="Cached answer.")
    write_config(project, server, '[agents.cached]\nmodel = "openai/gpt-4o-mini"\ncache = true\n')
    for _ in range(2):
        done = agentkit("run", "-a", "helper", "--cache", "Same question")
        assert (done.returncode, done.stdout) == (0, "Cached answer.\n"), done.stderr
    assert len(server.chat_requests) == 1  # the second answer came from the cache
    for _ in range(2):
        assert agentkit("run", "-a", "cached", "--no-cache", "Another question").returncode == 0
    assert len(server.chat_requests) == 3  # both asked the server


# -- the file tools' folder ------------------------------------------------------------------------


def test_root_flag_is_the_folder_the_file_tools_read(
    project: Path, agentkit: Cli, server: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("buy oat milk\n")
    server.add(tool_call("read", {"path": "todo.txt"}), "Oat milk.")
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "-T", "read", "--root", str(notes), "What is on my list?")
    assert done.returncode == 0, done.stderr
    result = last_message(server.chat_requests[1])
    assert result["role"] == "tool" and "buy oat milk" in result["content"]


def test_root_flag_without_file_tools_or_folder(
    project: Path, agentkit: Cli, server: Any, tmp_path: Path
) -> None:
    server.add("Hi.")
    write_config(project, server)
    done = agentkit("run", "-a", "helper", "--root", str(tmp_path), "Hi")
    assert done.returncode == 0
    assert (
        "agentkit: note: --root has no effect: the agent has no file tools (add them with -T files)"
        in done.stderr
    )
    missing = agentkit("run", "-a", "helper", "-T", "read", "--root", str(tmp_path / "nope"), "Hi")
    assert missing.returncode == 2
    assert missing.stderr.startswith(
        f"agentkit run: error: --root {str(tmp_path / 'nope')!r} is not a folder"
    )


# -- logs ------------------------------------------------------------------------------------------------


def test_log_level_flag(project: Path, agentkit: Cli, server: Any) -> None:
    server.add("Hi.")
    write_config(project, server)
    done = agentkit("--log-level", "debug", "run", "-a", "helper", "Hi", sub=True)
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("DEBUG agentkit") for line in done.stderr.splitlines()), done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr
    quiet = agentkit("run", "--log-level", "error", "-a", "helper", "Hi", sub=True)
    assert not any(line.startswith(("DEBUG", "INFO")) for line in quiet.stderr.splitlines())
    bad = agentkit("run", "--log-level", "loud", "-a", "helper", "Hi")
    assert bad.returncode == 2 and "expected one of debug, info, warning, error, critical" in bad.stderr


# -- memory: whose -----------------------------------------------------------------------------------


MEMORY_AGENT = """
[agents.mem]
model = "openai/gpt-4o-mini"
memory = "sqlite"
memory_settings = { tools = true }
"""


def test_user_flag_chooses_whose_memories(project: Path, agentkit: Cli, server: Any) -> None:
    write_config(project, server, MEMORY_AGENT)
    server.add(tool_call("remember", {"text": "Ada drinks green tea"}), "Noted.")
    assert agentkit("run", "-a", "mem", "--user", "ada", "I drink green tea.").returncode == 0
    server.add("Green tea.", "No idea.")
    assert agentkit("run", "-a", "mem", "--user", "ada", "Which tea do I like?").returncode == 0
    assert agentkit("run", "-a", "mem", "--user", "bob", "Which tea do I like?").returncode == 0
    ada, bob = (json.dumps(request["messages"]) for request in server.chat_requests[2:4])
    assert "Ada drinks green tea" in ada
    assert "Ada drinks green tea" not in bob
    server.add("Hello again, Ada.")
    stored = agentkit("run", "-a", "mem", "--user", "ada", "--session", "s-ada", "Hi again")
    assert stored.returncode == 0, stored.stderr
    listed = agentkit("sessions", "-a", "mem", "list", "--user", "ada", "--json")
    assert [s["id"] for s in json.loads(listed.stdout)] == ["s-ada"]  # the session belongs to ada


# -- the chat --------------------------------------------------------------------------------------------


def test_chat_takes_the_same_flags_and_root_moves_the_file_tools(
    project: Path, agentkit: Cli, server: Any, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "from the first folder"), (second, "from the second folder")):
        folder.mkdir()
        (folder / "note.txt").write_text(text)
    server.add(
        tool_call("read", {"path": "note.txt"}), "First.", tool_call("read", {"path": "note.txt"}), "Second."
    )
    write_config(project, server)
    lines = ["/root", "Read it", f"/root {second}", "/root", "Read it again", "/exit"]
    done = agentkit(
        "chat", "-a", "helper", "-T", "read", "--root", str(first), "-n", "3", input="\n".join(lines) + "\n"
    )
    assert done.returncode == 0, done.stderr
    printed = chat_lines(done.stdout)
    assert printed[0] == str(first.resolve())
    assert f"files root: {second.resolve()}" in printed
    tool_results = [last_message(r)["content"] for r in (server.chat_requests[1], server.chat_requests[3])]
    assert "from the first folder" in tool_results[0] and "from the second folder" in tool_results[1]


def test_chat_takes_the_run_flags_to_the_server(agentkit: Cli, home: Path) -> None:
    """Every flag ``run`` takes reaches the request from ``chat`` too: where the model is, its key,
    -e, --think, the tool timeout and --log-level (each was added to both, issue 23; --user with a
    memory is seen at work in test_user_flag_chooses_whose_memories)."""
    flag_key = "sk-from-the-flag-0004"
    script = ["Hello.", tool_call("slow", {"seconds": 2}), "Too slow."]
    with FakeOpenAIServer(script, api_key=flag_key) as server:
        done = agentkit(
            "--log-level", "debug", "chat", "-m", MODEL, "--base-url", server.base_url, "--api-key", flag_key,
            "-e", '{"top_k": 7}', "--think", "-T", "cli_tools:slow", "--tool-timeout", "0.2", "--no-cache",
            "--user", "ada", input="Hi\nGo slowly\n/exit\n", env=env_for(home, OPENAI_API_KEY="sk-env-0005"), sub=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        requests = server.chat_requests
        assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {flag_key}"] * 3
    assert all(r["top_k"] == 7 and r["reasoning_effort"] == "medium" for r in requests)
    result = last_message(requests[2])
    assert result["role"] == "tool" and "0.2" in result["content"], result
    assert any(line.startswith("DEBUG agentkit") for line in done.stderr.splitlines())
    assert flag_key not in done.stderr


def test_chat_session_command_says_where_the_session_is(
    project: Path, home: Path, agentkit: Cli, server: Any
) -> None:
    write_config(project, server)
    done = agentkit("chat", "-a", "helper", "--session", "trip-1", input="/session\n/exit\n")
    assert done.returncode == 0, done.stderr
    assert chat_lines(done.stdout)[0] == (
        f"session trip-1 in the sqlite store at {home / 'agentkit.db'} (`agentkit sessions show trip-1` prints it)"
    )
    memory_only = agentkit("chat", "-a", "helper", input="/session\n/exit\n")
    assert chat_lines(memory_only.stdout)[0].startswith("not stored: the conversation lives in memory")


def test_chat_root_that_is_not_a_folder_keeps_the_old_one(
    project: Path, agentkit: Cli, server: Any, tmp_path: Path
) -> None:
    write_config(project, server)
    done = agentkit(
        "chat",
        "-a",
        "helper",
        "-T",
        "read",
        "--root",
        str(tmp_path),
        input="/root /no/such/folder\n/root\n/exit\n",
    )
    assert done.returncode == 0
    error, _hint = one_line_error(done.stderr)
    assert error == "agentkit: error: --root '/no/such/folder' is not a folder"
    assert chat_lines(done.stdout)[-1] == str(tmp_path.resolve())
