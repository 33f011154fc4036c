"""A response cache in SQLite (registered as cache ``"sqlite"``): ``Agent(cache="sqlite")``.

One table keyed by the cache key (a hex SHA-256 from :func:`agentkit.cache.cache_key`, which
holds no secret) with the response in agentkit's JSON format. Same file rules as the session
store: WAL, a busy timeout, 0600 files in a 0700 directory, work on a worker thread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

from agentkit.cache import ResponseCache
from agentkit.events import ModelResponse
from agentkit.serialization import from_dict, to_dict
from agentkit.stores import agentkit_home

from ._db import SYNCHRONOUS, Worker, write_transaction

__all__ = ["SqliteResponseCache"]

log = logging.getLogger("agentkit_sqlite.cache")

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE responses (
            key        TEXT PRIMARY KEY,
            response   TEXT NOT NULL,
            created_at REAL NOT NULL
        )""",
    ),
}


class SqliteResponseCache(ResponseCache):
    """Model responses by request key, in one SQLite file.

    :param path: the database file (default ``$AGENTKIT_HOME/cache/responses.db``).
    :param ttl: seconds an entry stays valid (``None``: forever).
    :param busy_timeout: seconds a write waits for another writer.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        ttl: float | None = None,
        busy_timeout: float = 30.0,
        synchronous: str = "normal",
    ) -> None:
        if synchronous.lower() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
        self.path = Path(path).expanduser() if path else agentkit_home() / "cache" / "responses.db"
        self.ttl = ttl
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        self._worker = Worker(
            self.path,
            migrations=_MIGRATIONS,
            what="an agentkit response cache",
            name="agentkit-sqlite-cache",
            busy_timeout=busy_timeout,
            synchronous=synchronous,
        )

    def __repr__(self) -> str:
        return f"SqliteResponseCache({str(self.path)!r})"

    async def get(self, key: str) -> ModelResponse | None:
        return await self._worker.call(self._get, key)

    async def put(self, key: str, response: ModelResponse) -> None:
        data = json.dumps(to_dict(response), ensure_ascii=False)
        await self._worker.call(self._put, key, data)

    async def clear(self) -> None:
        """Forget every cached response."""
        await self._worker.call(self._clear)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self._worker.close()

    def _get(self, conn: sqlite3.Connection, key: str) -> ModelResponse | None:
        row = conn.execute("SELECT response, created_at FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None or (self.ttl is not None and time.time() - row[1] > self.ttl):
            return None
        try:
            return from_dict(json.loads(row[0]), ModelResponse)
        except Exception as exc:  # a bad entry is a miss, never a failed run
            log.warning(
                "ignoring unreadable cache entry %s in %s (%s: %s)", key, self.path, type(exc).__name__, exc
            )
            return None

    def _put(self, conn: sqlite3.Connection, key: str, data: str) -> None:
        with write_transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO responses (key, response, created_at) VALUES (?, ?, ?)",
                (key, data, time.time()),
            )

    def _clear(self, conn: sqlite3.Connection) -> None:
        with write_transaction(conn):
            conn.execute("DELETE FROM responses")
