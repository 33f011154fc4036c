"""A million-line batch input costs no more memory than a thousand-line one (beyond the set of
ids a job must remember): inputs and the results file are streamed, never loaded whole.

Both jobs run ``agentkit batch`` in a real subprocess (through ``agentkit.cli.main``, which
reports its own peak RSS when it ends) and each runs 1,000 items against the fake server. The
big one reads a 1,000,000-line input (~300 MB) and a results file already holding 999,000 of
its items (~150 MB), so it streams both through the whole pipeline: resume scan, reading,
skipping, running, writing. Holding either file in memory would cost several hundred MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentkit.testing.batch import ItemScript, config_text, read_results
from agentkit.testing.fake_openai import FakeOpenAIServer

BIG = 1_000_000
RUN = 1_000
FILLER = "x" * 280  # each input line is about 300 bytes

# agentkit batch, in this subprocess, then the process's peak resident memory (KiB) on stderr
PROBE = (
    "import resource, sys\n"
    "from agentkit.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'PEAK_KIB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def write_plain_inputs(path: Path, count: int) -> None:
    """``count`` plain-string items (their ids are their positions)."""
    with path.open("w", encoding="utf-8", buffering=1 << 20) as handle:
        for n in range(count):
            handle.write(f'"item {n}: {FILLER}"\n')


def write_done_results(path: Path, count: int) -> None:
    """A results file in which items 0 .. count-1 are done, as a previous run left it."""
    with path.open("w", encoding="utf-8", buffering=1 << 20) as handle:
        for n in range(count):
            handle.write(
                f'{{"id":{n},"status":"ok","text":"answer to item {n}","output":null,"usage":{{"input_tokens":80,'
                '"output_tokens":5,"cached_tokens":0,"reasoning_tokens":0,"requests":1},"cost":null,"turns":1,'
                '"duration":0.01,"error":null}\n'
            )


def peak_of_batch(project: Path, inputs: str, output: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env["AGENTKIT_HOME"] = str(project / "home")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "batch", "-a", "triage", inputs, "-o", output, "-n", "16"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    peak = next(int(line.split("=")[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KIB="))
    return peak * 1024, proc.stderr


def test_memory_stays_flat_for_a_million_line_input(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    with FakeOpenAIServer(ItemScript()) as server:
        (tmp_path / "agentkit.toml").write_text(config_text(server.base_url))
        write_plain_inputs(tmp_path / "small.jsonl", RUN)
        small_peak, _ = peak_of_batch(tmp_path, "small.jsonl", "small-results.jsonl")

        write_plain_inputs(tmp_path / "big.jsonl", BIG)
        write_done_results(tmp_path / "big-results.jsonl", BIG - RUN)
        input_size = (tmp_path / "big.jsonl").stat().st_size + (tmp_path / "big-results.jsonl").stat().st_size
        big_peak, stderr = peak_of_batch(tmp_path, "big.jsonl", "big-results.jsonl")

    assert f"finished: {RUN:,} ok, 0 failed, {BIG - RUN:,} skipped" in stderr
    rows = read_results(tmp_path / "big-results.jsonl")
    assert len(rows) == BIG and len({row["id"] for row in rows[-RUN:]}) == RUN
    assert {row["id"] for row in rows[-RUN:]} == set(range(BIG - RUN, BIG))
    assert json.loads(json.dumps(rows[-1]))["text"].startswith("answer to item ")
    growth = big_peak - small_peak
    # What a million ids cost (the job's set of ids: ~70 bytes each) and nothing that grows
    # with the data: loading either file whole would add several hundred MB.
    assert input_size > 400 * 2**20
    assert growth < 120 * 2**20, f"peak grew by {growth / 2**20:.0f} MiB for {input_size / 2**20:.0f} MiB of files"
