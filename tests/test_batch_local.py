"""Batch jobs on the local executor, through the Python API, against a real loopback server.

The fake provider answers "answer to item N" to the item whose input says "item N", and
injects failures (HTTP 400) and rate limits (HTTP 429 with retry-after) by item number. The
server counts the requests it is answering at once, so the concurrency bound is measured
where it matters.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, hookimpl
from agentkit.batch import BatchItem, ItemResult, LocalExecutor, arun_batch, run_batch
from agentkit.errors import BatchError, ConfigError, PluginError
from agentkit.testing.batch import SECRET, ItemScript, config_text, read_results, write_inputs
from agentkit.testing.fake_openai import FakeOpenAIServer


def agent_for(server: FakeOpenAIServer, **kwargs: Any) -> Agent:
    return Agent(
        "openai/gpt-4o-mini",
        base_url=server.base_url,
        api_key=SECRET,
        provider_settings={"max_retries": 0},
        **kwargs,
    )


def test_a_thousand_items_each_exactly_once_with_failures_rate_limits_and_the_bound(tmp_path: Path) -> None:
    failing = {n for n in range(1000) if n % 50 == 7}
    limited = {n for n in range(100, 1000) if n % 40 == 3}  # each refused twice, then answered
    script = ItemScript(
        failing=lambda n: n in failing,
        limited=lambda n: 2 if n in limited else 0,
        retry_after=0.01,
        delay=0.002,
    )
    # The first 16 requests are answered only once all 16 are in flight together: the bound is
    # reached for sure (the test would time out otherwise), however slow this machine is.
    barrier = threading.Barrier(16, timeout=60)
    first = iter(range(16))
    lock = threading.Lock()

    def answer(body: dict[str, Any]) -> Any:
        with lock:
            early = next(first, None) is not None
        if early:
            barrier.wait()
        return script(body)

    inputs = write_inputs(tmp_path / "inputs.jsonl", 1000)
    output = tmp_path / "results.jsonl"
    with FakeOpenAIServer(answer) as server:
        summary = run_batch(agent_for(server), inputs, output=output, concurrency=16)
        in_flight = server.max_in_flight
    # the bound was reached (so this test can fail) and held at the server; a broken barrier
    # means fewer than 16 requests were ever in flight together for a whole minute
    assert not barrier.broken, f"at most {in_flight} requests were in flight together"
    assert in_flight == 16

    rows = read_results(output)
    counts = collections.Counter(row["id"] for row in rows)
    assert set(counts) == {f"t-{n}" for n in range(1000)}
    assert max(counts.values()) == 1
    by_id = {row["id"]: row for row in rows}
    for n in range(1000):
        row = by_id[f"t-{n}"]
        if n in failing:
            assert row["status"] == "error", row
            assert row["error"]["type"] == "BadRequestError"
            assert f"item {n} is refused" in row["error"]["message"]
            assert row["text"] is None
        else:
            assert row["status"] == "ok", json.dumps(row)
            assert row["text"] == f"answer to item {n}"
            assert row["error"] is None
            assert row["usage"]["requests"] == 1 and row["usage"]["input_tokens"] > 0
            assert row["turns"] == 1 and row["duration"] > 0
    # rate limits slowed the job down and were retried, never recorded as failures
    assert all(script.attempts[n] == 3 for n in limited)
    assert summary.rate_limited == 2 * len(limited)
    assert (summary.ok, summary.failed, summary.skipped) == (1000 - len(failing), len(failing), 0)


def test_a_rate_limit_pauses_every_item_for_the_retry_after(tmp_path: Path) -> None:
    script = ItemScript(limited=lambda n: 1 if n == 40 else 0, retry_after=1.0, delay=0.002)
    seen = SeenRateLimits()
    logger = logging.getLogger("agentkit.batch")
    level = logger.level
    logger.addHandler(seen)
    logger.setLevel(logging.INFO)
    try:
        with FakeOpenAIServer(script) as server:
            summary = run_batch(agent_for(server), [f"item {n}" for n in range(120)], concurrency=4)
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    assert summary.ok == 120 and summary.rate_limited == 1
    # From the moment the job saw the 429 (not the moment the server sent it: on a busy machine
    # the answer may take a while to be read, and items go on starting meanwhile), no item
    # starts until the retry-after has passed. The server may still see the requests of the
    # (at most 3) other items that were already in flight; without the pause, about a hundred
    # items would arrive in this window, and without the gate checked again after the wait
    # for a slot, a fourth item (the one waiting for that slot) would.
    (seen_at,) = seen.times
    during_wait = [n for t, n in script.arrivals if seen_at < t < seen_at + 0.9]
    assert len(during_wait) <= 3, during_wait
    assert 40 not in during_wait
    assert any(t >= seen_at + 0.9 for t, _ in script.arrivals)


class SeenRateLimits(logging.Handler):
    """When the job logged each rate limit it saw (time.monotonic(), the clock of ItemScript)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("rate limited on item"):
            self.times.append(time.monotonic())


