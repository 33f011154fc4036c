from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def llama_available() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
