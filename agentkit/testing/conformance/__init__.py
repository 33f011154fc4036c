"""Conformance suites that third-party plugins subclass to prove they keep agentkit's contracts.

::

    from agentkit.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyStore(tmp_path)
            yield store
            store.close()

Names are imported on first access: importing this package imports neither pytest nor a
suite. Under pytest, the suites are registered for assertion rewriting before they can be
imported, so their failed assertions show the values compared, like the tests' own.
"""

from __future__ import annotations

import sys

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "MemoryConformance": "agentkit.testing.conformance.memory",
    "StoreConformance": "agentkit.testing.conformance.stores",
}

__all__ = sorted(_EXPORTS)

if "pytest" in sys.modules:  # running under pytest (the suites import it anyway)
    import pytest

    pytest.register_assert_rewrite(*sorted(set(_EXPORTS.values())), "agentkit.testing.conformance.writers")


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
