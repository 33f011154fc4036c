"""The way users use it: agents naming ``postgres`` in Python and in agentkit.toml, the
``agentkit`` command in a subprocess (run, sessions, migrate, config show), secrets kept out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, SystemMessage
from agentkit.config import load_config
from agentkit.plugins import PluginHost
from agentkit.stores import export_session
from agentkit.testing import ScriptedProvider
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit_postgres import PostgresMemory, PostgresStore
from agentkit_postgres.testing import PASSWORD, PostgresServer

KEY = "sk-test-key-0123456789"


def memory_blocks(request: Any) -> list[str]:
    return [m.content for m in request.messages if isinstance(m, SystemMessage) and "<memory>" in m.content]


async def exports(store: PostgresStore | Any) -> dict[str, Any]:
    return {info.id: await export_session(store, info.id) for info in await store.list_sessions()}


# -- Python ------------------------------------------------------------------------------------------


def test_an_agent_with_postgres_sessions_and_memory_from_database_url(
    host: PluginHost, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_server.create_database("agent_default"))
    model = ScriptedProvider(["Hello, Ann!", "You are Ann, and you like tea."])
    agent = Agent("scripted/test", provider=model, storage="postgres", memory="postgres")
    assert isinstance(agent.memory, PostgresMemory)
    session = agent.session("chat-1", user_id="ann")
    session.remember("Ann drinks green tea")
    session.run("I am Ann.")
    agent.session("chat-1", user_id="ann").run("Which tea do I drink?")
    assert [m.text for m in model.requests[1].messages if m.role != "system"] == [
        "I am Ann.",
        "Hello, Ann!",
        "Which tea do I drink?",
    ]
    assert "Ann drinks green tea" in memory_blocks(model.requests[1])[0]
    assert isinstance(session.store, PostgresStore)
    assert session.store.settings.schema == "agentkit"
    assert agent.session("chat-1", user_id="ann").history[-1].text == "You are Ann, and you like tea."


def test_settings_given_as_a_table(host: PluginHost, dsn: str, schema: str) -> None:
    model = ScriptedProvider(["ok"])
    agent = Agent(
        "scripted/test",
        provider=model,
        storage={"name": "postgres", "dsn": dsn, "schema": schema, "pool_size": 3, "statement_timeout": 5},
    )
    agent.session("t").run("hi")
    store = agent.session("t").store
    assert isinstance(store, PostgresStore)
    assert (store.settings.schema, store.settings.pool_size, store.settings.statement_timeout) == (
        schema,
        3,
        5.0,
    )
    assert [m.text for m in agent.session("t").history] == ["hi", "ok"]


def test_a_misspelt_setting_gets_a_did_you_mean(host: PluginHost, dsn: str) -> None:
    from agentkit.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'dsn'"):
        Agent(
            "scripted/test", provider=ScriptedProvider([]), storage={"name": "postgres", "dns": dsn}
        ).session("x").run("hi")


def test_a_config_file_names_postgres_and_the_plugin_settings_give_the_dsn(
    host: PluginHost, pg_server: PostgresServer, schema: str, tmp_path: Path
) -> None:
    config = tmp_path / "agentkit.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [postgres]
            dsn = "${{APP_DB}}"
            schema = "{schema}"
            pool_size = 4
            keyword_weight = 0.7

            [agents.helper]
            model = "scripted/test"
            storage = "postgres"
            memory = "postgres"
            """
        )
    )
    environ = {"APP_DB": pg_server.dsn(password=PASSWORD)}
    loaded = load_config(config, environ=environ)
    model = ScriptedProvider(["Noted.", "Window seats."])
    agent = loaded.agent("helper", provider=model)
    assert isinstance(agent.memory, PostgresMemory)
    assert (agent.memory.settings.schema, agent.memory.settings.pool_size, agent.memory.keyword_weight) == (
        schema,
        4,
        0.7,
    )
    assert agent.memory.settings.dsn.password == PASSWORD  # from ${APP_DB}
    session = agent.session("trip", user_id="bo")
    session.remember("Bo prefers window seats")
    session.run("Remember my seat.")
    agent.session("trip", user_id="bo").run("Which seats do I like?")
    assert "window seats" in memory_blocks(model.requests[1])[0]
    store = agent.session("trip").store
    assert isinstance(store, PostgresStore) and store.settings.schema == schema
    assert PASSWORD not in repr(store) and PASSWORD not in repr(agent.memory)
    shown = json.dumps(loaded.resolved())
    assert PASSWORD not in shown and "postgres:***@127.0.0.1" in shown
    assert loaded.check() == []


