"""The Ray actor that runs batch items: one per worker process, holding one built agent.

It is a plain class; the executor turns it into a Ray actor class. Workers import it by
name, which is why agentkit-ray must be installed on every node. The agent is rebuilt from
the :class:`agentkit.batch.AgentRef` the driver shipped (the config file's text and the
agent's name), once per process: again after Ray restarts a worker that died.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from agentkit.batch import AgentRef, BatchItem, ItemResult, arun_item

if TYPE_CHECKING:
    from agentkit import Agent

__all__ = ["BatchWorker"]


class BatchWorker:
    """Runs items on its own event loop (a Ray async actor), many at once."""

    def __init__(self, ref: AgentRef) -> None:
        self.ref = ref
        self._agent: Agent | None = None

    def _built(self) -> Agent:
        if self._agent is None:
            self._agent = self.ref.build()
        return self._agent

    async def setup(self) -> dict[str, Any]:
        """Build the agent now; say how it went (an error is returned, not raised, so the
        driver can show it as it is)."""
        import agentkit

        try:
            self._built()
        except Exception as exc:
            return {"pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}"}
        return {"pid": os.getpid(), "error": None, "agentkit": agentkit.__version__}

    async def run(self, item: BatchItem) -> ItemResult:
        """Run one item; a failure is a result, so only a dying process fails the call."""
        try:
            agent = self._built()
        except Exception as exc:
            return ItemResult.failure(item.id, exc)
        return await arun_item(agent, item)

    async def close(self) -> None:
        if self._agent is not None:
            await self._agent.aclose()
