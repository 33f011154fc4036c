"""``agentkit batch`` end to end: real subprocesses on a real agentkit.toml, a loopback fake
provider, SIGKILL and SIGINT sent to the running job, and the results file read back."""

from __future__ import annotations

import collections
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkit.testing.batch import ItemScript, config_text, read_results, write_inputs
from agentkit.testing.fake_openai import FakeOpenAIServer

TIMEOUT = 120  # generous: the machine may be loaded; no test waits this long when things work


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(AGENTKIT_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


class Job:
    """A running ``agentkit batch`` subprocess whose stderr is collected as it comes."""

    def __init__(self, project: Path, *args: str, stderr_fd: int | None = None, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "batch", *args],
            cwd=project,
            env=env or env_for(project / "home"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_fd if stderr_fd is not None else subprocess.PIPE,
        )
        self.err = b""
        self._changed = threading.Condition()
        self._reader = None
        if stderr_fd is None:
            assert self.proc.stderr is not None
            self._reader = threading.Thread(target=self._read, args=(self.proc.stderr.fileno(),), daemon=True)
            self._reader.start()

    def _read(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            with self._changed:
                self.err += chunk
                self._changed.notify_all()
            if not chunk:
                return

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "replace")

    def wait_for_stderr(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self._changed:
            while text.encode() not in self.err:
                left = deadline - time.monotonic()
                assert (left > 0 and self.proc.poll() is None) or text.encode() in self.err, (
                    f"never printed {text!r}:\n{self.stderr}"
                )
                self._changed.wait(min(left, 0.5))

    def finish(self) -> int:
        try:
            code = self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path


@pytest.fixture
def served(project: Path) -> Iterator[Callable[[ItemScript], FakeOpenAIServer]]:
    servers: list[FakeOpenAIServer] = []

    def start(script: ItemScript) -> FakeOpenAIServer:
        server = FakeOpenAIServer(script).start()
        servers.append(server)
        (project / "agentkit.toml").write_text(config_text(server.base_url))
        return server

    yield start
    for server in servers:
        server.stop()


def ids_of(path: Path) -> collections.Counter[str]:
    return collections.Counter(row["id"] for row in read_results(path))


def number(item_id: str) -> int:
    return int(item_id.split("-")[1])


def test_killed_with_sigkill_at_any_moment_and_resumed_each_id_is_written_exactly_once(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    script = ItemScript(delay=0.01)
    served(script)
    write_inputs(project / "inputs.jsonl", 600)
    output = project / "results.jsonl"
    args = ("-a", "triage", "inputs.jsonl", "-o", "results.jsonl", "--concurrency", "8")
    done_before: set[str] = set()
    at_kill: list[tuple[list[str], dict[int, int]]] = []
    for kill_at in (80, 250):
        job = Job(project, *args)
        wait_until(lambda at=kill_at: lines_in(output) >= at, f"{kill_at} results")
        job.proc.send_signal(signal.SIGKILL)
        assert job.finish() == -signal.SIGKILL
        text = output.read_bytes()
        complete = text[: text.rfind(b"\n") + 1]
        written = [json.loads(line)["id"] for line in complete.splitlines()]
        assert len(written) == len(set(written)) and len(written) < 600
        done_before |= set(written)
        at_kill.append((written, dict(script.attempts)))
    # a torn last line, as a kill in the middle of a write leaves it
    pending = next(f"t-{n}" for n in range(600) if f"t-{n}" not in done_before)
    with output.open("ab") as handle:
        handle.write(b'{"id":"' + pending.encode() + b'","status":"ok","text":"answer to it')
    job = Job(project, *args)
    assert job.finish() == 0, job.stderr
    assert "repaired" in job.stderr and "torn last line" in job.stderr
    assert "finished: " in job.stderr
    counts = ids_of(output)
    assert set(counts) == {f"t-{n}" for n in range(600)}
    assert max(counts.values()) == 1
    assert all(row["status"] == "ok" and row["text"] == f"answer to item {number(row['id'])}"
               for row in read_results(output))  # fmt: skip
    # what was written before a kill never ran again afterwards
    for written, attempts in at_kill:
        assert all(script.attempts[number(i)] == attempts[number(i)] for i in written)
    # the item of the torn line ran once more
    assert script.attempts[number(pending)] == at_kill[-1][1].get(number(pending), 0) + 1


def test_ctrl_c_lets_running_items_finish_and_the_job_resumes(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    script = ItemScript(delay=0.25)
    served(script)
    write_inputs(project / "inputs.jsonl", 40)
    output = project / "results.jsonl"
    args = ("-a", "triage", "inputs.jsonl", "-o", "results.jsonl", "-n", "4")
    job = Job(project, *args)
    wait_until(lambda: lines_in(output) >= 4, "the first results")
    job.proc.send_signal(signal.SIGINT)
    assert job.finish() == 130, job.stderr
    assert "stopping: no new items" in job.stderr
    assert "interrupted:" in job.stderr and "run the same command again to resume" in job.stderr
    written = ids_of(output)
    assert max(written.values()) == 1 and len(written) < 40
    # every item that had started finished and was written; none started after the Ctrl-C
    started = {f"t-{n}" for n in script.attempts}
    assert started == set(written)
    job = Job(project, *args)
    assert job.finish() == 0, job.stderr
    counts = ids_of(output)
    assert set(counts) == {f"t-{n}" for n in range(40)} and max(counts.values()) == 1
    assert max(script.attempts.values()) == 1


def test_a_second_ctrl_c_cancels_running_items_which_run_again_on_resume(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    gate = threading.Event()
    script = ItemScript(gate=gate)
    server = served(script)
    write_inputs(project / "inputs.jsonl", 20)
    output = project / "results.jsonl"
    args = ("-a", "triage", "inputs.jsonl", "-o", "results.jsonl", "-n", "4")
    try:
        job = Job(project, *args)
        wait_until(lambda: len(server.chat_requests) >= 4, "four items in flight")
        job.proc.send_signal(signal.SIGINT)
        job.wait_for_stderr("Ctrl-C again to cancel them")
        job.proc.send_signal(signal.SIGINT)
        assert job.finish() == 130, job.stderr
        assert "cancelling 4 running item(s)" in job.stderr
        assert output.read_bytes() == b""  # nothing finished, nothing written
    finally:
        gate.set()
    job = Job(project, *args)
    assert job.finish() == 0, job.stderr
    counts = ids_of(output)
    assert set(counts) == {f"t-{n}" for n in range(20)} and max(counts.values()) == 1


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    server = served(ItemScript(delay=0.01, failing=lambda n: n == 5))
    (project / "agentkit.toml").write_text(
        config_text(server.base_url, body='[agents.triage.prices."openai/*"]\ninput = 1.0\noutput = 2.0\n')
    )
    write_inputs(project / "inputs.jsonl", 60)
    job = Job(project, "-a", "triage", "inputs.jsonl", "-o", "out/results.jsonl", "-n", "4",
              "--progress-interval", "0.05")  # fmt: skip
    assert job.finish() == 10, job.stderr
    lines = [ln for ln in job.stderr.splitlines() if ln.startswith("agentkit batch: ")]
    progress = [ln for ln in lines if "/60 done" in ln]
    assert progress, job.stderr
    assert all("runs/s" in ln and "tokens" in ln and "failed" in ln for ln in progress)
    assert all("$0.0" in ln for ln in progress if not ln.startswith("agentkit batch: 0/60"))
    assert "\r" not in job.stderr and "\x1b" not in job.stderr
    assert "finished: 59 ok, 1 failed" in job.stderr
    assert "--retry-failed" in job.stderr
    rows = read_results(project / "out" / "results.jsonl")
    assert [row["id"] for row in rows if row["status"] == "error"] == ["t-5"]
    # the cost of each item, from the agent's prices (dollars per million tokens)
    ok = next(row for row in rows if row["status"] == "ok")
    usage = ok["usage"]
    assert ok["cost"] == pytest.approx((usage["input_tokens"] * 1.0 + usage["output_tokens"] * 2.0) / 1e6)
    total = sum(row["cost"] for row in rows if row["cost"] is not None)
    assert f"${total:.4f}" in job.stderr.splitlines()[-2]


def test_progress_is_a_bar_on_a_terminal(project: Path, served: Callable[[ItemScript], FakeOpenAIServer]) -> None:
    served(ItemScript(delay=0.02))
    write_inputs(project / "inputs.jsonl", 80)
    master, slave = pty.openpty()
    try:
        job = Job(project, "-a", "triage", "inputs.jsonl", "-o", "results.jsonl", "-n", "4",
                  stderr_fd=slave, env=env_for(project / "home", TERM="xterm"))  # fmt: skip
        os.close(slave)
        slave = -1
        reader = threading.Thread(target=job._read, args=(master,), daemon=True)
        reader.start()
        assert job.finish() == 0
        reader.join(10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    text = job.stderr
    assert "\r\x1b[2K▕" in text, text
    frames = [f for f in text.split("\r\x1b[2K") if f.startswith("▕")]
    assert any("ETA" in f and "runs/s" in f and "tokens" in f for f in frames), frames
    assert "80/80 done (100%)" in frames[-1]
    assert "finished: 80 ok, 0 failed" in text


def test_retry_failed_from_the_command_line(project: Path, served: Callable[[ItemScript], FakeOpenAIServer]) -> None:
    refuse = {2, 7}
    script = ItemScript(failing=lambda n: n in refuse)
    served(script)
    write_inputs(project / "inputs.jsonl", 10)
    args = ("-a", "triage", "inputs.jsonl", "-o", "results.jsonl")
    assert Job(project, *args).finish() == 10
    refuse.clear()
    job = Job(project, *args)
    assert job.finish() == 0 and "10 skipped" in job.stderr  # failures are done too, unless asked
    job = Job(project, *args, "--retry-failed")
    assert job.finish() == 0, job.stderr
    assert "finished: 2 ok, 0 failed, 8 skipped" in job.stderr
    rows = read_results(project / "results.jsonl")
    assert len(rows) == 10 and all(row["status"] == "ok" for row in rows)


def test_inputs_from_standard_input_and_usage_errors(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    served(ItemScript())
    items = "".join(json.dumps(f"item {n}") + "\n" for n in range(3))
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "batch", "-a", "triage", "-", "-o", "r.jsonl"],
        cwd=project, env=env_for(project / "home"), input=items, capture_output=True, text=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(row["id"] for row in read_results(project / "r.jsonl")) == [0, 1, 2]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agentkit", "batch", *args], cwd=project, env=env_for(project / "home"),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip

    write_inputs(project / "inputs.jsonl", 2)
    bad = run("-a", "triage", "inputs.jsonl", "-o", "x.jsonl", "--executor", "nope")
    assert bad.returncode == 8 and "unknown executor 'nope'" in bad.stderr and "local" in bad.stderr
    bad = run("-a", "triage", "missing.jsonl", "-o", "x.jsonl")
    assert bad.returncode == 2 and "no such input file" in bad.stderr
    bad = run("-a", "triage", "inputs.jsonl")
    assert bad.returncode == 2 and "-o/--output" in bad.stderr
    (project / "broken.jsonl").write_text('{"input": "item 1"}\n{"inptu": "item 2"}\n')
    bad = run("-a", "triage", "broken.jsonl", "-o", "y.jsonl")
    assert bad.returncode == 2 and "broken.jsonl:2: unknown item key 'inptu'" in bad.stderr
    assert "did you mean 'input'" in bad.stderr


def test_ctrl_c_in_a_script_calling_run_batch(
    project: Path, served: Callable[[ItemScript], FakeOpenAIServer]
) -> None:
    script = ItemScript(delay=0.25)
    served(script)
    write_inputs(project / "inputs.jsonl", 40)
    (project / "job.py").write_text(
        "from pathlib import Path\n"
        "from agentkit.batch import run_batch\n"
        "try:\n"
        "    run_batch('triage', Path('inputs.jsonl'), output='results.jsonl', concurrency=4)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    raise SystemExit(130)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "job.py"], cwd=project, env=env_for(project / "home"), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    output = project / "results.jsonl"
    try:
        wait_until(lambda: lines_in(output) >= 4, "the first results")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert out.strip() == "interrupted"
    written = ids_of(output)
    assert max(written.values()) == 1 and len(written) < 40
    assert {f"t-{n}" for n in script.attempts} == set(written)  # started items finished, none after