def test_an_item_rate_limited_past_its_retries_is_recorded_as_failed(tmp_path: Path) -> None:
    script = ItemScript(limited=lambda n: 100 if n == 2 else 0, retry_after=0.0)
    with FakeOpenAIServer(script) as server:
        summary = run_batch(
            agent_for(server), [f"item {n}" for n in range(5)], concurrency=2, max_rate_limit_retries=3
        )
    assert summary.results is not None
    failed = [r for r in summary.results if not r.ok]
    assert [(r.id, r.error_type) for r in failed] == [(2, "RateLimitError")]
    assert script.attempts[2] == 4


def test_results_without_a_file_come_back_in_input_order() -> None:
    script = ItemScript(delay=0.001)
    inputs = ["item 0", {"input": "item 1"}, {"id": "x", "input": "item 2"}, BatchItem(id=99, input="item 3")]
    with FakeOpenAIServer(script) as server:
        summary = run_batch(agent_for(server), inputs, concurrency=3)
    assert summary.results is not None
    assert [(r.id, r.text) for r in summary.results] == [
        (0, "answer to item 0"),
        (1, "answer to item 1"),
        ("x", "answer to item 2"),
        (99, "answer to item 3"),
    ]
    assert summary.output is None and summary.usage.requests == 4


def test_structured_output_items(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"item": {"type": "integer"}, "label": {"enum": ["even", "odd"]}},
        "required": ["item", "label"],
        "additionalProperties": False,
    }
    (tmp_path / "label.schema.json").write_text(json.dumps(schema))
    script = ItemScript(structured=True)
    output = tmp_path / "results.jsonl"
    with FakeOpenAIServer(script) as server:
        (tmp_path / "agentkit.toml").write_text(
            config_text(server.base_url, body='output_schema = "label.schema.json"\n')
        )
        summary = run_batch(
            "triage",
            [{"id": n, "input": f"item {n}"} for n in range(30)],
            output=output,
            config=tmp_path / "agentkit.toml",
            concurrency=5,
        )
        formats = [body.get("response_format", {}).get("type") for body in server.chat_requests]
    assert summary.ok == 30
    assert set(formats) == {"json_schema"}
    rows = {row["id"]: row for row in read_results(output)}
    assert rows[4]["output"] == {"item": 4, "label": "even"}
    assert rows[7]["output"] == {"item": 7, "label": "odd"}
    assert json.loads(rows[7]["text"]) == rows[7]["output"]


def test_a_structured_answer_that_never_validates_is_that_items_failure(tmp_path: Path) -> None:
    def answer(body: dict[str, Any]) -> str:
        return '{"item": "not a number"}' if "item 1" in json.dumps(body["messages"]) else '{"item": 0}'

    schema = {"type": "object", "properties": {"item": {"type": "integer"}}, "required": ["item"]}
    prices = {"openai/*": {"input": 1.0, "output": 2.0}}
    output = tmp_path / "results.jsonl"
    with FakeOpenAIServer(answer) as server:
        agent = agent_for(server, output_type=schema, output_retries=1, prices=prices)
        summary = run_batch(agent, ["item 0", "item 1"], concurrency=2)
        on_file = run_batch(agent, ["item 0", "item 1"], concurrency=2, output=output)
    assert summary.results is not None
    ok, bad = summary.results
    assert ok.ok and ok.output == {"item": 0}
    assert (bad.status, bad.error_type) == ("error", "OutputValidationError")
    assert "item" in (bad.error_message or "") and bad.text is None and bad.output is None
    # the answer and its re-ask were two model calls: the failure counts them, with their cost
    assert (bad.turns, bad.usage.requests) == (2, 2)
    assert bad.usage.input_tokens > ok.usage.input_tokens > 0
    assert bad.cost == pytest.approx((bad.usage.input_tokens * 1.0 + bad.usage.output_tokens * 2.0) / 1e6)
    assert bad.cost > 0
    assert summary.usage == ok.usage + bad.usage
    row = {r["id"]: r for r in read_results(output)}[1]
    assert row["status"] == "error" and row["turns"] == 2 and row["usage"]["requests"] == 2
    assert row["cost"] == pytest.approx(bad.cost)
    assert on_file.usage.requests == 3


