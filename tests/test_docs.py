"""The docs cannot drift: every code sample runs, and every hook and public name is documented.

Every fenced ``python`` block of ``README.md``, ``docs/**/*.md`` and the example plugin's
README is executed, page by page, in one namespace per page (so a page reads like one
script), in a fresh working directory and ``AGENTKIT_HOME``. Top-level ``await`` works, and
``>>>`` blocks run their code (their printed output is illustrative, not compared).

Hosted models are never called: ``openai/...`` models reach a loopback fake OpenAI server
(``OPENAI_BASE_URL``) and ``ollama/...`` models a loopback fake Ollama (``OLLAMA_HOST``). Both
answer any question with a short text, a JSON value of the requested schema for structured
output, and a call to the tool a request forces.

Directives are HTML comments (invisible on a rendered page), right before a fenced block:

- ``<!-- doctest: skip (why) -->``: the block is not run. Use sparingly, and say why.
- ``<!-- doctest: llama -->``: the block needs llama-cpp-python and a local model; the page
  then also has a test marked ``llama`` that runs it (only where ``llama_cpp`` imports).
- ``<!-- doctest: file PATH -->``: the block is (part of) the file PATH of a project the page
  builds, such as a plugin in a tutorial; blocks naming the same PATH are joined in order.
  A PATH inside this repository (``examples/...``) must be a verbatim excerpt of that file.
  Otherwise the files are written to a temporary folder, where the page's other samples can
  import them, and every project with a ``pyproject.toml`` is installed with pip (no
  network) and its tests run with pytest in a subprocess.

and anywhere on a page, code run at that point but not shown to readers::

    <!-- doctest: setup
    read_file = send_email = lambda text: text
    -->
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import agentkit
from agentkit import hookspecs
from agentkit.testing.fake_openai import FakeOpenAIServer, tool_call
from agentkit.testing.servers import LoopbackServer, RecordedRequest, Reply, json_reply

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOOKS_PAGE = DOCS / "plugin-authors" / "hooks.md"
API_PAGE = DOCS / "concepts.md"
TESTING_PAGE = DOCS / "testing-plugins.md"


def doc_pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    pages.append(ROOT / "examples" / "plugins" / "agentkit-weather" / "README.md")
    return [p for p in pages if p.is_file()]


def rel(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


# -- reading pages ----------------------------------------------------------------------------


@attrs.frozen
class Block:
    """A fenced block, or a hidden setup block, of a page."""

    page: str
    line: int
    lang: str
    code: str
    kind: str = "code"  # code | setup | skip | llama | file
    arg: str = ""  # the reason of a skip, the path of a file


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doctest:\s*(?P<body>.*?)\s*-->\s*$")
_SETUP = re.compile(r"^\s*<!--\s*doctest:\s*setup\s*$")


def read_blocks(path: Path) -> list[Block]:
    """The page's fenced blocks and setup blocks, in order, with their directives."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = rel(path)
    blocks: list[Block] = []
    directive: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if _SETUP.match(line):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "-->"), None)
            if end is None:
                raise AssertionError(f"{page}:{i + 1}: a doctest setup comment is never closed with '-->'")
            blocks.append(Block(page, i + 1, "python", "\n".join(lines[i + 1 : end]) + "\n", "setup"))
            i = end + 1
            continue
        match = _DIRECTIVE.match(line)
        if match:
            word, _, arg = match.group("body").partition(" ")
            if word not in ("skip", "llama", "file"):
                raise AssertionError(f"{page}:{i + 1}: unknown doctest directive {match.group('body')!r}")
            if word == "skip" and not arg.strip():
                raise AssertionError(
                    f"{page}:{i + 1}: say why a sample is skipped: <!-- doctest: skip (why) -->"
                )
            directive = (word, arg.strip())
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            indent, mark = fence.group("indent"), fence.group("fence")
            end = next(
                (
                    j
                    for j in range(i + 1, len(lines))
                    if lines[j].strip().startswith(mark) and not lines[j].strip().strip(mark[0])
                ),
                None,
            )
            if end is None:
                raise AssertionError(f"{page}:{i + 1}: a code fence is never closed")
            body = [ln[len(indent) :] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1 : end]]
            lang = fence.group("info").strip().split(" ")[0].lower()
            kind, arg = directive if directive is not None else ("code", "")
            blocks.append(Block(page, i + 1, lang, "\n".join(body) + "\n", kind, arg))
            directive = None
            i = end + 1
            continue
        if line.strip() and directive is not None:
            raise AssertionError(f"{page}:{i}: a doctest directive must come right before a code block")
        i += 1
    return blocks


