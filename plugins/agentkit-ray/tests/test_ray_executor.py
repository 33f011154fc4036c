"""The ``ray`` executor on a real local Ray runtime, against a loopback fake provider.

The same job runs on the local executor and on Ray and must give the same results; a Ray
worker process is killed with SIGKILL in the middle of a job and every item must still be
written exactly once; the command line drives a job on the already running cluster through
RAY_ADDRESS, as a user would with a real cluster.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent
from agentkit.batch import run_batch
from agentkit.errors import BatchError, ConfigError
from agentkit.testing.batch import SECRET, ItemScript, config_text, read_results, write_inputs
from agentkit.testing.fake_openai import FakeOpenAIServer
from agentkit_ray import RayExecutor

pytestmark = pytest.mark.usefixtures("ray_cluster")


def comparable(path: Path) -> dict[str, dict[str, Any]]:
    """Each result line by id, without its duration (the one thing that differs by nature)."""
    rows = {}
    for row in read_results(path):
        row.pop("duration")
        rows[row["id"]] = row
    return rows


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_the_same_job_on_ray_gives_the_local_executors_results(tmp_path: Path) -> None:
    script = ItemScript(failing=lambda n: n % 10 == 3, delay=0.005)
    inputs = write_inputs(tmp_path / "inputs.jsonl", 200)
    with FakeOpenAIServer(script) as server:
        config = tmp_path / "agentkit.toml"
        config.write_text(config_text(server.base_url))
        local = run_batch("triage", inputs, output=tmp_path / "local.jsonl", config=config, concurrency=6)
        server.reset(script)
        on_ray = run_batch(
            "triage", inputs, output=tmp_path / "ray.jsonl", config=config, concurrency=6, executor="ray"
        )
        in_flight = server.max_in_flight
    assert (on_ray.ok, on_ray.failed) == (local.ok, local.failed) == (180, 20)
    assert on_ray.usage == local.usage
    ray_rows, local_rows = comparable(tmp_path / "ray.jsonl"), comparable(tmp_path / "local.jsonl")
    assert len(ray_rows) == 200 and ray_rows == local_rows
    assert ray_rows["t-13"]["error"]["type"] == "BadRequestError"
    assert in_flight <= 6
    assert script.attempts == collections.Counter({n: 2 for n in range(200)})  # once per executor


def test_a_worker_killed_mid_job_is_restarted_and_each_item_is_written_once(tmp_path: Path) -> None:
    # After 40 answers the server holds every answer until a worker of this job (by the pid it
    # reported, never a Ray worker of another job on the machine) is killed while all 8 items in
    # flight wait at the server: so the victim surely had items running, whatever the speed of
    # the machine. Then the answers flow again.
    gate = threading.Event()
    gate.set()
    script = ItemScript(delay=0.01, gate=gate)
    inputs = write_inputs(tmp_path / "inputs.jsonl", 240)
    executor = RayExecutor(workers=2)
    killed: list[int] = []
    failures: list[str] = []

    def kill_one_worker(server: FakeOpenAIServer) -> None:
        try:
            deadline = time.monotonic() + 120
            while sum(script.attempts.values()) < 40:
                assert time.monotonic() < deadline, "the job did not get going"
                time.sleep(0.005)
            gate.clear()
            while server.in_flight < 8:  # every item in flight waits at the server
                assert time.monotonic() < deadline, f"only {server.in_flight} requests in flight"
                time.sleep(0.005)
            victim = executor.worker_pids[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        except BaseException as exc:
            failures.append(repr(exc))
        finally:
            gate.set()

    with FakeOpenAIServer(script) as server:
        config = tmp_path / "agentkit.toml"
        config.write_text(config_text(server.base_url))
        killer = threading.Thread(target=kill_one_worker, args=(server,))
        killer.start()
        try:
            summary = run_batch(
                "triage", inputs, output=tmp_path / "out.jsonl", config=config, concurrency=8, executor=executor
            )
        finally:
            gate.set()
            killer.join()
    assert not failures and killed, failures
    assert summary.ok == 240 and summary.failed == 0
    counts = collections.Counter(row["id"] for row in read_results(tmp_path / "out.jsonl"))
    assert set(counts) == {f"t-{n}" for n in range(240)} and max(counts.values()) == 1
    # the killed worker's items were running: Ray sent them again to the restarted worker
    assert 1 <= sum(attempts >= 2 for attempts in script.attempts.values()) <= 4
    assert not alive(killed[0])


def test_the_command_line_runs_a_job_on_an_existing_cluster(tmp_path: Path, ray_cluster: str) -> None:
    script = ItemScript()
    write_inputs(tmp_path / "inputs.jsonl", 30)
    with FakeOpenAIServer(script) as server:
        (tmp_path / "agentkit.toml").write_text(config_text(server.base_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
        env.update(RAY_ADDRESS=ray_cluster, AGENTKIT_HOME=str(tmp_path / "home"))
        proc = subprocess.run(
            [sys.executable, "-m", "agentkit", "batch", "-a", "triage", "inputs.jsonl", "-o", "results.jsonl",
             "--executor", "ray", "-n", "4", "-X", "workers=2", "-X", "num_cpus=0.5"],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "finished: 30 ok, 0 failed" in proc.stderr
    rows = read_results(tmp_path / "results.jsonl")
    assert sorted(row["id"] for row in rows) == sorted(f"t-{n}" for n in range(30))
    assert all(row["text"] == f"answer to item {row['id'][2:]}" for row in rows)


def test_workers_get_the_variables_the_config_names_only_when_forwarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_RAY_TEST_KEY", SECRET)  # set here, after the workers' environment was made
    with FakeOpenAIServer(ItemScript(), api_key=SECRET) as server:
        config = tmp_path / "agentkit.toml"
        config.write_text(
            config_text(server.base_url).replace(f'api_key = "{SECRET}"', 'api_key_env = "AGENTKIT_RAY_TEST_KEY"')
        )
        with pytest.raises(BatchError, match=r"could not build agent 'triage'.*AGENTKIT_RAY_TEST_KEY") as info:
            run_batch("triage", ["item 1"], config=config, executor="ray")
        assert "agentkit-ray" in (info.value.hint or "")
        summary = run_batch(
            "triage", ["item 1", "item 2"], config=config, executor="ray",
            executor_options={"env": ["AGENTKIT_RAY_TEST_KEY"], "workers": 1},
        )  # fmt: skip
    assert summary.results is not None and [r.text for r in summary.results] == [
        "answer to item 1",
        "answer to item 2",
    ]


def test_an_agent_object_cannot_be_shipped_and_bad_options_are_named(tmp_path: Path) -> None:
    agent = Agent("openai/gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key=SECRET)
    with pytest.raises(BatchError, match="needs the agent's name, not an Agent object"):
        run_batch(agent, ["item 1"], executor="ray")
    (tmp_path / "agentkit.toml").write_text(config_text("http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError, match=r"executor 'ray' has no option 'worker' \(did you mean 'workers'\?\)"):
        run_batch("triage", ["item 1"], config=tmp_path / "agentkit.toml", executor="ray",
                  executor_options={"worker": 2})  # fmt: skip
    with pytest.raises(BatchError, match="workers must be an integer >= 1"):
        run_batch("triage", ["item 1"], config=tmp_path / "agentkit.toml", executor="ray",
                  executor_options={"workers": 0})  # fmt: skip
