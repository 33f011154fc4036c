"""Executors: where a batch job's items run. The contract, and the built-in ``local`` one.

The job's driver reads the inputs, decides which item starts when (the concurrency bound,
rate-limit backoff, Ctrl-C), and writes every result itself. An executor only runs items:
``await executor.run_item(item)`` returns that item's :class:`ItemResult`, and the driver
keeps at most ``job.concurrency`` such calls in flight. Executors are registered by plugins
through the ``register_executors`` hook (``local`` is registered the same way), so a Ray,
Dask or Celery executor is a plugin.

An executor that runs items in other processes rebuilds the agent there from
:attr:`BatchJob.agent_ref`: the config file's text and the agent's name, which is all a
worker needs besides the plugins the agent uses.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import BatchError, ConfigError
from ._items import BatchItem
from ._results import ItemResult, arun_item

if TYPE_CHECKING:
    from ..agent import Agent
    from ..plugins import PluginHost

__all__ = ["AgentRef", "BatchJob", "Executor", "LocalExecutor"]


@attrs.frozen
class AgentRef:
    """How to rebuild an agent anywhere: the agent's name and its config file's text.

    ``config_path`` is where the file was read; a worker that has the same file there uses
    it (so relative paths in it work), otherwise it writes ``config_text`` to a private
    temporary folder and loads that. ``trust_config`` carries the driver's decision about the
    file's ``base_url`` (see :func:`agentkit.load_config`). The text is never in a repr.
    """

    name: str | None
    config_text: str = attrs.field(repr=False)
    config_path: str | None = None
    trust_config: bool = False

    @classmethod
    def from_config(
        cls,
        name: str | None,
        config: str | os.PathLike[str] | None = None,
        *,
        trust_config: bool | None = None,
        host: PluginHost | None = None,
    ) -> AgentRef:
        """The ref of agent ``name`` (``None``: the default agent) in ``config`` (default: the
        ``agentkit.toml`` found as usual). The file is checked and the agent must exist."""
        from ..config import TRUST_ENV, load_config

        loaded = load_config(config, host=host, trust_config=trust_config)
        if loaded.path is None:
            raise ConfigError(
                "no agentkit.toml was found; an executor that runs items elsewhere rebuilds the agent from it",
                hint="create agentkit.toml with the agent, or pass config=PATH (-c PATH)",
            )
        loaded.agent_config(name)  # an unknown name fails here, on the driver
        if trust_config is None:
            trust_config = os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes", "on")
        return cls(
            name=name,
            config_text=loaded.path.read_text(encoding="utf-8"),
            config_path=str(loaded.path.resolve()),
            trust_config=trust_config or loaded.source == "user",
        )

    def build(self, *, host: PluginHost | None = None, **overrides: Any) -> Agent:
        """Build the agent in this process (a worker calls this once)."""
        from ..config import load_config

        path = self._local_file()
        config = load_config(path, host=host, trust_config=self.trust_config)
        return config.agent(self.name, **overrides)

    def _local_file(self) -> Path:
        if self.config_path is not None:
            candidate = Path(self.config_path)
            try:
                if candidate.read_text(encoding="utf-8") == self.config_text:
                    return candidate
            except OSError:
                pass
        folder = Path(tempfile.mkdtemp(prefix="agentkit-batch-"))  # mode 0700
        target = folder / "agentkit.toml"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.config_text)
        return target


@attrs.frozen
class BatchJob:
    """What an executor is told about the job it runs items for.

    ``agent`` is the ready agent when the driver has one (always for the local executor);
    ``agent_ref`` is set when the agent was named, so that workers elsewhere can rebuild it.
    ``concurrency`` is the most items the driver keeps in flight at once; ``host`` the plugin
    host the driver resolves names with (``None``: the process's).
    """

    concurrency: int
    agent: Agent | None = attrs.field(default=None, repr=False)
    agent_ref: AgentRef | None = None
    host: PluginHost | None = attrs.field(default=None, repr=False, eq=False)

    def require_ref(self, executor: str) -> AgentRef:
        """The agent ref, or an error telling the user to name the agent."""
        if self.agent_ref is None:
            raise BatchError(
                f"the {executor!r} executor rebuilds the agent on its workers from agentkit.toml, "
                "so it needs the agent's name, not an Agent object",
                hint="pass the name of an agent in agentkit.toml (run_batch('helper', ...), or -a NAME)",
            )
        return self.agent_ref


class Executor(ABC):
    """Runs a batch job's items. Subclass it in an executor plugin.

    The driver calls :meth:`start` once, then :meth:`run_item` for each item (at most
    ``job.concurrency`` at once, from one event loop), then :meth:`close` once, also after a
    failure or a cancel. ``run_item`` returns the item's result: a failed run is a result
    with ``status="error"`` (see :meth:`ItemResult.failure`), not an exception. A cancelled
    ``run_item`` (the user pressed Ctrl-C twice) should stop the item's work and re-raise.
    Raising :class:`~agentkit.errors.BatchError` stops the whole job (nothing can run);
    any other exception is recorded as that item's failure.
    """

    #: The executor's registered name, for messages.
    name: str = "executor"

    async def start(self, job: BatchJob) -> None:
        """Get ready to run the job's items (connect, start workers, build the agent)."""

    @abstractmethod
    async def run_item(self, item: BatchItem) -> ItemResult:
        """Run one item and return its result."""

    async def close(self) -> None:
        """Release what :meth:`start` took."""


class LocalExecutor(Executor):
    """The ``local`` executor: items run on the driver's event loop, in this process."""

    name = "local"

    def __init__(self) -> None:
        self._agent: Agent | None = None

    async def start(self, job: BatchJob) -> None:
        self._agent = job.agent if job.agent is not None else job.require_ref(self.name).build(host=job.host)

    async def run_item(self, item: BatchItem) -> ItemResult:
        assert self._agent is not None, "start() was not called"
        return await arun_item(self._agent, item)

    async def close(self) -> None:
        if self._agent is not None:
            await self._agent.aclose()
