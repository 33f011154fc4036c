"""One real local Ray runtime per test module (starting one takes seconds; stopping it when the
module is done gives the rest of the suite its memory back).

Ray is kept on 127.0.0.1. ``_node_ip_address="127.0.0.1"`` alone is not enough for recent Ray:
it replaces a loopback address by the machine's own, found by probing a route towards a
public address. ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (read when Ray is imported) makes it
use loopback for everything, as it does on a laptop. Workers inherit this process's
environment when the runtime starts, so AGENTKIT_HOME and friends are the tests' own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported, see above

import pytest
import ray


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A running Ray runtime with 2 CPUs; yields its address (for RAY_ADDRESS)."""
    options = {"num_cpus": 2, "include_dashboard": False, "_node_ip_address": "127.0.0.1", "log_to_driver": False}
    try:
        ray.init(**options)
    except Exception as exc:
        # Ray gives its raylet a fixed 30 s to register with the GCS; a machine busy with other
        # work can miss that once. Start afresh, once.
        if "timed out during startup" not in str(exc):
            raise
        ray.shutdown()
        ray.init(**options)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), f"Ray is not on loopback: {address}"
        yield address
    finally:
        ray.shutdown()
