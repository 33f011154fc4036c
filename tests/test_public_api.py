"""The public API of ``agentkit`` is exactly the pinned list below.

To add a public name: add it to ``_EXPORTS`` in ``agentkit/__init__.py`` (name -> module) and
to ``PUBLIC_API`` here under its module, and document it. A name that disappears or appears
without both edits fails this test, so the surface only changes on purpose.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import agentkit

# module -> the names agentkit re-exports from it
PUBLIC_API: dict[str, tuple[str, ...]] = {
    "agentkit.agent": ("Agent",),
    "agentkit.messages": (
        "AssistantMessage",
        "ImagePart",
        "Message",
        "SystemMessage",
        "TextPart",
        "ToolCall",
        "ToolMessage",
        "Usage",
        "UserMessage",
    ),
    "agentkit.events": (
        "ModelResponse",
        "ReasoningDelta",
        "RunCompleted",
        "RunResult",
        "StreamEvent",
        "TextDelta",
        "ToolCallDelta",
        "ToolCallResult",
        "ToolCallStarted",
        "TurnCompleted",
    ),
    "agentkit.providers": (
        "Capabilities",
        "ModelInfo",
        "ModelRequest",
        "OutputSchema",
        "Provider",
        "ToolSpec",
    ),
    "agentkit.plugins": ("PluginHost", "PluginInfo", "list_plugins"),
    "agentkit.registry": ("PluginWarning",),
    "agentkit.hookspecs": ("hookimpl",),
    "agentkit.run_context": ("RunContext",),
    "agentkit.serialization": ("from_dict", "to_dict"),
    "agentkit.tools": ("Tool", "tool"),
    "agentkit.errors": (
        "AgentkitError",
        "AuthenticationError",
        "BadRequestError",
        "ConfigError",
        "ContextLengthError",
        "CorruptSessionError",
        "GuardrailTripwireError",
        "IncompleteStreamError",
        "MaxTurnsError",
        "MemoryStoreError",
        "ModelNotFoundError",
        "OutputValidationError",
        "PluginError",
        "PluginNameClashError",
        "ProviderConnectionError",
        "ProviderError",
        "ProviderTimeoutError",
        "RateLimitError",
        "RunAbortedError",
        "SchemaVersionError",
        "ServerError",
        "SessionNotFoundError",
        "StorageError",
        "TemplateError",
        "ToolArgumentsError",
        "ToolDefinitionError",
        "ToolError",
        "ToolTimeoutError",
        "UnknownToolError",
    ),
}

PINNED = {name: module for module, names in PUBLIC_API.items() for name in names}
PACKAGE = Path(agentkit.__file__).parent

# Modules that do not declare __all__ yet; each entry is a request to its owner.
MISSING_ALL_ALLOWED: set[str] = {"agentkit/hookspecs.py", "agentkit/testing/pytest_plugin.py"}


def test_all_is_sorted_and_unique():
    assert agentkit.__all__ == sorted(set(agentkit.__all__))


def test_exports_match_the_pinned_list():
    exports = agentkit._EXPORTS
    assert set(exports) - set(PINNED) == set(), "new public names: pin them in PUBLIC_API"
    assert set(PINNED) - set(exports) == set(), "public names removed: unpin them on purpose"
    assert exports == PINNED
    assert set(agentkit.__all__) == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_every_public_name_imports_from_its_module(name):
    module = importlib.import_module(PINNED[name])
    value = getattr(agentkit, name)
    assert value is getattr(module, name)
    if hasattr(module, "__all__") or f"{PINNED[name].replace('.', '/')}.py" not in MISSING_ALL_ALLOWED:
        assert name in module.__all__, f"{PINNED[name]}.__all__ does not list {name}"
    namespace: dict[str, object] = {}
    exec(f"from agentkit import {name}", namespace)
    assert namespace[name] is value


def test_dir_lists_the_public_names():
    assert set(agentkit.__all__) <= set(dir(agentkit))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'agentkit' has no attribute 'Nope'"):
        agentkit.Nope  # noqa: B018


def test_star_import_gives_exactly_the_public_names():
    code = "ns = {}; exec('from agentkit import *', ns); print(sorted(k for k in ns if k != '__builtins__'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == repr(sorted(PINNED))


def _module_declares_all(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def test_every_core_module_declares_all():
    missing = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if not _module_declares_all(path) and str(path.relative_to(PACKAGE.parent)) not in MISSING_ALL_ALLOWED
    )
    assert missing == []
