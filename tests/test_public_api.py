"""The public API of ``agentkit`` is exactly the pinned list below, and importing it costs nothing.

To add a public name: add it to ``_EXPORTS`` in ``agentkit/__init__.py`` (name -> module) and
to ``PUBLIC_API`` here under its module, and document it. A name that disappears or appears
without both edits fails this test, so the surface only changes on purpose.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
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
        "ToolProgress",
        "TurnCompleted",
    ),
    "agentkit.toolsets": ("Toolset",),
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
    "agentkit.guardrails": ("Guardrail", "Verdict"),
    "agentkit.sessions": ("Session",),
    "agentkit.stores": ("SessionInfo", "Store"),
    "agentkit.memory": ("Memory", "MemoryHit", "MemoryRecord"),
    "agentkit.cache": ("ResponseCache",),
    "agentkit.config": ("Config", "load_agent", "load_config"),
    "agentkit.batch": ("arun_batch", "run_batch"),
    "agentkit.errors": (
        "AgentkitError",
        "AuthenticationError",
        "BadRequestError",
        "BatchError",
        "ConfigError",
        "ContextLengthError",
        "CorruptSessionError",
        "GuardrailError",
        "GuardrailTripwireError",
        "IncompleteStreamError",
        "MaxTurnsError",
        "MemoryStoreError",
        "ModelNotFoundError",
        "OutputValidationError",
        "PluginError",
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
MISSING_ALL_ALLOWED: set[str] = set()


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




def test_no_package_writes_its_own_lazy_getattr() -> None:
    inits = [*ROOT.glob("agentkit/**/__init__.py"), *ROOT.glob("plugins/*/agentkit_*/__init__.py")]
    own = {p.relative_to(ROOT).as_posix() for p in inits if "def __getattr__" in p.read_text(encoding="utf-8")}
    assert own == set(), "use agentkit._lazy.lazy_exports()"


@pytest.mark.parametrize(
    "package",
    [
        "agentkit",
        "agentkit.testing",
        "agentkit.testing.conformance",
        "agentkit_anthropic",
        "agentkit_files",
        "agentkit_jsonl",
        "agentkit_llamacpp",
        "agentkit_mcp",
        "agentkit_ollama",
        "agentkit_openai",
        "agentkit_postgres",
        "agentkit_sqlite",
        "agentkit_ui",
        "agentkit_web",
    ],
)
def test_packages_export_lazily_through_the_one_helper(package: str) -> None:
    """agentkit and the plugin packages get ``__getattr__``/``__dir__`` from agentkit._lazy."""
    out = run(
        f"""
        import json, sys
        import {package} as pkg
        before = set(sys.modules)
        first = sorted(pkg.__all__)[0]
        value = getattr(pkg, first)
        try:
            pkg.Nope
        except AttributeError as exc:
            error = str(exc)
        print(json.dumps({{
            "helper": pkg.__getattr__.__module__,
            "imported": sorted(set(sys.modules) - before) != [],
            "kept": pkg.__dict__.get(first) is value,
            "dir": sorted(set(pkg.__all__) - set(dir(pkg))),
            "error": error,
        }}))
        """
    )
    assert out == {
        "helper": "agentkit._lazy",
        "imported": True,
        "kept": True,
        "dir": [],
        "error": f"module {package!r} has no attribute 'Nope'",
    }


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


# -- import agentkit does no work (checked in fresh interpreters, never timed here) ------------

HEAVY = (
    "pluggy",
    "httpx",
    "httpcore",
    "jsonschema",
    "tiktoken",
    "cattrs",
    "attrs",
    "attr",
    "anyio",
    "sqlite3",
)
ROOT = Path(__file__).resolve().parents[1]


def run(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_import_agentkit_imports_nothing_heavy_and_no_plugin():
    out = run(
        """
        import json, sys
        before = set(sys.modules)
        import agentkit
        new = sorted(set(sys.modules) - before)
        print(json.dumps(new))
        """
    )
    roots = {name.split(".")[0] for name in out}
    assert not roots & set(HEAVY), roots & set(HEAVY)
    assert [m for m in out if m.startswith("agentkit")] == ["agentkit", "agentkit._lazy"]  # its PEP 562 helper
    assert "typing" not in out  # TYPE_CHECKING is a plain False at start-up
    assert not [m for m in out if m.startswith(("agentkit_", "llm_"))]


def test_agent_and_tool_import_no_http_stack():
    """``from agentkit import Agent, tool`` leaves httpx and httpcore to the first HTTP provider
    (with httpx's command-line extras installed they cost ~150 ms to import)."""
    out = run(
        """
        import json, sys
        from agentkit import Agent, tool
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore", "anyio"))))
        """
    )
    assert out == []


def test_import_agentkit_opens_no_file_but_code_and_no_socket():
    out = run(
        """
        import json, sys
        events = []

        def hook(event, args):
            if event == "open" or event.startswith(("socket.", "subprocess.")):
                events.append([event, str(args[0]) if args else ""])

        sys.addaudithook(hook)
        import agentkit
        print(json.dumps(events))
        """
    )
    # Loading code (agentkit's own and the few stdlib modules it needs) is the only reading allowed.
    unexpected = [
        (event, arg) for event, arg in out if not (event == "open" and arg.endswith((".py", ".pyc")))
    ]
    assert unexpected == []
    loaded = [arg for _, arg in out if "site-packages" in arg and "agentkit" not in arg]
    assert loaded == []


def test_the_plugin_host_is_not_built_by_import_or_attribute_access():
    out = run(
        """
        import json, sys
        import agentkit
        agentkit.UserMessage, agentkit.AgentkitError, agentkit.tool
        from agentkit import plugins
        print(json.dumps({"host": plugins._host is not None, "mods": sorted(sys.modules)}))
        """
    )
    assert out["host"] is False
    assert not [m for m in out["mods"] if m.startswith(("agentkit_", "agentkit.default_plugins"))]


def test_the_bench_runs_and_writes_json(tmp_path):
    target = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_time.py"), "-n", "1", "--json", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "import agentkit costs" in proc.stdout
    data = json.loads(target.read_text())
    assert [r["label"] for r in data["results"]] == [
        "bare interpreter",
        "import agentkit",
        "from agentkit import Agent, tool",
    ]
    assert data["runs"] == 1 and data["budget_ms"] == 60.0
    assert isinstance(data["within_budget"], bool)
