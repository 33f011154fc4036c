"""The conformance suites as a plugin author meets them: run by pytest on a backend of theirs.

Each case writes a small test project (a deliberately broken backend and a subclass of the
suite) and runs pytest on it in a subprocess, as the author would; what matters is what
their terminal shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from agentkit.testing.conformance import MemoryConformance, StoreConformance

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(project: Path, source: str, *args: str) -> str:
    (project / "test_backend.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (project / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_backend.py", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # failures, not an error
    return proc.stdout


def test_a_failed_store_rule_shows_the_values_compared(tmp_path: Path) -> None:
    out = run_pytest(
        tmp_path,
        """
        import pytest
        from agentkit.stores import InMemoryStore
        from agentkit.testing.conformance import StoreConformance

        class NoDefaultOwner(InMemoryStore):
            async def create_session(self, session_id, *, user_id=None, **options):
                return await super().create_session(session_id, user_id=user_id or "nobody", **options)

        class TestNoDefaultOwner(StoreConformance):
            @pytest.fixture
            def store(self):
                return NoDefaultOwner()
        """,
        "-k",
        "test_create_and_get",
    )
    assert "1 failed" in out
    # the rewritten assertion: the tuples compared and where they differ, not a bare AssertionError
    assert "('s1', 'nobody', 'First', 'm') == ('s1', 's1', 'First', 'm')" in out
    assert re.search(r"At index 1 diff: 'nobody' != 's1'", out), out[-3000:]


def test_the_memory_suite_notices_a_backend_that_long_or_hostile_user_ids_break(tmp_path: Path) -> None:
    """A backend keeping a file per user fails on a 300-character id, or ``../x``: the suite says so."""
    out = run_pytest(
        tmp_path,
        """
        import json
        import pytest
        from agentkit.memory import Memory, check_filters, new_record, rank_keywords, visible_to

        class FilePerUser(Memory):
            name = "file-per-user"

            def __init__(self, path):
                self.path = path

            def _file(self, user_id):
                return self.path / f"{user_id or '_agent'}.json"

            def _load(self, user_id):
                try:
                    return [json.loads(line) for line in self._file(user_id).read_text().splitlines()]
                except FileNotFoundError:
                    return []

            async def add(self, text, *, scope="user", user_id=None, agent=None, session_id=None,
                          metadata=None, ttl=None):
                record = new_record(text, scope=scope, user_id=user_id, agent=agent, session_id=session_id,
                                    metadata=metadata, ttl=ttl, backend=self.name)
                with self._file(record.user_id).open("a") as f:
                    f.write(json.dumps({"id": record.id, "text": record.text, "user_id": record.user_id}) + "\\n")
                return record

            async def search(self, query, *, user_id, agent=None, session_id=None, k=5, filters=None):
                raise NotImplementedError

            async def get(self, memory_id):
                return None

            async def list(self, *, user_id=None, agent=None, scope=None, limit=100, offset=0):
                return []

            async def update(self, memory_id, *, text=None, metadata=None, ttl=None):
                raise NotImplementedError

            async def delete(self, memory_id):
                return False

        from agentkit.testing.conformance.memory import MemoryConformance

        class TestFilePerUser(MemoryConformance):
            @pytest.fixture
            def memory(self, tmp_path):
                return FilePerUser(tmp_path)
        """,
        "-k",
        "hostile",
    )
    assert "1 failed" in out and "test_long_and_hostile_ids_are_kept_apart" in out
    assert "File name too long" in out or "No such file or directory" in out


def test_the_suites_are_registered_for_assertion_rewriting() -> None:
    for suite in (StoreConformance, MemoryConformance):
        loader = sys.modules[suite.__module__].__loader__
        assert type(loader).__name__ == "AssertionRewritingHook", loader
