"""The driver of a batch job: reads the inputs, starts items, writes results, stops cleanly.

One :class:`BatchRun` per job, on one event loop. A feeder task reads the next item (rate
limited retries first), skips ids the results file already has, waits at the backoff gate
and for a free slot, then starts the item on the executor. Each finished item is written at
once by the driver alone. ``stop()`` (the first Ctrl-C) ends the feeder: running items
finish and are written, the rest stay for the next run. ``cancel()`` (the second) also
cancels the running items; they are not written, so they run again on resume.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import BatchError
from ..messages import Usage
from ..registry import build_from
from ._executor import AgentRef, BatchJob, Executor
from ._items import BatchItem, count_lines, id_key, iter_items
from ._output import ResultsFile
from ._pacing import Backoff, Slots
from ._results import ItemResult

if TYPE_CHECKING:
    from ..agent import Agent
    from ..plugins import PluginHost

__all__ = ["BatchProgress", "BatchRun", "BatchSummary", "ctrl_c_stops"]

log = logging.getLogger("agentkit.batch")

#: Seconds between two fsyncs of the results file while results keep coming.
SYNC_EVERY = 1.0


@attrs.frozen
class BatchProgress:
    """Where a job stands: counts of this run, tokens and cost so far, speed and ETA.

    ``total`` is the number of items in the inputs when it is known (a file, a list);
    ``skipped`` were already in the results file. After rate limits, ``limit`` is how many
    items may be in flight now and ``waiting`` how long every item start still waits.
    """

    total: int | None
    skipped: int
    ok: int
    failed: int
    running: int
    retried: int
    usage: Usage
    elapsed: float
    stopping: bool = False
    limit: int = 0
    waiting: float = 0.0

    @property
    def done(self) -> int:
        """Items finished in this run (ok or failed)."""
        return self.ok + self.failed

    @property
    def rate(self) -> float:
        """Items finished per second in this run."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining(self) -> int | None:
        if self.total is None:
            return None
        return max(0, self.total - self.skipped - self.done)

    @property
    def eta(self) -> float | None:
        """Seconds until the end at the current speed (``None`` when not known yet)."""
        remaining = self.remaining
        if remaining is None or self.rate <= 0:
            return None
        return remaining / self.rate


@attrs.frozen
class BatchSummary:
    """What a job did: counts, usage and cost of this run, and whether it was interrupted.

    ``results`` holds every result, in input order, when there was no results file;
    ``None`` otherwise (they are in the file). ``notices`` tells what was repaired or
    rewritten in the results file.
    """

    ok: int
    failed: int
    skipped: int
    usage: Usage
    duration: float
    interrupted: bool = False
    rate_limited: int = 0
    output: str | None = None
    results: tuple[ItemResult, ...] | None = None
    notices: tuple[str, ...] = ()

    @property
    def cost(self) -> float | None:
        return self.usage.cost


