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
from collections.abc import Iterator

import pytest

from agentkit_postgres.testing import PostgresServer, find_binaries


def need_binaries() -> None:
    if find_binaries() is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install them (dev.sh test_prerequisites)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    need_binaries()
    server = PostgresServer(tcp=True).start()
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
