"""Hook docs cannot drift: every hookspec is documented in its docstring and in docs/plugins.md."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from agentkit import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
SPECS = {
    name: func for name, func in vars(hookspecs).items() if callable(func) and hasattr(func, "agentkit_spec")
}


def signature_text(name: str) -> str:
    """``name(arg: Type, ...) -> Return`` exactly as written in hookspecs.py."""
    sig = inspect.signature(SPECS[name])
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_hookspecs():
    assert {"register_providers", "register_tools", "before_run", "on_event"} <= set(SPECS)
    assert set(hookspecs.LIFECYCLE_HOOKS) <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hookspec_documents_each_argument(name):
    func = SPECS[name]
    doc = inspect.getdoc(func)
    assert doc, f"{name} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.endswith("."), f"{name}: the first line should be a one-sentence summary"
    for param in inspect.signature(func).parameters:
        assert f":param {param}:" in doc, f"{name}: no ':param {param}:' in its docstring"
    documented = set(re.findall(r":param (\w+):", doc))
    assert documented <= set(inspect.signature(func).parameters), (
        f"{name}: documents arguments it does not take"
    )
    assert "return" in doc.lower(), f"{name}: say what the return value means"
    if func.agentkit_spec.get("firstresult"):
        assert "Stops at first non-None result." in doc, name


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hookspec_is_in_the_plugin_docs_with_its_exact_signature(name):
    assert signature_text(name) in DOCS.read_text(encoding="utf-8")


def test_the_docs_list_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^#{3,4} `(\w+)\(", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert documented == set(SPECS)
