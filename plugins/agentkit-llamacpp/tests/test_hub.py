"""``llamacpp/hf:<owner>/<repo>/<file>.gguf``: offline, what a missing file says, and a cached file
used without the network. Each case runs in a fresh process with its own Hugging Face cache and
``HF_HUB_OFFLINE=1`` (huggingface_hub reads its environment when imported), as a user's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.errors import ModelNotFoundError
from agentkit_llamacpp.models import resolve_model_path

pytest.importorskip("huggingface_hub", reason="the hf extra (huggingface_hub) is not installed")

REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
FILE = "smollm2-135m-instruct-q4_k_m.gguf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def offline_env(cache: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "AGENTKIT_"))}
    env.update(
        HF_HUB_CACHE=str(cache),
        HF_HUB_OFFLINE="1",
        AGENTKIT_HOME=str(home),
        AGENTKIT_LOAD_PLUGINS="agentkit-llamacpp",
    )
    return env


def cache_file(cache: Path, repo: str, filename: str, data: bytes) -> Path:
    """A file laid out as huggingface_hub's cache keeps one: blobs, a snapshot, the main ref."""
    root = cache / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(COMMIT)
    snapshot = root / "snapshots" / COMMIT / filename
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(data)
    return snapshot


def resolve_in_a_process(model: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from agentkit_llamacpp.models import resolve_model_path; print(resolve_model_path(sys.argv[1]))"
    return subprocess.run(
        [sys.executable, "-c", code, model], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_cached_hub_file_is_used_offline(tmp_path: Path) -> None:
    cached = cache_file(tmp_path / "hf", REPO, FILE, b"GGUF and the rest")
    proc = resolve_in_a_process(f"hf:{REPO}/{FILE}", offline_env(tmp_path / "hf", tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == cached.resolve()


def test_an_uncached_hub_file_offline_is_a_clear_error_from_the_cli(tmp_path: Path) -> None:
    env = offline_env(tmp_path / "hf", tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "agentkit", "run", "-m", f"llamacpp/hf:{REPO}/{FILE}", "Hi"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert f"{FILE} of {REPO} is not in the Hugging Face cache, and the Hub cannot be reached" in lines[0]
    assert lines[1].startswith("hint: connect to the network once to download it")


@pytest.mark.parametrize(
    "model", ["hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "hf:owner/repo/weights.bin", "hf://x/y/z.gguf"]
)
def test_a_hub_name_that_is_not_a_gguf_file_says_how_to_write_one(model: str) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_path(model)
    assert "does not name a GGUF file on the Hugging Face Hub" in str(info.value)
    assert (info.value.hint or "").startswith("write hf:<owner>/<repo>/<file>.gguf")
