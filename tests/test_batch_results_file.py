"""The results file of a batch job: what a crash leaves behind is repaired or refused, never
guessed at; one job at a time; retry-failed rewrites atomically. Jobs run through
``run_batch`` with the built-in scripted provider (no server needed)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.batch import run_batch
from agentkit.batch._results import decode_line
from agentkit.errors import BatchError
from agentkit.testing.batch import read_results


def echo_agent() -> Agent:
    return Agent("scripted/echo", provider_settings={"script": ["done"], "repeat_last": True})


def line(item_id: object, status: str = "ok") -> str:
    error = None if status == "ok" else {"type": "ServerError", "message": "boom"}
    return json.dumps(
        {"id": item_id, "status": status, "text": "done" if status == "ok" else None, "output": None,
         "usage": {}, "cost": None, "turns": 1, "duration": 0.1, "error": error},
        separators=(",", ":"),
    ) + "\n"  # fmt: skip


def ids(path: Path) -> list[object]:
    return sorted(row["id"] for row in read_results(path))


def test_a_torn_last_line_is_cut_off_reported_and_its_item_runs_again(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(line(0) + line(1) + '{"id":2,"status":"ok","text":"do')
    summary = run_batch(echo_agent(), ["a", "b", "c", "d"], output=output)
    assert (summary.ok, summary.skipped) == (2, 2)
    assert any("torn last line (32 bytes" in notice for notice in summary.notices)
    assert ids(output) == [0, 1, 2, 3]


def test_a_tail_of_zeros_from_a_machine_crash_is_cut_off(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    output.write_bytes(line(0).encode() + b"\0" * 4096 + b"\n" + b"\0" * 100)
    summary = run_batch(echo_agent(), ["a", "b"], output=output)
    assert (summary.ok, summary.skipped) == (1, 1) and summary.notices
    assert ids(output) == [0, 1]


def test_a_damaged_line_before_good_ones_is_an_error_naming_it(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    before = line(0) + "not json at all\n" + line(1)
    output.write_text(before)
    with pytest.raises(BatchError, match=r"results.jsonl:2: this line is not a results line") as info:
        run_batch(echo_agent(), ["a", "b", "c"], output=output)
    assert "by hand" in (info.value.hint or "")
    assert output.read_text() == before  # nothing cut, nothing appended


def test_a_damaged_last_line_that_is_not_torn_is_not_guessed_at(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(line(0) + '{"something": "else"}\n')
    with pytest.raises(BatchError, match=r"results.jsonl:2: the last line is not a results line"):
        run_batch(echo_agent(), ["a", "b"], output=output)


def test_one_job_at_a_time_per_results_file(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom agentkit.batch._output import ResultsFile\n"
         f"f = ResultsFile.open({str(output)!r})\nprint('held', flush=True)\nsys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BatchError, match="another batch job is writing this results file"):
            run_batch(echo_agent(), ["a"], output=output)
    finally:
        holder.communicate("", timeout=30)
    assert run_batch(echo_agent(), ["a"], output=output).ok == 1  # free again once that job ended


def test_retry_failed_rewrites_the_file_whole_keeping_its_mode(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(line("a") + line("b", "error") + line("c") + line("d", "error"))
    os.chmod(output, 0o640)
    summary = run_batch(
        echo_agent(),
        [{"id": k, "input": k} for k in "abcde"],
        output=output,
        retry_failed=True,
    )
    assert (summary.ok, summary.failed, summary.skipped) == (3, 0, 2)
    rows = read_results(output)
    assert sorted(r["id"] for r in rows) == list("abcde") and all(r["status"] == "ok" for r in rows)
    assert stat.S_IMODE(output.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_long_string_ids_resume_by_digest_and_edited_lines_are_still_read(tmp_path: Path) -> None:
    long_id = "ticket/" + "x" * 200
    output = tmp_path / "results.jsonl"
    edited = json.dumps({"status": "ok", "text": "by hand", "id": "edited"}) + "\n"  # keys in another order
    output.write_text(line(long_id) + edited)
    summary = run_batch(
        echo_agent(),
        [{"id": long_id, "input": "a"}, {"id": "edited", "input": "b"}, {"id": long_id + "y", "input": "c"}],
        output=output,
    )
    assert (summary.ok, summary.skipped) == (1, 2)
    assert ids(output) == sorted(["edited", long_id, long_id + "y"])


def test_decode_line_reads_id_and_status_of_written_and_edited_lines() -> None:
    assert decode_line(line(7).rstrip("\n")) == (7, "ok")
    assert decode_line(line("x", "error").rstrip("\n")) == ("x", "error")
    assert decode_line('{"status": "error", "id": [1]}') == ([1], "error")
    for bad in ('{"id":1,"status":"ok"', '{"id": 1, "status": "maybe"}', "[]", '{"id":1,"status":"ok","te'):
        with pytest.raises(ValueError):
            decode_line(bad)


def test_overwrite_empties_the_file(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(line(0) + "garbage\n" + line(1))
    summary = run_batch(echo_agent(), ["a", "b"], output=output, resume=False)
    assert (summary.ok, summary.skipped) == (2, 0) and ids(output) == [0, 1]