def runnable(block: Block, *, llama: bool) -> bool:
    if block.lang not in ("python", "py", "pycon") and block.kind != "setup":
        return False
    return block.kind in ("code", "setup") or (llama and block.kind == "llama")


def source_of(block: Block) -> str:
    """The code of a block; a ``>>>`` session becomes its statements (output dropped)."""
    if not block.code.lstrip().startswith(">>>"):
        return block.code
    out = []
    for line in block.code.splitlines():
        if line.startswith((">>> ", "... ")) or line in (">>>", "..."):
            out.append(line[4:])
    return "\n".join(out) + "\n"


# -- the fake models the samples talk to --------------------------------------------------------


def example_of(schema: Any, defs: dict[str, Any] | None = None, name: str = "value") -> Any:
    """A small JSON value matching ``schema`` (enough for the schemas in the docs)."""
    if not isinstance(schema, dict):
        return "text"
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        return example_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, ()) if s.get("type") != "null"]
        if options:
            return example_of(options[0], defs, name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: example_of(v, defs, k) for k, v in props.items() if k in required}
    if kind == "array":
        prefix = schema.get("prefixItems")
        if prefix:
            return [example_of(s, defs, name) for s in prefix]
        return [
            example_of(schema.get("items", {}), defs, name) for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind in ("integer", "number"):
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1
        )
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    formats = {
        "date": "2025-06-01",
        "date-time": "2025-06-01T12:00:00Z",
        "time": "12:00:00",
        "uuid": "0" * 32,
    }
    return formats.get(schema.get("format", ""), "Paris" if name in ("city", "destination") else "text")


ANSWER = "A scripted answer from the docs' test model."


def openai_reply(body: dict[str, Any]) -> Any:
    """What the fake OpenAI server answers a sample: forced tool calls, schema-shaped JSON, or text."""
    tools = {t["function"]["name"]: t["function"] for t in body.get("tools") or ()}
    choice = body.get("tool_choice")
    forced = (
        choice["function"]["name"]
        if isinstance(choice, dict)
        else next(iter(tools), None)
        if choice == "required"
        else None
    )
    if forced is not None and forced in tools:
        return tool_call(forced, example_of(tools[forced].get("parameters", {})))
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return json.dumps(example_of(response_format["json_schema"]["schema"]))
    if response_format.get("type") == "json_object":
        return json.dumps(example_of(response_format.get("schema", {"type": "object"})))
    return ANSWER


def ollama_reply(request: RecordedRequest) -> Reply:
    """A fake Ollama: /api/chat (NDJSON), /api/show, /api/tags, /api/embed."""
    path = request.path.split("?", 1)[0]
    body = request.json() if request.body else {}
    if path == "/api/show":
        return json_reply({"model_info": {"general.architecture": "llama", "llama.context_length": 8192}})
    if path == "/api/tags":
        return json_reply({"models": [{"name": "qwen3:8b", "model": "qwen3:8b", "size": 1}]})
    if path == "/api/embed":
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        return json_reply({"model": body.get("model"), "embeddings": [[1.0, 0.0, 0.0] for _ in texts]})
    if path == "/api/chat":
        text = json.dumps(example_of(body["format"])) if isinstance(body.get("format"), dict) else ANSWER
        model = body.get("model", "m")
        lines = [
            {"model": model, "message": {"role": "assistant", "content": text}, "done": False},
            {"model": model, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
             "prompt_eval_count": 10, "eval_count": 5},
        ]  # fmt: skip
        return Reply(
            200,
            headers={"content-type": "application/x-ndjson"},
            chunks=[json.dumps(x) + "\n" for x in lines],
        )
    return json_reply({"error": f"no route {path}"}, status=404)


