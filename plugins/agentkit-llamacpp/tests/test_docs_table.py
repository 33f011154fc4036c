"""docs/providers/llamacpp.md names the table of ``agentkit.toml`` its settings go in: that table,
with every setting the page lists, passes ``agentkit config check`` (issue 23: the page named
``[providers.llamacpp]``, where ``n_ctx`` is an unknown key)."""

from __future__ import annotations

import re
from pathlib import Path

from agentkit.config import load_config

PAGE = Path(__file__).resolve().parents[3] / "docs" / "providers" / "llamacpp.md"
VALUES = {"n_ctx": "1024", "n_threads": "2", "n_gpu_layers": "0", "tool_chat_format": '"chatml-function-calling"'}


def test_the_table_the_page_names_takes_the_settings_it_lists(tmp_path: Path) -> None:
    options = PAGE.read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"`\[(providers\.llamacpp[\w.]*)\]`", options)[0]  # the first the page names
    listed = re.findall(r"^\| `(\w+)` \|", options, re.MULTILINE)
    assert set(listed) == set(VALUES), "a setting was added to the page: give it a value here"
    lines = [f"[{table}]", *(f"{name} = {VALUES[name]}" for name in listed)]
    config = tmp_path / "agentkit.toml"
    config.write_text("\n".join([*lines, "", "[agents.local]", 'model = "llamacpp/smollm2"', ""]), encoding="utf-8")
    loaded = load_config(config, environ={"AGENTKIT_HOME": str(tmp_path / "home")})
    assert loaded.check() == []
    assert loaded.providers["llamacpp"].settings["n_ctx"] == 1024  # given to the provider as it is built
