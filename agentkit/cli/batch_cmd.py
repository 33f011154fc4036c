"""``agentkit batch``: one agent over every item of a JSONL file, resumable.

The job is :class:`agentkit.batch.BatchRun`; this module reads the options, shows progress
on stderr (a bar on a terminal, plain lines otherwise), turns Ctrl-C into "stop starting
items" and a second Ctrl-C into "cancel the running ones", and ends with a summary line.
Exit codes: 0 every item ok, 10 some items failed (they are in the results file), 130
interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..batch import BatchItem, BatchRun, BatchSummary, ctrl_c_stops, read_jsonl
from ._common import build_agent, load_config, parse_params, say
from ._exit import EXIT_INTERRUPTED, EXIT_OK, UsageFailure
from ._progress import ProgressPrinter, duration

__all__ = ["EXIT_FAILED_ITEMS", "run"]

#: Exit code when the job finished but some items failed.
EXIT_FAILED_ITEMS = 10


def _stdin_items() -> Iterator[BatchItem]:
    for position, (number, value) in enumerate(read_jsonl(sys.stdin.buffer, name="<stdin>")):
        yield BatchItem.from_value(value, position, where="<stdin>", line=number)


class _ToPrinter(logging.Handler):
    """The job's notes (a repaired results file, ...) shown above the progress bar."""

    def __init__(self, printer: ProgressPrinter) -> None:
        super().__init__(logging.WARNING)
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        self.printer.message(f"agentkit batch: note: {record.getMessage()}")


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageFailure(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.retry_failed and args.overwrite:
        raise UsageFailure("--retry-failed and --overwrite contradict each other", hint="choose one")
    options = parse_params(args.executor_options)
    inputs: Any
    if args.inputs == "-":
        inputs = _stdin_items()
    else:
        inputs = Path(args.inputs)
        if not inputs.is_file():
            raise UsageFailure(f"no such input file: {args.inputs}")
    agent: Any
    if args.executor == "local":
        agent = build_agent(args)
    else:
        if args.model:
            raise UsageFailure(
                f"-m cannot be used with --executor {args.executor}: its workers rebuild the agent from the config",
                hint="name an agent of agentkit.toml with -a",
            )
        load_config(args)  # check the file (and show its notes) before anything starts
        agent = args.agent
    job = BatchRun(
        agent,
        inputs,
        concurrency=args.concurrency,
        output=args.output,
        resume=not args.overwrite,
        executor=args.executor,
        retry_failed=args.retry_failed,
        config=args.config if args.executor != "local" else None,
        executor_options=options,
        trust_config=True if args.trust_config else None,
    )
    printer = ProgressPrinter(concurrency=args.concurrency, interval=args.progress_interval)
    handler = _ToPrinter(printer)
    logger = logging.getLogger("agentkit.batch")
    logger.addHandler(handler)
    try:
        summary = asyncio.run(_go(job, printer))
    finally:
        logger.removeHandler(handler)
        printer.finish()
    return _report(summary, job, printer)


async def _go(job: BatchRun, printer: ProgressPrinter) -> BatchSummary:
    def on_signal(count: int) -> None:
        running = job.progress().running
        if count == 1:
            printer.message(
                f"agentkit batch: stopping: no new items; waiting for {running} running "
                "(Ctrl-C again to cancel them)"
            )
        else:
            printer.message(f"agentkit batch: cancelling {running} running item(s); they run again on resume")

    async def show() -> None:
        while True:
            await asyncio.sleep(min(printer.interval, 0.5))
            printer.update(job.progress())

    with ctrl_c_stops(job, on_signal):
        ticker = asyncio.create_task(show())
        try:
            return await job.run()
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)


def _report(summary: BatchSummary, job: BatchRun, printer: ProgressPrinter) -> int:
    printer.update(job.progress(), force=True)
    printer.finish()
    rate = (summary.ok + summary.failed) / summary.duration if summary.duration > 0 else 0.0
    parts = [f"{summary.ok:,} ok", f"{summary.failed:,} failed"]
    if summary.skipped:
        parts.append(f"{summary.skipped:,} skipped (already done)")
    line = f"{', '.join(parts)} in {duration(summary.duration)} ({rate:.1f} runs/s)"
    line += f"; {summary.usage.total_tokens:,} tokens"
    if summary.usage.cost is not None:
        line += f", ${summary.usage.cost:.4f}"
    if summary.rate_limited:
        line += f"; rate limited {summary.rate_limited} time(s)"
    if summary.interrupted:
        say(f"agentkit batch: interrupted: {line}; results in {summary.output}")
        say("hint: run the same command again to resume where it stopped")
        return EXIT_INTERRUPTED
    say(f"agentkit batch: finished: {line}; results in {summary.output}")
    if summary.failed:
        say("hint: the errors are in the results file; --retry-failed runs those items again")
        return EXIT_FAILED_ITEMS
    return EXIT_OK