def anthropic_reply(request: RecordedRequest) -> Reply:
    """A fake Messages API: /v1/messages (JSON or SSE), /v1/messages/count_tokens, /v1/models."""
    path = request.path.split("?", 1)[0]
    body = request.json() if request.body else {}
    if path == "/v1/models":
        return json_reply({"data": [{"type": "model", "id": "claude-sonnet-4-5"}], "has_more": False})
    if path == "/v1/messages/count_tokens":
        return json_reply({"input_tokens": 10})
    if path != "/v1/messages":
        return json_reply({"type": "error", "error": {"type": "not_found_error", "message": path}}, status=404)
    choice = body.get("tool_choice") or {}
    tools = {t["name"]: t for t in body.get("tools") or ()}
    if choice.get("type") == "tool" and choice.get("name") in tools:
        value = example_of(tools[choice["name"]]["input_schema"])
        block: dict[str, Any] = {"type": "tool_use", "id": "toolu_doc", "name": choice["name"], "input": value}
    else:
        block = {"type": "text", "text": ANSWER}
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
    message = {"id": "msg_doc", "type": "message", "role": "assistant", "model": body.get("model", "m"),
               "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}  # fmt: skip
    if not body.get("stream"):
        return json_reply(message)
    events = [
        {"type": "message_start", "message": dict(message, content=[], stop_reason=None)},
        {"type": "content_block_start", "index": 0, "content_block": dict(block, text="") if block["type"] == "text"
         else dict(block, input={})},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ANSWER}
         if block["type"] == "text" else {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
        {"type": "message_stop"},
    ]  # fmt: skip
    return Reply(200, headers={"content-type": "text/event-stream"},
                 chunks=[f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events])  # fmt: skip


@pytest.fixture(scope="module")
def fake_models() -> Iterator[tuple[FakeOpenAIServer, LoopbackServer, LoopbackServer]]:
    with (
        FakeOpenAIServer(openai_reply) as openai,
        LoopbackServer(ollama_reply) as ollama,
        LoopbackServer(anthropic_reply) as anthropic,
    ):
        yield openai, ollama, anthropic


# -- running a page ----------------------------------------------------------------------------


def write_projects(blocks: list[Block], where: Path) -> list[Path]:
    """Write the page's ``file`` blocks; check the ones that quote this repository's files."""
    files: dict[str, str] = {}
    for block in blocks:
        if block.kind != "file":
            continue
        if (ROOT / block.arg).is_file():
            real = (ROOT / block.arg).read_text(encoding="utf-8")
            assert block.code.strip() in real, (
                f"{block.page}:{block.line}: the sample is not an excerpt of {block.arg} (update one or the other)"
            )
            continue
        files[block.arg] = files.get(block.arg, "") + block.code
    for name, text in files.items():
        target = where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted({where / name.split("/", 1)[0] for name in files if "/" in name})


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    where = f"{block.page}:{block.line}"
    try:
        code = compile(source_of(block), where, "exec", flags=flags)
    except SyntaxError as exc:
        raise AssertionError(f"{where}: the sample is not valid Python: {exc}") from None
    try:
        if code.co_flags & inspect.CO_COROUTINE:
            asyncio.run(eval(code, namespace))
        else:
            exec(code, namespace)
    except Exception as exc:
        shown = "\n".join(f"    {ln}" for ln in source_of(block).splitlines())
        raise AssertionError(f"{where}: the sample failed with {type(exc).__name__}: {exc}\n{shown}") from exc


def run_page(
    page: Path, *, llama: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servers: Any
) -> int:
    from agentkit.plugins import set_host
    from agentkit.stores import close_shared_stores

    openai, ollama, anthropic = servers
    openai.reset(openai_reply)
    blocks = read_blocks(page)
    work = tmp_path / "work"
    work.mkdir()
    projects = write_projects(blocks, tmp_path / "projects")
    monkeypatch.chdir(work)
    monkeypatch.setenv("OPENAI_BASE_URL", openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-doctest-not-a-real-key")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-doctest-not-a-real-key")
    monkeypatch.delenv("AGENTKIT_ANTHROPIC_COUNT_TOKENS", raising=False)
    for name in ("AGENTKIT_LOAD_PLUGINS", "AGENTKIT_DISABLE_PLUGINS", "AGENTKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for project in projects:
        monkeypatch.syspath_prepend(str(project))
    modules_before = set(sys.modules)
    old_host = set_host(None)
    namespace: dict[str, Any] = {"__name__": "__doc_sample__"}
    count = 0
    try:
        for block in blocks:
            if runnable(block, llama=llama):
                run_block(block, namespace)
                count += 1
    finally:
        set_host(old_host)
        close_shared_stores()
        for name in set(sys.modules) - modules_before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if str(tmp_path) in module_file:
                del sys.modules[name]
    return count


def _pages_with(kind: str) -> list[Path]:
    return [p for p in doc_pages() if any(b.kind == kind for b in read_blocks(p))]


@pytest.mark.parametrize("page", doc_pages(), ids=rel)
def test_every_sample_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_models: Any
) -> None:
    run_page(page, llama=False, tmp_path=tmp_path, monkeypatch=monkeypatch, servers=fake_models)


LLAMA = importlib.util.find_spec("llama_cpp") is not None


@pytest.mark.llama
@pytest.mark.skipif(not LLAMA, reason="llama-cpp-python is not installed")
@pytest.mark.parametrize("page", _pages_with("llama"), ids=rel)
def test_every_llama_sample_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_models: Any
) -> None:
    assert run_page(page, llama=True, tmp_path=tmp_path, monkeypatch=monkeypatch, servers=fake_models)


