"""The SQLite session store (registered as ``"sqlite"``, agentkit's default store).

One database file (``$AGENTKIT_HOME/agentkit.db`` unless ``path=`` says otherwise) in WAL
mode. Every write is one ``BEGIN IMMEDIATE`` transaction, so a turn is stored whole or not
at all, and any number of threads and processes may write the same file: they queue on the
write lock for up to ``busy_timeout`` seconds. Anything that may wait (for another writer's
lock, for the disk under ``synchronous="full"``, or on a large read) runs on the store's
worker thread; a short read or append that gets its locks at once runs inline (see
:class:`agentkit_sqlite._db.Worker`).
"""

from __future__ import annotations

from pathlib import Path

from agentkit.errors import StorageError
from agentkit.messages import Message
from agentkit.stores import (
    InfoChange,
    SearchHit,
    SessionInfo,
    Store,
    agentkit_home,
    check_session_id,
    search_terms,
)

from . import _jobs
from ._db import SYNCHRONOUS, Worker
from .schema import MIGRATIONS

__all__ = ["SqliteStore"]


class SqliteStore(Store):
    """Sessions in one SQLite database.

    :param path: the database file (default ``$AGENTKIT_HOME/agentkit.db``).
    :param busy_timeout: seconds a write waits for another writer's lock before failing.
    :param synchronous: SQLite's ``synchronous`` pragma. ``"normal"`` (default) survives a
        crash of the program; ``"full"`` also survives power loss, at a cost per turn.
    """

    name = "sqlite"

    def __init__(
        self, path: str | Path | None = None, *, busy_timeout: float = 30.0, synchronous: str = "normal"
    ) -> None:
        if synchronous.lower() not in SYNCHRONOUS:
            raise StorageError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
        self.path = Path(path).expanduser() if path else agentkit_home() / "agentkit.db"
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self.caches = _jobs.Caches()
        self._worker = Worker(
            self.path,
            migrations=MIGRATIONS,
            what="agentkit sessions",
            name="agentkit-sqlite",
            busy_timeout=busy_timeout,
            synchronous=synchronous,
            inline=True,
        )
        # A commit under synchronous=full/extra waits for the disk: those go to the thread.
        self._small_write = (
            self._worker.call_inline if synchronous.lower() in ("off", "normal") else self._worker.call
        )

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self._worker.close()
        self.caches = _jobs.Caches()  # what was read is freed now, even if the store lingers

    # -- reading ---------------------------------------------------------------------------

    async def find_session(self, session_id: str) -> SessionInfo | None:
        return await self._worker.call_inline(_jobs.find, self, session_id)

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        return await self._worker.call(_jobs.list_sessions, user_id, -1 if limit is None else limit, offset)

    async def read_messages(self, session_id: str) -> list[Message]:
        return await self._worker.call(_jobs.read, self, session_id)

    # -- writing ---------------------------------------------------------------------------

    async def write_session(self, info: SessionInfo, messages: list[Message], *, replace: bool) -> None:
        write = self._worker.call if messages else self._small_write
        await write(_jobs.put, self, info, messages, replace)

    async def extend_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        return await self._small_write(_jobs.extend, self, session_id, messages, change)

    async def rewrite_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        return await self._worker.call(_jobs.rewrite, self, session_id, messages, change)

    async def delete_session(self, session_id: str) -> bool:
        return await self._worker.call(_jobs.delete, self, session_id)

    async def fork_session(
        self,
        source_id: str,
        new_id: str,
        *,
        upto: int | None = None,
        user_id: str | None = None,
        title: str | None = None,
    ) -> SessionInfo:
        check_session_id(new_id)
        return await self._worker.call(_jobs.fork, self, source_id, new_id, upto, user_id, title)

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        terms = search_terms(query)
        if not terms or limit <= 0:
            return []
        match = " ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms))
        return await self._worker.call(_jobs.search, match, user_id, session_id, limit)
