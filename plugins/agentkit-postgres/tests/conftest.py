"""A real PostgreSQL server for the whole test run, started here and stopped afterwards.

The server runs Debian's ``postgresql`` binaries (``.ci/run`` installs them) as the
unprivileged ``postgres`` user, on a Unix socket in a temporary directory and on a free port
of 127.0.0.1 (password checked there). Each test works in a schema of its own, so tests never
see each other's tables. Without the binaries the tests are skipped, except under CI, where
that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from agentkit.plugins import PluginHost, set_host
from agentkit.stores import close_shared_stores
from agentkit_postgres.testing import PostgresServer, find_binaries


def need_binaries() -> None:
    if find_binaries() is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install them (dev.sh test_prerequisites)")
        pytest.skip(message)


#: The shared server does not wait for the disk on commit: its tests check what is stored and
#: in which order, never what survives a crash (those kill a server of their own, with the
#: defaults), and 16,000 appends to one session each waiting for a WAL flush cost minutes on
#: a busy CI disk.
NO_DISK_WAITS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@pytest.fixture
def host() -> Iterator[PluginHost]:
    """The installed plugins, as users have them (shared stores closed afterwards)."""
    fresh = PluginHost()
    old = set_host(fresh)
    try:
        yield fresh
    finally:
        close_shared_stores()
        set_host(old)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    need_binaries()
    server = PostgresServer(tcp=True, settings=NO_DISK_WAITS).start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server for this test alone (one it may kill and restart)."""
    need_binaries()
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dsn(pg_server: PostgresServer) -> str:
    return pg_server.dsn()


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


# A tiny "embedding": each word maps to a concept axis, so related words share a direction
# although they share no keyword.
CONCEPTS = {
    "flight": 0, "plane": 0, "airline": 0, "seat": 0, "window": 0, "aisle": 0, "fly": 0,
    "vegetarian": 1, "meat": 1, "food": 1, "dinner": 1, "eat": 1, "restaurant": 1,
    "dog": 2, "pet": 2, "cat": 2,
}  # fmt: skip


async def _fake_embed(texts: list[str]) -> list[list[float]]:
    vectors = []
    for text in texts:
        v = [0.0, 0.0, 0.0, 0.01]
        for word in text.lower().replace("?", " ").replace(".", " ").split():
            axis = CONCEPTS.get(word.rstrip("s"))
            if axis is not None:
                v[axis] += 1.0
        vectors.append(v)
    return vectors


@pytest.fixture
def fake_embed() -> Callable[[list[str]], Awaitable[list[list[float]]]]:
    """An embedder whose vectors point along concepts: related words, no shared keyword."""
    return _fake_embed
