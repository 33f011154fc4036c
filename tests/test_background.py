"""agentkit._background: the loop on a daemon thread that MCP connections and PostgreSQL pools live in."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

from agentkit._background import BackgroundLoop


def test_work_runs_on_the_loop_thread_started_on_first_use() -> None:
    background = BackgroundLoop("agentkit-test-bg", label="the test loop")
    assert not background.on_loop()

    async def where() -> tuple[str, bool]:
        return threading.current_thread().name, background.on_loop()

    assert background.call_sync(where) == ("agentkit-test-bg", True)
    assert background.loop() is background.loop()

    async def nested() -> None:
        background.call_sync(where)

    with pytest.raises(RuntimeError, match="cannot be used on the test loop"):
        background.call_sync(nested)

    async def from_another_loop() -> tuple[str, bool]:
        return await asyncio.wrap_future(background.submit(where()))

    assert asyncio.run(from_another_loop()) == ("agentkit-test-bg", True)


def run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_tracked_resources_are_closed_at_exit_and_the_last_resort_gets_the_rest() -> None:
    out = run(
        """
        import asyncio
        from agentkit._background import BackgroundLoop

        class Resource:
            def __init__(self, name, hang=False):
                self.name, self.hang = name, hang
            async def aclose(self):
                if self.hang:
                    await asyncio.sleep(60)
                print("closed", self.name, flush=True)

        def last_resort(left):
            print("left", sorted(r.name for r in left), flush=True)

        polite = BackgroundLoop("polite", label="a loop")
        stuck = BackgroundLoop("stuck", label="a loop", exit_timeout=0.2, on_exit_failure=last_resort)
        keep = [Resource("a"), Resource("b"), Resource("gone"), Resource("c", hang=True)]
        polite.loop(); stuck.loop()
        for r in keep[:3]:
            polite.track(r)
        polite.untrack(keep[2])
        stuck.track(keep[3])
        """
    )
    lines = sorted(out.splitlines())
    assert lines == ["closed a", "closed b", "left ['c']"]


def test_after_fork_the_child_starts_its_own_loop_and_leaves_the_parents_resources() -> None:
    out = run(
        """
        import asyncio, os, threading
        from agentkit._background import BackgroundLoop

        class Resource:
            async def aclose(self):
                print("closed in", "child" if os.getpid() != parent else "parent", flush=True)

        parent = os.getpid()
        background = BackgroundLoop("agentkit-test-fork", label="a loop", restart_after_fork=True)
        first = background.loop()
        resource = Resource()
        background.track(resource)
        pid = os.fork()
        if pid == 0:
            async def ident():
                return threading.get_ident()
            fresh = background.loop()
            print("child loop is new:", fresh is not first, background.call_sync(ident) != 0, flush=True)
            # the child ends normally: its exit handler runs, and must leave the parent's resource
        else:
            os.waitpid(pid, 0)
        """
    )
    lines = out.splitlines()
    assert lines == ["child loop is new: True True", "closed in parent"]