def test_samples_are_found_and_directives_are_used_sparingly() -> None:
    blocks = [b for p in doc_pages() for b in read_blocks(p)]
    python = [b for b in blocks if b.lang in ("python", "py", "pycon")]
    assert len(python) > 40
    skipped = [f"{b.page}:{b.line} {b.arg}" for b in python if b.kind == "skip"]
    assert len(skipped) <= len(python) // 8, f"too many skipped samples: {skipped}"


# -- tutorial projects: installed and tested the way their authors would -------------------------


def _installable(project: Path) -> bool:
    pyproject = project / "pyproject.toml"
    return pyproject.is_file() and "[project]" in pyproject.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tutorial_projects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """Every project the docs build; those that are distributions installed into one folder."""
    root = tmp_path_factory.mktemp("tutorials")
    projects: list[Path] = []
    for page in _pages_with("file"):
        projects += write_projects(read_blocks(page), root / page.stem)
    site = root / "site"
    installable = [p for p in projects if _installable(p)]
    if installable:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
             "--disable-pip-version-check", "--target", str(site), *map(str, installable)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
    return site, projects


def _tutorial_env(site: Path, home: Path, *extra: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENAI_", "OLLAMA_"))}
    path = os.pathsep.join(str(p) for p in (site, *extra))
    env.update(PYTHONPATH=path, AGENTKIT_HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


def test_tutorial_projects_pass_their_own_tests(
    tutorial_projects: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    site, projects = tutorial_projects
    tested = [p for p in projects if (p / "tests").is_dir()]
    assert {p.name for p in tested} >= {"agentkit-acme", "agentkit-snapshot", "conformance-demo"}
    runs = {
        project.name: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=project,
            env=_tutorial_env(site, tmp_path / project.name, project),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for project in tested
    }  # in parallel: each is a separate pytest session
    for name, proc in runs.items():
        try:
            out, _ = proc.communicate(timeout=300)
        finally:
            proc.kill()
        assert proc.returncode == 0 and " passed" in out, f"{name}:\n{out[-4000:]}"


def test_installed_tutorial_plugins_load_through_their_entry_points(
    tutorial_projects: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    site, projects = tutorial_projects
    code = (
        "import json, warnings\nwarnings.simplefilter('error')\nimport agentkit\n"
        "print(json.dumps({i.name: [i.error, {k: list(v) for k, v in i.registered.items()}] "
        "for i in agentkit.list_plugins()}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=_tutorial_env(site, tmp_path), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    plugins = json.loads(proc.stdout)
    for project in filter(_installable, projects):
        if "[project.entry-points.agentkit]" not in (project / "pyproject.toml").read_text(encoding="utf-8"):
            continue  # a project that only shows a configuration (testing-plugins.md's agentkit-tiny)
        error, registered = plugins[project.name]
        assert error is None and registered, (project.name, plugins[project.name])


# -- completeness ------------------------------------------------------------------------------

SPECS = {name: f for name, f in vars(hookspecs).items() if callable(f) and hasattr(f, "agentkit_spec")}


def signature_text(name: str) -> str:
    sig = inspect.signature(SPECS[name])
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def _sections(path: Path, level: str) -> dict[str, str]:
    """``{heading: text up to the next heading of that level or higher}``."""
    text = path.read_text(encoding="utf-8")
    parts = re.split(rf"^({level} .*)$", text, flags=re.MULTILINE)
    return {parts[i].lstrip("#").strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_hookspec_has_its_signature_and_an_example_in_the_hooks_reference() -> None:
    sections = {h.strip("`"): body for h, body in _sections(HOOKS_PAGE, "###").items() if h.startswith("`")}
    documented = {re.match(r"\w+", h).group(0): h for h in sections}  # type: ignore[union-attr]
    assert set(documented) == set(SPECS), "docs/plugin-authors/hooks.md must cover exactly the hookspecs"
    for name, heading in documented.items():
        assert heading == signature_text(name), f"{name}: the heading must be its exact signature"
        body = sections[heading]
        assert re.search(rf"```python\n(?:.*\n)*?\S*def {name}\(", body), (
            f"{name}: no example implementing it"
        )
        assert "@agentkit.hookimpl" in body, f"{name}: the example must mark the hook with @agentkit.hookimpl"


def _api_table() -> str:
    sections = _sections(API_PAGE, "##")
    return next(body for heading, body in sections.items() if heading.lower().startswith("the public api"))


def test_every_public_name_is_in_the_api_table() -> None:
    listed = set(re.findall(r"`(\w+)`", _api_table()))
    missing = sorted(set(agentkit.__all__) - listed)
    assert not missing, f"public names missing from the API table of docs/concepts.md: {missing}"


def test_the_api_table_names_only_public_names_in_its_first_column() -> None:
    first = [
        re.findall(r"`(\w+)`", row.split("|")[1])
        for row in _api_table().splitlines()
        if row.startswith("| `")
    ]
    unknown = sorted({n for names in first for n in names} - set(agentkit.__all__))
    assert not unknown, f"the API table lists names agentkit does not export: {unknown}"


def test_every_testing_helper_is_documented() -> None:
    import agentkit.testing
    import agentkit.testing.conformance

    text = TESTING_PAGE.read_text(encoding="utf-8") + (DOCS / "testing.md").read_text(encoding="utf-8")
    names = {*agentkit.testing.__all__, *agentkit.testing.conformance.__all__, "FakeOpenAIServer"}
    fixtures = {"plugin_host", "scripted", "scripted_agent", "agentkit_home"}
    missing = sorted(n for n in names | fixtures if f"`{n}`" not in text and f"{n}(" not in text)
    assert not missing, f"docs/testing-plugins.md and docs/testing.md do not mention {missing}"


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$|`[^`\n]*`", re.MULTILINE | re.DOTALL)


def links(page: Path) -> list[str]:
    """The targets of the page's Markdown links, outside code."""
    return _LINK.findall(_CODE.sub("", page.read_text(encoding="utf-8")))


def test_relative_links_lead_to_files() -> None:
    broken = []
    for page in doc_pages():
        for target in links(page):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):  # a file outside the repository is none
                broken.append(f"{rel(page)} -> {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_docs_index_links_every_page() -> None:
    index = DOCS / "index.md"
    linked = {(index.parent / t.split("#", 1)[0]).resolve() for t in links(index)}
    orphans = sorted(rel(p) for p in DOCS.rglob("*.md") if p != index and p.resolve() not in linked)
    assert not orphans, f"docs/index.md does not link {orphans}"


def test_directives_parse(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = (
        "<!-- doctest: setup\nx = 1\n-->\n\n<!-- doctest: skip (needs a key) -->\n```python\nboom()\n```\n\n"
        "<!-- doctest: llama -->\n```python\nlocal()\n```\n\n- item\n\n  ```python\n  >>> y = x + 1\n  >>> y\n  2\n  ```\n"
    )
    page.write_text(text, encoding="utf-8")
    blocks = read_blocks(page)
    assert [(b.kind, b.arg) for b in blocks] == [
        ("setup", ""),
        ("skip", "(needs a key)"),
        ("llama", ""),
        ("code", ""),
    ]
    assert [runnable(b, llama=False) for b in blocks] == [True, False, False, True]
    assert runnable(blocks[2], llama=True)
    assert source_of(blocks[3]) == "y = x + 1\ny\n"
