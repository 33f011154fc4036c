"""agentkit's pytest plugin (entry point ``pytest11``): fixtures for agentkit and plugin authors.

Fixtures are defined in the modules listed in ``pytest_plugins`` below; see
:mod:`agentkit.testing.fixtures` and ``docs/testing.md``.
"""

from __future__ import annotations

__all__ = ["pytest_plugins"]

pytest_plugins: list[str] = ["agentkit.testing.fixtures"]
