"""The plugin: tools by name, read-only and read-write sets, bash only when named, settings checked."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentkit_files.plugin
from agentkit.errors import ToolError
from agentkit.plugins import PluginHost
from agentkit.tools import resolve_tools
from agentkit_files import file_tools


@pytest.fixture
def host() -> PluginHost:
    host = PluginHost(entry_points=False, defaults=False)
    host.register(agentkit_files.plugin, name="agentkit-files")
    return host


def names(tools: list) -> list[str]:
    return [t.name for t in tools]


def test_sets_and_bash_only_when_named(host: PluginHost, tree: Path) -> None:
    settings = {"files": {"root": str(tree)}}
    assert names(resolve_tools(["files-readonly"], host=host, settings=settings)) == [
        "read",
        "ls",
        "glob",
        "grep",
    ]
    assert names(resolve_tools(["files"], host=host, settings=settings)) == [
        "read",
        "ls",
        "glob",
        "grep",
        "edit",
        "write",
    ]
    assert names(resolve_tools(["files", "bash"], host=host, settings=settings))[-1] == "bash"
    assert "bash" not in host.registry("toolset").get("files").value
    assert host.registry("tool").get("read").plugin == "agentkit-files"


async def test_registered_tools_use_the_configured_root(host: PluginHost, tree: Path) -> None:
    (read,) = resolve_tools(["read"], host=host, settings={"files": {"root": str(tree)}})
    assert read.plugin == "agentkit-files"
    assert "two" in await read.invoke(read.validate('{"path": "notes.txt"}'))


def test_unknown_setting_is_a_clear_error(host: PluginHost, tree: Path) -> None:
    with pytest.raises(ToolError, match=r"unknown files setting\(s\) 'rooot'.*known settings: .*root"):
        resolve_tools(["read"], host=host, settings={"files": {"rooot": str(tree)}})
    with pytest.raises(ToolError, match="max_entries must be a positive number"):
        resolve_tools(["ls"], host=host, settings={"files": {"root": str(tree), "max_entries": 0}})


async def test_file_tools_from_python(tree: Path) -> None:
    readonly = file_tools(root=tree)
    assert names(readonly) == ["read", "ls", "glob", "grep"]
    tools = {t.name: t for t in file_tools(root=tree, write=True, bash=True, ripgrep=False)}
    assert list(tools) == ["read", "ls", "glob", "grep", "edit", "write", "bash"]
    created = await tools["write"].invoke(tools["write"].validate({"path": "a/b.txt", "content": "x\n"}))
    assert created == "created a/b.txt (2 bytes)"
    assert "a/b.txt:1:x" in await tools["grep"].invoke(tools["grep"].validate({"pattern": "x", "path": "a"}))
    assert "[exit code 0]" in await tools["bash"].invoke(tools["bash"].validate({"command": "cat a/b.txt"}))
    with pytest.raises(ToolError, match=r"'\.\.' is not allowed"):
        await tools["read"].invoke(tools["read"].validate({"path": "../outside/secret.txt"}))


def test_tool_schemas_are_explicit_about_write_mode(tree: Path) -> None:
    write = {t.name: t for t in file_tools(root=tree, write=True)}["write"]
    assert write.parameters["properties"]["mode"]["enum"] == ["create", "overwrite"]
    assert "refused if it exists" in write.description
