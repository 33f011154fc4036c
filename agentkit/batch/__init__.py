"""Batch runs: one agent over many inputs, with bounded concurrency and resume.

::

    from pathlib import Path
    from agentkit.batch import run_batch

    summary = run_batch("triage", Path("tickets.jsonl"), output="results.jsonl", concurrency=16)
    print(summary.ok, summary.failed, summary.usage.cost)

``agent`` is an :class:`agentkit.Agent`, or the name of an agent in ``agentkit.toml`` (what
workers of a distributed executor rebuild). Inputs are streamed; each result is one line of
the results file, written as its item finishes; re-running with the same file skips what is
done (``retry_failed=True`` runs the failures again). Rate limits slow the whole job down;
Ctrl-C stops starting items, and a second Ctrl-C cancels the running ones. ``executor``
names where items run: ``"local"`` (this process) or one a plugin registers (``"ray"``
from agentkit-ray). See ``docs/batch.md``.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._driver import BatchProgress, BatchRun, BatchSummary, ctrl_c_stops
from ._executor import AgentRef, BatchJob, Executor, LocalExecutor
from ._items import BatchItem, read_jsonl
from ._results import ItemResult, arun_item

if TYPE_CHECKING:
    from ..agent import Agent
    from ..plugins import PluginHost

__all__ = [
    "AgentRef",
    "BatchItem",
    "BatchJob",
    "BatchProgress",
    "BatchRun",
    "BatchSummary",
    "Executor",
    "ItemResult",
    "LocalExecutor",
    "arun_batch",
    "arun_item",
    "read_jsonl",
    "run_batch",
]

Inputs = Iterable[Any] | AsyncIterable[Any] | os.PathLike[str]


async def arun_batch(
    agent: Agent | str | None,
    inputs: Inputs,
    *,
    concurrency: int = 16,
    output: str | os.PathLike[str] | None = None,
    resume: bool = True,
    executor: str | Executor = "local",
    retry_failed: bool = False,
    config: str | os.PathLike[str] | None = None,
    executor_options: Mapping[str, Any] | None = None,
    on_result: Callable[[ItemResult], Any] | None = None,
    max_rate_limit_retries: int = 10,
    host: PluginHost | None = None,
) -> BatchSummary:
    """Run ``agent`` on every item of ``inputs``; return a :class:`BatchSummary`.

    :param agent: an Agent, or the name of an agent in ``agentkit.toml`` (``None``: the
        default agent); executors that run items in other processes need the name.
    :param inputs: items ``{"id", "input", "template_params", "session", "user_id"}`` or plain
        strings (id: the position), as an iterable, an async iterable, or a
        :class:`~pathlib.Path` to a JSONL file (read lazily).
    :param concurrency: the most items in flight at once.
    :param output: the results file (JSONL, one line per item). ``None``: results are
        returned in ``summary.results`` instead.
    :param resume: skip the ids the results file already holds; ``False`` empties it first.
    :param executor: an executor's registered name, or an :class:`Executor`.
    :param retry_failed: run the items recorded as failed again (their lines are removed).
    :param config: the ``agentkit.toml`` of a named agent (default: the one found as usual).
    :param executor_options: keyword arguments for the executor's factory.
    :param on_result: called with each result as it is recorded.
    :param max_rate_limit_retries: how often one item may be rate limited before its
        failure is recorded.
    :param host: the plugin host (default: the process's).
    """
    run = BatchRun(
        agent,
        inputs,
        concurrency=concurrency,
        output=output,
        resume=resume,
        executor=executor,
        retry_failed=retry_failed,
        config=config,
        executor_options=executor_options,
        on_result=on_result,
        max_rate_limit_retries=max_rate_limit_retries,
        host=host,
    )
    return await run.run()


def run_batch(
    agent: Agent | str | None,
    inputs: Inputs,
    *,
    concurrency: int = 16,
    output: str | os.PathLike[str] | None = None,
    resume: bool = True,
    executor: str | Executor = "local",
    retry_failed: bool = False,
    config: str | os.PathLike[str] | None = None,
    executor_options: Mapping[str, Any] | None = None,
    on_result: Callable[[ItemResult], Any] | None = None,
    max_rate_limit_retries: int = 10,
    host: PluginHost | None = None,
) -> BatchSummary:
    """:func:`arun_batch` from synchronous code.

    In the main thread, Ctrl-C stops starting items and lets the running ones finish (a
    second Ctrl-C cancels them), then raises :class:`KeyboardInterrupt`; the results file
    holds every finished item and the job resumes where it stopped.
    """
    run = BatchRun(
        agent,
        inputs,
        concurrency=concurrency,
        output=output,
        resume=resume,
        executor=executor,
        retry_failed=retry_failed,
        config=config,
        executor_options=executor_options,
        on_result=on_result,
        max_rate_limit_retries=max_rate_limit_retries,
        host=host,
    )

    async def go() -> BatchSummary:
        with ctrl_c_stops(run):
            return await run.run()

    summary = _run_concurrently(go)
    if summary.interrupted:
        raise KeyboardInterrupt
    return summary


def _run_concurrently(factory: Callable[[], Coroutine[Any, Any, BatchSummary]]) -> BatchSummary:
    """Run a job's coroutine on an event loop of its own, in this thread (or, inside a running
    loop such as Jupyter's, on a helper thread).

    Not ``agent.run()``'s way (:func:`agentkit._sync.run_sync`): that loop serves one run at a
    time and lets HTTP block it, while a job keeps many runs in flight on its loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner() as runner:
            return runner.run(factory())
    outcome: list[tuple[bool, Any]] = []
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.append((True, context.run(asyncio.run, factory())))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=work, name="agentkit-batch", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