def test_items_of_one_session_run_one_at_a_time_in_order(tmp_path: Path) -> None:
    script = ItemScript(delay=0.02)
    items = [
        {"id": f"s{k}", "input": f"item {k}", "session": "ticket-7", "user_id": "ada"} for k in range(4)
    ] + [{"id": f"o{k}", "input": f"item {10 + k}"} for k in range(8)]
    with FakeOpenAIServer(script) as server:
        agent = agent_for(server, storage=f"jsonl:{tmp_path / 'sessions'}")
        summary = run_batch(agent, items, concurrency=8)
        session_requests = [
            [m["content"] for m in body["messages"] if m["role"] == "user"]
            for body in server.chat_requests
            if any("item 0" in str(m.get("content")) for m in body["messages"])
        ]
    assert summary.ok == 12
    # the k-th item of the session saw the k items before it, in input order
    assert sorted(session_requests, key=len) == [
        [f"item {j}" for j in range(k + 1)] for k in range(4)
    ]
    session = agent.session("ticket-7")
    assert session.info.user_id == "ada" and len(session.history) == 8


def test_the_async_twin_and_an_on_result_callback(tmp_path: Path) -> None:
    import asyncio

    seen: list[ItemResult] = []
    script = ItemScript()

    async def main(server: FakeOpenAIServer) -> Any:
        async def items() -> Any:
            for n in range(10):
                yield {"id": n, "input": f"item {n}"}

        agent = agent_for(server)
        try:
            return await arun_batch(agent, items(), output=tmp_path / "r.jsonl", on_result=seen.append)
        finally:
            await agent.aclose()

    with FakeOpenAIServer(script) as server:
        summary = asyncio.run(main(server))
    assert summary.ok == 10 and summary.results is None
    assert sorted(r.id for r in seen) == list(range(10))


def test_resume_skips_what_is_done_and_retry_failed_runs_failures_once_more(tmp_path: Path) -> None:
    refuse = {3, 8}
    script = ItemScript(failing=lambda n: n in refuse)
    inputs = write_inputs(tmp_path / "in.jsonl", 12)
    output = tmp_path / "out.jsonl"
    with FakeOpenAIServer(script) as server:
        agent = agent_for(server)
        first = run_batch(agent, write_inputs(tmp_path / "first.jsonl", 6), output=output)
        assert (first.ok, first.failed) == (5, 1)
        second = run_batch(agent, inputs, output=output)
        assert (second.ok, second.failed, second.skipped) == (5, 1, 6)
        assert sum(script.attempts.values()) == 12
        refuse.clear()
        third = run_batch(agent, inputs, output=output, retry_failed=True)
        assert (third.ok, third.failed, third.skipped) == (2, 0, 10)
        assert any("2 failed item(s) removed" in n for n in third.notices)
        assert script.attempts[3] == script.attempts[8] == 2
        assert sum(script.attempts.values()) == 14
    rows = read_results(output)
    assert sorted(row["id"] for row in rows) == sorted(f"t-{n}" for n in range(12))
    assert all(row["status"] == "ok" for row in rows)
    # starting over empties the file
    with FakeOpenAIServer(ItemScript()) as server:
        again = run_batch(agent_for(server), inputs, output=output, resume=False)
    assert again.ok == 12 and len(read_results(output)) == 12


