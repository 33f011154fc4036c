"""grep: search file contents with ripgrep when it is installed, in pure Python otherwise.

Both give the same output (``path:line:text`` for matches, ``path-line-text`` for context,
``--`` between groups, paths relative to the root) and skip the same things: hidden files
and folders, binary files, symlinks, special files, files over the size cap. ripgrep also
honours ``.gitignore``; the fallback does not.

Both can be stopped at any moment, so ``grep_timeout`` and the agent's ``tool_timeout`` always
hold: ripgrep is a process killed with its group; the fallback walks and reads the files
here but runs the model's regular expression in a child process
(:class:`~agentkit_files._matcher.Matcher`), since a backtracking expression can hold the GIL
for hours.

How ripgrep is run, and kept inside the root while folders are swapped for symlinks under
it, is in :mod:`agentkit_files._ripgrep`. The fallback walks from the descriptor the path
check opened, entering folders by descriptor with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator

from agentkit.errors import ToolError

from ._matcher import Matcher
from ._ripgrep import GrepQuery, ripgrep
from .globs import cap_text, compile_glob, looks_binary, walk_tree
from .paths import Resolved, Root
from .settings import FilesSettings

__all__ = ["FILE_TYPES", "find_ripgrep", "grep"]

#: File types for ``file_type`` (names as ripgrep spells them) and their globs.
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "c": ("*.c", "*.h"),
    "cpp": ("*.cpp", "*.cc", "*.cxx", "*.hpp", "*.hh", "*.hxx", "*.h"),
    "cs": ("*.cs",),
    "css": ("*.css", "*.scss", "*.sass", "*.less"),
    "go": ("*.go",),
    "html": ("*.html", "*.htm", "*.xhtml"),
    "java": ("*.java",),
    "js": ("*.js", "*.jsx", "*.mjs", "*.cjs", "*.vue"),
    "json": ("*.json", "*.jsonl"),
    "kotlin": ("*.kt", "*.kts"),
    "lua": ("*.lua",),
    "md": ("*.md", "*.markdown", "*.mdx"),
    "php": ("*.php",),
    "py": ("*.py", "*.pyi"),
    "rb": ("*.rb", "*.gemspec", "Rakefile", "Gemfile"),
    "rust": ("*.rs",),
    "sh": ("*.sh", "*.bash", "*.zsh", ".bashrc", ".zshrc"),
    "sql": ("*.sql",),
    "swift": ("*.swift",),
    "toml": ("*.toml",),
    "ts": ("*.ts", "*.tsx", "*.mts", "*.cts"),
    "txt": ("*.txt",),
    "xml": ("*.xml", "*.xsd", "*.xsl", "*.svg"),
    "yaml": ("*.yaml", "*.yml"),
}
_MAX_CONTEXT = 10


def find_ripgrep(settings: FilesSettings) -> str | None:
    """The ``rg`` binary to use, or ``None`` for the pure-Python search."""
    choice = settings.ripgrep
    if choice is False:
        return None
    if isinstance(choice, str):
        return choice
    found = shutil.which("rg")
    if found is None and choice is True:
        raise ToolError("ripgrep is required by the settings (ripgrep=true) but 'rg' is not on PATH")
    return found


async def grep(
    root: Root,
    settings: FilesSettings,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    file_type: str | None = None,
    ignore_case: bool = False,
    context: int = 0,
    files_with_matches: bool = False,
) -> str:
    """Lines matching a regular expression under ``path``, or the files that contain one."""
    if not isinstance(pattern, str) or pattern == "":
        raise ToolError("pattern must be a non-empty regular expression")
    if isinstance(context, bool) or not isinstance(context, int) or not 0 <= context <= _MAX_CONTEXT:
        raise ToolError(f"context must be a number of lines from 0 to {_MAX_CONTEXT}, got {context!r}")
    if file_type is not None and file_type not in FILE_TYPES:
        raise ToolError(f"unknown file_type {file_type!r}; known types: {', '.join(sorted(FILE_TYPES))}")
    if glob is not None and (not glob or glob.startswith("/") or ".." in glob.split("/")):
        raise ToolError(f"glob {glob!r} must be a relative pattern such as '*.py' or 'src/**/*.ts'")
    resolved = root.resolve(path)
    rg = find_ripgrep(settings)
    query = GrepQuery(pattern, glob, file_type, ignore_case, context, files_with_matches)
    try:
        async with asyncio.timeout(settings.grep_timeout):
            if rg is not None:
                lines, truncated, problems = await ripgrep(rg, root, resolved, query, settings)
            else:
                deadline = time.monotonic() + settings.grep_timeout
                matcher = Matcher(pattern, ignore_case=ignore_case, first_only=files_with_matches)
                try:
                    lines, truncated, problems = await asyncio.to_thread(
                        _python_grep, root, resolved, query, settings, deadline, matcher
                    )
                finally:  # timed out or cancelled (tool_timeout): the search stops now
                    matcher.kill()
    except TimeoutError:
        raise ToolError(
            f"grep did not finish within {settings.grep_timeout:g} s; search a narrower path or use a glob"
        ) from None
    what = "files" if files_with_matches else "matching lines"
    if not lines:
        text = f"no matches for {pattern!r} in {resolved.shown!r}"
        return text + ("\n" + "\n".join(problems) if problems else "")
    if truncated:
        problems.insert(
            0,
            f"[truncated: showing the first {settings.max_matches} {what}; narrow the pattern, path or glob]",
        )
    return cap_text(
        "\n".join(lines + problems), settings.max_output_chars, "narrow the pattern, path or glob"
    )


# -- pure Python --------------------------------------------------------------------------------


def _python_grep(
    root: Root, resolved: Resolved, query: GrepQuery, settings: FilesSettings, deadline: float, matcher: Matcher
) -> tuple[list[str], bool, list[str]]:
    # Open what the check saw first (a name can be swapped for a symlink at any time), then
    # start the child that runs the expression.
    opened = root.open_dir(resolved.real) if resolved.is_dir else root.open_read(resolved)
    with opened as top, matcher.running(deadline):
        return _search_tree(root, resolved, top, query, settings, deadline, matcher)


def _search_tree(
    root: Root,
    resolved: Resolved,
    top: int,
    query: GrepQuery,
    settings: FilesSettings,
    deadline: float,
    matcher: Matcher,
) -> tuple[list[str], bool, list[str]]:
    lines: list[str] = []
    matches = 0
    files = 0
    problems: list[str] = []
    for rel_file, fd in _candidate_files(root, resolved, top, query, settings, problems):
        if time.monotonic() > deadline:
            os.close(fd)
            raise TimeoutError
        found = _search_file(fd, rel_file, matcher, deadline, query, settings)
        if found is None:
            continue
        if query.files:
            if files >= settings.max_matches:
                return lines, True, problems
            files += 1
            lines.append(rel_file)
            continue
        for line, is_match in found:
            if is_match:
                if matches >= settings.max_matches:
                    while lines and lines[-1] == "--":
                        lines.pop()
                    return lines, True, problems
                matches += 1
            lines.append(line)
    while lines and lines[-1] == "--":
        lines.pop()
    return lines, False, problems


def _type_matcher(file_type: str | None) -> list[re.Pattern[str]]:
    return [compile_glob(g) for g in FILE_TYPES[file_type]] if file_type else []


_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _candidate_files(
    root: Root, resolved: Resolved, top: int, query: GrepQuery, settings: FilesSettings, problems: list[str]
) -> Iterator[tuple[str, int]]:
    """(path shown to the model, open descriptor) of each file to search, in path order.

    ``top`` is the searched folder (or file) as the path check opened it. Files are opened
    relative to the walk's directory descriptors with O_NOFOLLOW, so what is read is what
    the walk saw, even if folders are swapped for symlinks meanwhile. The receiver closes
    each descriptor.
    """
    if not resolved.is_dir:  # an explicit file is searched whatever its name
        yield resolved.shown, os.dup(top)
        return
    types = _type_matcher(query.file_type)
    glob = compile_glob(query.glob.lstrip("!")) if query.glob else None
    negate = bool(query.glob and query.glob.startswith("!"))
    base_glob_on_name = bool(query.glob and "/" not in query.glob)

    def wanted(rel: str, name: str) -> bool:
        if types and not any(t.match(name) for t in types):
            return False
        if glob is not None:
            hit = bool(glob.match(name if base_glob_on_name else rel))
            return hit != negate
        return True

    too_deep: list[str] = []
    walk = walk_tree(top, max_depth=settings.max_path_depth, skip=lambda name: name.startswith("."), too_deep=too_deep)
    try:
        for scanned, entry in enumerate(walk, start=1):
            if scanned > settings.max_scan_entries:
                problems.append(f"[stopped after scanning {settings.max_scan_entries} entries; search a narrower path]")
                return
            if entry.is_dir or any(part.startswith(".") for part in entry.rel.split("/")):
                continue
            if not wanted(entry.rel, entry.name):
                continue
            try:
                fd = os.open(entry.name, _OPEN_FLAGS, dir_fd=entry.dir_fd)
            except OSError:  # a symlink (not followed), or gone
                continue
            yield root.relative(os.path.join(resolved.real, entry.rel)), fd
    finally:
        walk.close()
    if too_deep:
        problems.append(_too_deep_note(too_deep, settings))


def _too_deep_note(folders: list[str], settings: FilesSettings) -> str:
    return (
        f"[not searched: {len(folders)} folder(s) more than {settings.max_path_depth} levels down "
        f"(max_path_depth), such as {folders[0]!r}; search from a deeper path]"
    )


def _search_file(
    fd: int, shown: str, matcher: Matcher, deadline: float, query: GrepQuery, settings: FilesSettings
) -> list[tuple[str, bool]] | None:
    """Output lines for one file (closing ``fd``), ``None`` when it has no match or is not searchable."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > settings.max_file_bytes:
            return None  # a folder put where a file was, a FIFO, or too big
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(settings.max_file_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > settings.max_file_bytes or looks_binary(data[:8192]):
        return None
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        return None
    hits = set(matcher.search(lines, deadline))
    if not hits:
        return None
    if query.files:
        return []
    out: list[tuple[str, bool]] = []
    before: collections.deque[tuple[int, str]] = collections.deque(maxlen=query.context)
    after = 0
    last_shown = 0
    for number, line in enumerate(lines, start=1):
        if number in hits:
            first = before[0][0] if before else number
            if query.context and last_shown and first > last_shown + 1:
                out.append(("--", False))
            out += [(_fmt(shown, n, "-", text, settings), False) for n, text in before]
            before.clear()
            out.append((_fmt(shown, number, ":", line, settings), True))
            last_shown = number
            after = query.context
        elif after:
            out.append((_fmt(shown, number, "-", line, settings), False))
            last_shown = number
            after -= 1
        elif query.context:
            before.append((number, line))
    if not out:
        return None
    if query.context:
        out.append(("--", False))
    return out


def _fmt(shown: str, number: int, sep: str, line: str, settings: FilesSettings) -> str:
    if len(line) > settings.max_line_chars:
        line = line[: settings.max_line_chars] + " [... line cut]"
    return f"{shown}{sep}{number}{sep}{line}"