class BatchRun:
    """One batch job. ``await run.run()`` does it; :meth:`stop`, :meth:`cancel` and
    :meth:`progress` may be called meanwhile (from any thread)."""

    def __init__(
        self,
        agent: Agent | str | None,
        inputs: Any,
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
        total: int | None = None,
        trust_config: bool | None = None,
        host: PluginHost | None = None,
    ) -> None:
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        if not isinstance(max_rate_limit_retries, int) or max_rate_limit_retries < 0:
            raise ValueError(f"max_rate_limit_retries must be an integer >= 0, got {max_rate_limit_retries!r}")
        if isinstance(inputs, str | bytes):
            raise TypeError(
                "inputs is a string; pass a list of items, or Path('inputs.jsonl') to read a JSONL file"
            )
        if retry_failed and output is None:
            raise ValueError("retry_failed needs an output file: it re-runs the failures recorded there")
        if config is not None and not (agent is None or isinstance(agent, str)):
            raise TypeError("config= names the file of an agent given by name; this agent is an Agent object")
        self.agent = agent
        self.inputs = inputs
        self.concurrency = concurrency
        self.output = Path(output) if output is not None else None
        self.resume = resume
        self.executor_spec = executor
        self.executor_options = dict(executor_options or {})
        self.retry_failed = retry_failed
        self.config = config
        self.on_result = on_result
        self.max_rate_limit_retries = max_rate_limit_retries
        self.trust_config = trust_config
        self.host = host
        self.total = total if total is not None else _known_total(inputs)
        # state of the run
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0.0
        self._slots = Slots(concurrency)
        self._backoff = Backoff()
        self._retry: collections.deque[tuple[BatchItem, int]] = collections.deque()
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._seen: set[Any] = set()
        self._done: set[Any] = set()
        self._sessions: dict[str, tuple[asyncio.Lock, int]] = {}
        self._feeder: asyncio.Task[None] | None = None
        self._file: ResultsFile | None = None
        self._executor: Executor | None = None
        self._collected: list[tuple[int, ItemResult]] | None = None if output is not None else []
        self._fatal: BaseException | None = None
        self._stopping = False
        self._cancelling = False
        self._last_sync = 0.0
        self.skipped = 0
        self.ok = 0
        self.failed = 0
        self.retried = 0
        self.usage = Usage()

    # -- control (any thread) ----------------------------------------------------------------

    def stop(self) -> None:
        """Start no more items; let the running ones finish and be written."""
        self._call_soon(self._stop)

    def cancel(self) -> None:
        """Also cancel the running items (they are not written: they run again on resume)."""
        self._call_soon(self._cancel)

    def _call_soon(self, func: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            func()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            func()
        else:
            loop.call_soon_threadsafe(func)

    def _stop(self) -> None:
        self._stopping = True
        if self._feeder is not None:
            self._feeder.cancel()

    def _cancel(self) -> None:
        self._cancelling = True
        self._stop()
        for task in list(self._running):
            task.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def progress(self) -> BatchProgress:
        """A snapshot of the job's progress."""
        return BatchProgress(
            total=self.total,
            skipped=self.skipped,
            ok=self.ok,
            failed=self.failed,
            running=len(self._running),
            retried=self.retried,
            usage=self.usage,
            elapsed=time.monotonic() - self._started if self._started else 0.0,
            stopping=self._stopping,
            limit=self._slots.limit,
            waiting=max(0.0, self._backoff.until - time.monotonic()),
        )

    # -- the job -----------------------------------------------------------------------------

    async def run(self) -> BatchSummary:
        """Run the job to its end (or until stopped) and return its summary."""
        self._loop = asyncio.get_running_loop()
        self._started = time.monotonic()
        executor = self._resolve_executor()
        job = self._job()
        if self.output is not None:
            self._file = ResultsFile.open(self.output, resume=self.resume, retry_failed=self.retry_failed)
            self._done = self._file.done
            self.skipped = 0
            for notice in self._file.notices:
                log.warning("%s", notice)
        try:
            try:
                await executor.start(job)
                self._executor = executor
                await self._drive()
            finally:
                self._executor = None
                await executor.close()
        finally:
            if self._file is not None:
                self._file.close()
        if self._fatal is not None:
            raise self._fatal
        results = None
        if self._collected is not None:
            results = tuple(r for _, r in sorted(self._collected, key=lambda pair: pair[0]))
        return BatchSummary(
            ok=self.ok,
            failed=self.failed,
            skipped=self.skipped,
            usage=self.usage,
            duration=time.monotonic() - self._started,
            interrupted=self._stopping,
            rate_limited=self.retried,
            output=str(self.output) if self.output is not None else None,
            results=results,
            notices=tuple(self._file.notices) if self._file is not None else (),
        )

    def _resolve_executor(self) -> Executor:
        spec = self.executor_spec
        if isinstance(spec, Executor):
            if self.executor_options:
                raise TypeError("executor_options are for an executor given by name")
            return spec
        registry = self._host().registry("executor")
        entry = registry.get(spec)
        try:  # an option it does not take is named, with a "did you mean"
            executor = build_from(entry, self.executor_options, key_path=None, wrap=False)
        except TypeError as exc:
            raise BatchError(
                f"executor {spec!r} ({entry.plugin}) cannot take these options: {exc}",
                hint="see the executor's documentation for its options",
            ) from exc
        if not isinstance(executor, Executor):
            raise BatchError(
                f"executor {spec!r} built a {type(executor).__name__}, not an agentkit.batch.Executor"
            )
        return executor

    def _host(self) -> PluginHost:
        if self.host is not None:
            return self.host
        from ..plugins import get_host

        return get_host()

    def _job(self) -> BatchJob:
        if self.agent is None or isinstance(self.agent, str):
            ref = AgentRef.from_config(self.agent, self.config, trust_config=self.trust_config, host=self.host)
            return BatchJob(concurrency=self.concurrency, agent_ref=ref, host=self.host)
        return BatchJob(concurrency=self.concurrency, agent=self.agent, host=self.host)

    async def _drive(self) -> None:
        feeder = self._feeder = asyncio.create_task(self._feed())
        try:
            try:
                await feeder
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we are cancelled, not stopped
            except Exception as exc:  # bad input: finish what runs, then report
                self._fatal = exc
            while self._running:
                await asyncio.wait(set(self._running))
        except BaseException:
            self._cancelling = True
            for task in list(self._running):
                task.cancel()
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
            raise

    async def _feed(self) -> None:
        source = iter_items(self.inputs).__aiter__()
        exhausted = False
        while not self._stopping:
            if self._retry:
                item, attempt = self._retry.popleft()
            elif not exhausted:
                try:
                    item = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    continue
                attempt = 0
                key = id_key(item.id)
                if key in self._done:
                    self.skipped += 1
                    continue
                if key in self._seen:
                    raise BatchError(
                        f"id {item.id!r} appears twice in the inputs (again at position {item.position})",
                        hint="give every item its own id",
                    )
                self._seen.add(key)
            else:
                if not self._running:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            # Stopped while waiting here: this item has not started, so it runs on resume.
            await self._wait_to_start()
            task = asyncio.create_task(self._run_item(item, attempt), name=f"batch item {item.id!r}")
            self._running.add(task)
            task.add_done_callback(self._item_ended)

    async def _wait_to_start(self) -> None:
        """Wait until the backoff gate is open and a slot is free. A rate limit that closes the
        gate while this waits for the slot sends it back to the gate: no item starts during a
        pause, not even one that passed the gate before the pause began."""
        while True:
            await self._backoff.wait()
            await self._slots.acquire()
            if self._backoff.until <= time.monotonic():
                return
            self._slots.release()

    def _item_ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()

    async def _run_item(self, item: BatchItem, attempt: int) -> None:
        session = item.session
        try:
            if session is None:
                result = await self._call(item)
            else:
                lock = self._session_lock(session)
                try:
                    async with lock:
                        result = await self._call(item)
                finally:
                    self._session_done(session)
        finally:
            self._slots.release()
        if result is not None:
            try:
                self._finish(item, attempt, result)
            except Exception as exc:  # the results file cannot be written (disk full...)
                if self._fatal is None:
                    self._fatal = exc
                self._stop()

    async def _call(self, item: BatchItem) -> ItemResult | None:
        assert self._executor is not None
        try:
            return await self._executor.run_item(item)
        except BatchError as exc:  # the executor cannot run anything: stop the job
            if self._fatal is None:
                self._fatal = exc
            self._stop()
            return None
        except Exception as exc:
            return ItemResult.failure(item.id, exc)

    def _finish(self, item: BatchItem, attempt: int, result: ItemResult) -> None:
        if result.rate_limited and attempt < self.max_rate_limit_retries:
            if self._stopping:
                return  # not written: it runs on resume
            wait = self._backoff.hit(result.retry_after)
            self._slots.shrink()
            self.retried += 1
            self._retry.append((item, attempt + 1))
            log.info(
                "rate limited on item %r; every item waits %.1fs, at most %d in flight",
                item.id, wait, self._slots.limit,
            )  # fmt: skip
            return
        if result.ok:
            self._slots.succeeded()
            self._backoff.succeeded()
        self._record(item, result)

    def _record(self, item: BatchItem, result: ItemResult) -> None:
        if self._file is not None:
            self._file.append(result)
            now = time.monotonic()
            if now - self._last_sync >= SYNC_EVERY:
                self._last_sync = now
                self._file.sync()
        else:
            assert self._collected is not None
            self._collected.append((item.position, result))
        if result.ok:
            self.ok += 1
        else:
            self.failed += 1
        self.usage = self.usage + result.usage
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception as exc:  # the caller's callback failed: stop, and tell them
                if self._fatal is None:
                    self._fatal = exc
                self._stop()

    def _session_lock(self, session: str) -> asyncio.Lock:
        lock, users = self._sessions.get(session, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._sessions[session] = (lock, users + 1)
        return lock

    def _session_done(self, session: str) -> None:
        lock, users = self._sessions[session]
        if users <= 1:
            del self._sessions[session]
        else:
            self._sessions[session] = (lock, users - 1)


def _known_total(inputs: Any) -> int | None:
    if isinstance(inputs, os.PathLike):
        try:
            return count_lines(inputs)
        except OSError:
            return None
    try:
        return len(inputs)
    except TypeError:
        return None


@contextlib.contextmanager
def ctrl_c_stops(run: BatchRun, on_signal: Callable[[int], Any] | None = None) -> Iterator[None]:
    """While inside, the first Ctrl-C stops ``run``, the second cancels its running items.

    ``on_signal(count)`` is told of each. Works in the main thread of a running event loop
    (elsewhere it does nothing).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    count = 0

    def on_sigint() -> None:
        nonlocal count
        count += 1
        if count == 1:
            run.stop()
        else:
            run.cancel()
            # a third Ctrl-C gets Python's default behaviour: KeyboardInterrupt at once
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if on_signal is not None:
            on_signal(count)

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # no loop signal handlers (Windows)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.default_int_handler)