# -- the agentkit command ---------------------------------------------------------------------------


class Project:
    def __init__(self, root: Path, server: FakeOpenAIServer, env: dict[str, str]) -> None:
        self.root = root
        self.server = server
        self.env = env

    def write(self, schema: str, *, dsn_var: str = "APP_DB") -> None:
        (self.root / "agentkit.toml").write_text(
            textwrap.dedent(
                f"""
                [postgres]
                dsn = "${{{dsn_var}}}"
                schema = "{schema}"
                pool_size = 2

                [providers.openai]
                base_url = "{self.server.base_url}"
                api_key = "{KEY}"
                max_retries = 0

                [agents.helper]
                model = "openai/gpt-4o-mini"
                storage = "postgres"
                """
            )
        )

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentkit", *args],
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def project(tmp_path: Path, pg_server: PostgresServer) -> Iterator[Project]:
    root = tmp_path / "project"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_", "DATABASE_URL"))}
    env.update(AGENTKIT_HOME=str(tmp_path / "home"), APP_DB=pg_server.dsn(password=PASSWORD))
    with FakeOpenAIServer(api_key=KEY) as server:
        yield Project(root, server, env)


async def test_agentkit_run_keeps_sessions_in_postgres_and_migrates_them_both_ways(
    project: Project, pg_server: PostgresServer, schema: str
) -> None:
    project.write(schema)
    project.server.add("Hello Ann!", "Your name is Ann.")
    first = project("run", "-a", "helper", "--session", "s1", "I am Ann")
    assert first.returncode == 0, first.stderr
    second = project("run", "-a", "helper", "--session", "s1", "Who am I?")
    assert second.stdout == "Your name is Ann.\n", second.stderr
    assert [m["role"] for m in project.server.chat_requests[1]["messages"]] == ["user", "assistant", "user"]

    source = PostgresStore(pg_server.dsn(), schema=schema)
    try:
        assert [m.text for m in await source.read_messages("s1")] == [
            "I am Ann", "Hello Ann!", "Who am I?", "Your name is Ann.",
        ]  # fmt: skip
        for which in (["-a", "helper"], ["--store", "postgres"]):  # the agent's store; by name
            listed = project("sessions", *which, "list", "--json")
            assert [s["id"] for s in json.loads(listed.stdout)] == ["s1"], listed.stderr

        shown = project("config", "show")
        assert shown.returncode == 0, shown.stderr
        assert PASSWORD not in shown.stdout and "postgres:***@127.0.0.1" in shown.stdout

        # PostgreSQL -> SQLite and JSONL, then each back into a schema of its own
        for target in ("sqlite:./copy.db", "jsonl:./copy"):
            done = project("sessions", "-a", "helper", "migrate", "--to", target)
            assert done.returncode == 0, done.stderr
            assert "copied 1 session(s)" in done.stderr + done.stdout
        for n, target in enumerate(("sqlite:./copy.db", "jsonl:./copy")):
            back = f"{schema}_back{n}"
            project.write(back)
            done = project("sessions", "--store", target, "migrate", "--to", "postgres")
            assert done.returncode == 0, done.stderr
            assert PASSWORD not in done.stdout + done.stderr
            copy = PostgresStore(pg_server.dsn(), schema=back)
            try:
                assert await exports(copy) == await exports(source)
            finally:
                await copy.aclose()
    finally:
        await source.aclose()


def test_a_wrong_password_is_one_line_naming_host_and_database(project: Project, schema: str) -> None:
    project.write(schema)
    env = dict(project.env, APP_DB=project.env["APP_DB"].replace(PASSWORD, "Wrong-Secret-42"))
    done = project("run", "-a", "helper", "--session", "s1", "hi", env=env)
    assert done.returncode != 0
    assert "Wrong-Secret-42" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert 'database "postgres" on host "127.0.0.1"' in done.stderr
    assert "password authentication failed" in done.stderr
