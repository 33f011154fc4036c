"""docs/architecture.md lists every module that exists, each with its role, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"


def modules_on_disk() -> set[str]:
    found: set[str] = set()
    for pattern in (
        "agentkit/**/*.py",
        "plugins/*/agentkit_*/**/*.py",
        "examples/plugins/*/agentkit_*/**/*.py",
    ):
        found |= {
            p.relative_to(ROOT).as_posix() for p in ROOT.glob(pattern) if ".egg-info" not in p.as_posix()
        }
    return found


def modules_in_the_docs() -> dict[str, str]:
    """``{path: role}`` from the tables under "Every module", one table per package root."""
    text = PAGE.read_text(encoding="utf-8")
    listed: dict[str, str] = {}
    root = None
    for line in text[text.index("## Every module") :].splitlines():
        heading = re.fullmatch(r"### `([^`]+/)`", line)
        if heading:
            root = heading.group(1)
            continue
        row = re.fullmatch(r"\| `([^`]+\.py)` \| (.+) \|", line)
        if row:
            assert root is not None, line
            listed[root + row.group(1)] = row.group(2).strip()
    return listed


def test_every_module_is_listed_with_its_role() -> None:
    listed = modules_in_the_docs()
    missing = sorted(modules_on_disk() - set(listed))
    assert not missing, f"add these modules, each with its one-line role, to docs/architecture.md: {missing}"
    gone = sorted(set(listed) - modules_on_disk())
    assert not gone, f"docs/architecture.md lists modules that do not exist: {gone}"
    assert all(len(role) > 10 for role in listed.values())


def test_every_test_the_reliability_page_cites_exists() -> None:
    """docs/reliability.md proves each promise by naming tests: each must be there."""
    import ast

    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    cited: list[tuple[str, str]] = []
    path = None
    for match in re.finditer(r"`((?:tests|plugins)/[\w/.-]+\.py)?::(test_\w+)`", text):
        path = match.group(1) or path
        assert path is not None, match.group(0)
        cited.append((path, match.group(2)))
    assert len(cited) > 40
    for path, name in cited:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if name not in names:  # a conformance test a store's test module inherits
            from agentkit.testing.conformance import MemoryConformance, StoreConformance

            names |= set(dir(StoreConformance)) | set(dir(MemoryConformance))
        assert name in names, f"docs/reliability.md cites {path}::{name}, which does not exist"


#: Files of the team's workspace beside the repository: a reader of the repository cannot open them
#: (the promises of RELIABILITY.md are kept in docs/reliability.md, the style guide's in docs/).
OUTSIDE = ("RELIABILITY.md", "STYLE.md", "REAL-SERVERS.md", "../shared/", "/work/shared", "/work/notes")


def test_the_code_cites_no_file_outside_the_repository() -> None:
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout.split("\0")
    paths = [ROOT / name for name in tracked if name.endswith((".py", ".md", ".toml", ".ini", ".sh", ".txt", ".cfg"))]
    if not paths:  # not a git checkout (an sdist): read the sources that are there
        paths = [*ROOT.glob("agentkit/**/*.py"), *ROOT.glob("plugins/*/**/*.py"), *ROOT.glob("docs/**/*.md")]
    this = Path(__file__).resolve()
    cited = [
        f"{path.relative_to(ROOT)} cites {name}"
        for path in paths
        if path.is_file() and path.resolve() != this
        for name in OUTSIDE
        if name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not cited, "cite files of the repository (docs/reliability.md, docs/...):\n" + "\n".join(cited)


def test_the_wire_format_stays_small() -> None:
    """Issue 15 §1: the message wire format (the converter configuration and the one bulk decoder)
    is at most half of the ~810 lines of the three definitions it replaced."""
    lines = sum(len((ROOT / "agentkit" / name).read_text(encoding="utf-8").splitlines())
                for name in ("serialization.py", "_bulk.py"))
    assert lines <= 405, f"serialization.py + _bulk.py have {lines} lines; the budget is 405"
    assert not (ROOT / "agentkit" / "_fastpath.py").exists() and not (ROOT / "agentkit" / "_msgspec_messages.py").exists()