def test_a_named_agent_is_built_from_agentkit_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(ItemScript()) as server:
        (tmp_path / "agentkit.toml").write_text(config_text(server.base_url))
        monkeypatch.chdir(tmp_path)
        summary = run_batch("triage", ["item 1", "item 2"])
        assert server.chat_requests[0]["messages"][0] == {"role": "system", "content": "Triage tickets."}
    assert summary.ok == 2
    with pytest.raises(ConfigError, match=r"no agent named 'nope'|unknown agent 'nope'"):
        run_batch("nope", ["item 1"])


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    agent = Agent("scripted/m", provider_settings={"script": ["ok"], "repeat_last": True})
    with pytest.raises(TypeError, match=r"Path\('inputs.jsonl'\)"):
        run_batch(agent, "inputs.jsonl")
    with pytest.raises(BatchError, match=r"inputs\[1\]: unknown item key 'inptu'.*") as info:
        run_batch(agent, ["a", {"inptu": "b"}])
    assert "did you mean 'input'" in (info.value.hint or "")
    with pytest.raises(BatchError, match="appears twice"):
        run_batch(agent, [{"id": 1, "input": "a"}, {"id": 1, "input": "b"}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a"}\n\n{"input": \n')
    with pytest.raises(BatchError, match=r"bad.jsonl:3: the line is not JSON"):
        run_batch(agent, bad, output=tmp_path / "out.jsonl")
    # what ran before the bad line is recorded, and the job resumes after a fix
    assert [row["id"] for row in read_results(tmp_path / "out.jsonl")] == [0]
    for value, message in (
        ({"id": 1.5, "input": "a"}, "must be a string or an integer"),
        ({"id": True, "input": "a"}, "must be a string or an integer"),
        ({"id": 1}, 'has no "input"'),
        ({"input": 3}, '"input" must be a string'),
        ({"input": "a", "template_params": [1]}, '"template_params" must be an object'),
        (7, "must be a JSON object or a string"),
    ):
        with pytest.raises(BatchError, match=message):
            run_batch(agent, [value])
    with pytest.raises(ValueError, match="concurrency must be an integer >= 1"):
        run_batch(agent, ["a"], concurrency=0)
    with pytest.raises(ValueError, match="retry_failed needs an output file"):
        run_batch(agent, ["a"], retry_failed=True)


def _barrier_script(size: int) -> tuple[Any, threading.Barrier]:
    """A script whose first ``size`` answers wait until ``size`` requests are in flight together."""
    barrier = threading.Barrier(size, timeout=60)
    first = iter(range(size))
    lock = threading.Lock()
    script = ItemScript()

    def answer(body: dict[str, Any]) -> Any:
        with lock:
            early = next(first, None) is not None
        if early:
            barrier.wait()
        return script(body)

    return answer, barrier


async def test_run_batch_inside_a_running_loop_still_runs_items_concurrently() -> None:
    # as in Jupyter: the sync call runs the job on a helper thread's loop, many items in flight
    answer, barrier = _barrier_script(4)
    with FakeOpenAIServer(answer) as server:
        summary = run_batch(agent_for(server), [f"item {n}" for n in range(12)], concurrency=4)
        assert server.max_in_flight == 4
    assert summary.ok == 12 and not barrier.broken


def test_run_batch_after_sync_runs_of_the_same_agent_runs_items_concurrently() -> None:
    # agent.run() drives its runs on a loop that lets HTTP block it; a job must not inherit that
    answer, barrier = _barrier_script(4)
    with FakeOpenAIServer(answer) as server:
        agent = agent_for(server)
        barrier_free = ItemScript()
        server.reset(barrier_free)
        assert agent.run("item 100").text == "answer to item 100"
        server.reset(answer)
        summary = run_batch(agent, [f"item {n}" for n in range(12)], concurrency=4)
        assert agent.run("item 101").text == "answer to item 101"
    assert summary.ok == 12 and not barrier.broken


class CountingExecutor(LocalExecutor):
    """An executor a third-party plugin could ship: the local one, counting what it ran."""

    name = "counting"

    def __init__(self, *, label: str) -> None:
        super().__init__()
        self.label = label
        self.ran: list[Any] = []

    async def run_item(self, item: BatchItem) -> ItemResult:
        self.ran.append(item.id)
        return await super().run_item(item)


def test_an_executor_registered_by_a_plugin_is_chosen_by_name(plugin_host: Any) -> None:
    built: list[CountingExecutor] = []

    class ExecutorPlugin:
        @hookimpl
        def register_executors(self, registry: Any) -> None:
            def factory(**options: Any) -> CountingExecutor:
                built.append(CountingExecutor(**options))
                return built[-1]

            registry.add("counting", factory, description="counts items")

    plugin_host.register(ExecutorPlugin(), name="agentkit-counting")
    agent = Agent("scripted/m", provider_settings={"script": ["done"], "repeat_last": True})
    summary = run_batch(agent, ["a", "b", "c"], executor="counting", executor_options={"label": "x"}, concurrency=2)
    assert summary.ok == 3 and [r.text for r in summary.results or ()] == ["done"] * 3
    assert [(e.label, sorted(e.ran)) for e in built] == [("x", [0, 1, 2])]
    with pytest.raises(ConfigError, match=r"executor 'counting' has no option 'lable' \(did you mean 'label'\?\)"):
        run_batch(agent, ["a"], executor="counting", executor_options={"lable": "x"})
    with pytest.raises(PluginError, match=r"unknown executor 'nope'; installed: counting \(agentkit-counting\)"):
        run_batch(agent, ["a"], executor="nope")
