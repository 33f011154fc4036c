"""The ``ray`` executor: a batch job's items run in Ray actors, each holding a built agent.

The driver (the process running ``agentkit batch`` or ``run_batch``) keeps reading inputs,
pacing and writing results exactly as with the local executor; this executor only runs
items. It connects to the cluster named by ``address`` (else ``RAY_ADDRESS``, else it starts
a local Ray runtime), starts ``workers`` actors (default: one per CPU of the cluster, at most
the job's concurrency), ships each the :class:`agentkit.batch.AgentRef` (the config file's
text and the agent's name) so that it rebuilds the agent once, and sends every item to the
least busy actor. Results come back as :class:`agentkit.batch.ItemResult` values.

A worker process that dies is restarted by Ray (``max_restarts``) and the items it was
running are sent again (``max_task_retries``): the driver writes each item once whatever
happened on the cluster. The second Ctrl-C cancels the running items on the workers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from agentkit.batch import BatchItem, BatchJob, Executor, ItemResult
from agentkit.errors import BatchError

from ._worker import BatchWorker

__all__ = ["RayExecutor"]

_HINT = (
    "every Ray node needs agentkit, agentkit-ray and the plugins the agent uses installed, and "
    "the environment variables its config names (forward them with -X 'env=[\"NAME\"]')"
)


class RayExecutor(Executor):
    """Runs items on Ray. Options (``-X key=value`` or ``executor_options``):

    :param address: the cluster (``"ray://head:10001"``, ``"auto"``, ``"127.0.0.1:6379"``);
        default ``RAY_ADDRESS``, else a local Ray runtime is started (and stopped at the end).
    :param workers: how many actors (default: the cluster's CPUs / ``num_cpus``, at most the
        job's concurrency); the job's concurrency is spread over them.
    :param num_cpus: CPUs each actor reserves (default 1; model calls mostly wait, so a
        fraction packs more actors on a node).
    :param env: names of environment variables to copy from the driver to the workers (API
        keys the config names with ``api_key_env``).
    :param runtime_env: a Ray runtime environment for the actors (``pip``, ``env_vars``, ...).
    :param max_restarts: how often Ray restarts a worker that died (default 3).
    :param max_task_retries: how often an item cut short by a dying worker is sent again
        (default 3).
    :param start_timeout: seconds to wait for the workers to be up (default 300).
    :param init_options: more keyword arguments for ``ray.init`` when this executor calls it.
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        num_cpus: float = 1.0,
        env: Sequence[str] = (),
        runtime_env: Mapping[str, Any] | None = None,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        start_timeout: float = 300.0,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise BatchError(f"ray executor: workers must be an integer >= 1, got {workers!r}")
        if not isinstance(num_cpus, int | float) or num_cpus < 0:
            raise BatchError(f"ray executor: num_cpus must be a number >= 0, got {num_cpus!r}")
        if isinstance(env, str) or not all(isinstance(name, str) for name in env):
            raise BatchError(f'ray executor: env must be a list of variable names, such as ["OPENAI_API_KEY"], got {env!r}')
        missing = [name for name in env if name not in os.environ]
        if missing:
            raise BatchError(
                f"ray executor: env names {', '.join(missing)}, which is not set here",
                hint="set it in this shell, or drop it from env",
            )
        self.address = address
        self.workers = workers
        self.num_cpus = float(num_cpus)
        self.env = tuple(env)
        self.runtime_env = dict(runtime_env or {})
        self.max_restarts = max_restarts
        self.max_task_retries = max_task_retries
        self.start_timeout = start_timeout
        self.init_options = dict(init_options or {})
        self._owns_ray = False
        self._actors: list[Any] = []
        self._load: list[int] = []
        #: The process ids of the workers as they started (one Ray restarts gets a new one).
        self.worker_pids: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, workers={self.workers!r})"

    async def start(self, job: BatchJob) -> None:
        ref = job.require_ref(self.name)
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, **self.init_options}
            if self.address is not None:
                options["address"] = self.address
            try:
                ray.init(**options)
            except ConnectionError as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a local runtime"
                raise BatchError(f"cannot reach the Ray cluster at {where}: {exc}") from exc
            self._owns_ray = True
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        fit = int(cpus // self.num_cpus) if self.num_cpus > 0 else job.concurrency
        count = self.workers or max(1, min(job.concurrency, fit))
        per_worker = max(1, -(-job.concurrency // count))
        runtime_env = dict(self.runtime_env)
        if self.env:
            runtime_env["env_vars"] = {
                **dict(runtime_env.get("env_vars") or {}),
                **{name: os.environ[name] for name in self.env},
            }
        actor_class = ray.remote(BatchWorker)
        options = {
            "num_cpus": self.num_cpus,
            "max_concurrency": per_worker,
            "max_restarts": self.max_restarts,
            "max_task_retries": self.max_task_retries,
        }
        if runtime_env:
            options["runtime_env"] = runtime_env
        self._actors = [actor_class.options(**options).remote(ref) for _ in range(count)]
        self._load = [0] * count
        try:
            replies = await asyncio.wait_for(
                asyncio.gather(*(actor.setup.remote() for actor in self._actors)), self.start_timeout
            )
        except (TimeoutError, GetTimeoutError):
            raise BatchError(
                f"the {count} Ray worker(s) did not start within {self.start_timeout:g}s "
                f"(each reserves {self.num_cpus:g} CPU; the cluster has {cpus:g})",
                hint="lower -X workers=N or -X num_cpus=..., or raise -X start_timeout=SECONDS",
            ) from None
        except RayActorError as exc:
            raise BatchError(f"a Ray worker died while starting: {exc}", hint=_HINT) from exc
        self.worker_pids = tuple(reply["pid"] for reply in replies)
        problems = [reply["error"] for reply in replies if reply.get("error")]
        if problems:
            raise BatchError(
                f"the Ray workers could not build agent {ref.name or '(default)'!r}: {problems[0]}", hint=_HINT
            )

    async def run_item(self, item: BatchItem) -> ItemResult:
        index = min(range(len(self._load)), key=self._load.__getitem__)
        self._load[index] += 1
        pending = self._actors[index].run.remote(item)
        try:
            result: ItemResult = await pending
            return result
        except asyncio.CancelledError:
            try:  # the second Ctrl-C: stop the item on its worker too
                ray.cancel(pending)
            except Exception:  # it has just finished, or its worker is gone
                pass
            raise
        except RayActorError as exc:  # the worker died, and Ray's restarts or retries ran out
            return ItemResult.failure(item.id, exc)
        finally:
            self._load[index] -= 1

    async def close(self) -> None:
        actors, self._actors = self._actors, []
        self.worker_pids = ()
        if actors:
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(actor.close.remote() for actor in actors), return_exceptions=True), 30
                )
            except TimeoutError:
                pass
            for actor in actors:
                try:
                    ray.kill(actor)
                except Exception:  # already gone
                    pass
        if self._owns_ray:
            self._owns_ray = False
            ray.shutdown()
