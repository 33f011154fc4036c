"""resolve_tools: tools by object, function, registered name, toolset, factory and import path."""

from __future__ import annotations

import pytest

from agentkit.errors import ConfigError, ToolDefinitionError, UnknownToolError
from agentkit.hookspecs import hookimpl
from agentkit.plugins import PluginHost
from agentkit.tools import Tool, resolve_tools, tool


def read_file(path: str) -> str:
    """Read a file under the root."""
    return f"read {path}"


def make_list_dir(root: str = ".", hidden: bool = False) -> Tool:
    @tool
    def list_dir(path: str = "") -> str:
        """List a directory."""
        return f"{root}/{path} hidden={hidden}"

    return list_dir


def make_pair(root: str = ".") -> list[Tool]:
    @tool
    def stat(path: str) -> str:
        return f"stat {root}/{path}"

    @tool
    def touch(path: str) -> str:
        return f"touch {root}/{path}"

    return [stat, touch]


class FilesPlugin:
    @hookimpl
    def register_tools(self, registry):
        registry.add(read_file)
        registry.add_factory("list_dir", make_list_dir, settings_key="files")
        registry.add_factory("pair", make_pair, settings_key="files")
        registry.add_set("files-readonly", ["read_file", "list_dir"])
        registry.add_set("everything", ["files-readonly", "pair"])
        registry.add_set("loop", ["loop2"])
        registry.add_set("loop2", ["loop"])
        registry.add_set("broken-set", ["read_file", "no_such_tool"])


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost(entry_points=False, defaults=False)
    h.register(FilesPlugin(), name="agentkit-files")
    return h


@tool
def local_tool(x: int) -> int:
    return x


def test_objects_functions_and_names_mix(host):
    def plain(a: str) -> str:
        return a

    tools = resolve_tools([local_tool, plain, "read_file", "textwrap:dedent"], host=host)
    assert [t.name for t in tools] == ["local_tool", "plain", "read_file", "dedent"]
    assert tools[2].plugin == "agentkit-files"
    assert tools[0].plugin is None
    assert tools[2]("a") == "read a"


def test_a_single_item_is_accepted(host):
    assert [t.name for t in resolve_tools("read_file", host=host)] == ["read_file"]
    assert [t.name for t in resolve_tools(local_tool, host=host)] == ["local_tool"]


def test_factories_are_built_from_their_settings_table(host):
    (list_dir,) = resolve_tools(["list_dir"], host=host, settings={"files": {"root": "/srv", "hidden": True}})
    assert list_dir.plugin == "agentkit-files"
    assert list_dir() == "/srv/ hidden=True"
    (default,) = resolve_tools(["list_dir"], host=host)
    assert default() == "./ hidden=False"


def test_a_factory_may_build_several_tools(host):
    tools = resolve_tools(["pair"], host=host, settings={"files": {"root": "/r"}})
    assert [t.name for t in tools] == ["stat", "touch"]
    assert {t.plugin for t in tools} == {"agentkit-files"}


def test_toolsets_expand_recursively_without_duplicates(host):
    tools = resolve_tools(["read_file", "everything"], host=host)
    assert [t.name for t in tools] == ["read_file", "list_dir", "stat", "touch"]


def test_a_toolset_cycle_is_an_error(host):
    with pytest.raises(ToolDefinitionError, match="includes itself"):
        resolve_tools(["loop"], host=host)


def test_unknown_name_lists_installed_tools_and_suggests(host):
    with pytest.raises(UnknownToolError) as info:
        resolve_tools(["read_fil"], host=host)
    err = info.value
    assert "did you mean 'read_file'?" in str(err)
    assert "read_file (agentkit-files)" in str(err)
    assert "files-readonly (agentkit-files)" in str(err)
    assert err.tool == "read_fil"
    assert "read_file" in err.available and "everything" in err.available


def test_unknown_name_inside_a_toolset_names_the_toolset(host):
    with pytest.raises(UnknownToolError, match="in toolset 'broken-set'"):
        resolve_tools(["broken-set"], host=host)


def test_unknown_name_without_any_tool_plugin():
    empty = PluginHost(entry_points=False, defaults=False)
    with pytest.raises(UnknownToolError, match="no plugin provides tools"):
        resolve_tools(["anything"], host=empty)


def test_bad_factory_settings_name_the_tool_and_table(host):
    with pytest.raises(ConfigError) as info:
        resolve_tools(["list_dir"], host=host, settings={"files": {"rooot": "/x"}})
    assert str(info.value) == (
        "tool_settings.files.rooot: tool 'list_dir' has no option 'rooot' (did you mean 'root'?); "
        "its options: root, hidden"
    )



def test_two_different_tools_with_one_name_are_refused(host):
    @tool(name="read_file")
    def mine(path: str) -> str:
        return path

    with pytest.raises(ToolDefinitionError, match="two different tools are named 'read_file'"):
        resolve_tools(["read_file", mine], host=host)


def test_the_same_tool_twice_is_kept_once(host):
    assert len(resolve_tools([local_tool, local_tool, "read_file", "read_file"], host=host)) == 2


def test_the_process_host_is_used_by_default(monkeypatch):
    from agentkit import plugins

    host = PluginHost(entry_points=False, defaults=False)
    host.register(FilesPlugin(), name="agentkit-files")
    old = plugins.set_host(host)
    try:
        assert [t.name for t in resolve_tools(["read_file"])] == ["read_file"]
    finally:
        plugins.set_host(old)


def test_registering_an_undecoratable_tool_is_reported_as_a_plugin_failure():
    class Bad:
        @hookimpl
        def register_tools(self, registry):
            registry.add(read_file)
            registry.add(lambda x: x)  # no name: the whole hook is left out

    host = PluginHost(entry_points=False, defaults=False)
    host.register(Bad(), name="bad-tools")
    with pytest.warns(Warning, match="'bad-tools' failed in register_tools"):
        names = host.registry("tool").names()
    assert names == []
