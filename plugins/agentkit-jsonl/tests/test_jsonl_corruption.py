"""A corrupt end of a session file is an error, not a torn write (issue 22, data safety).

Every write ends with a session line and its newline, so only a last line *without* its
newline can be a write a crash cut short: it is ignored when reading and removed, loudly,
by the next write. Anything else after the last session line (a garbage line, or message
lines whose session line is gone) is corruption: an error naming the file and the line,
and nothing is dropped or overwritten, unless the store is opened with ``repair=True``,
which reads past it and reports what it removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agentkit.errors import CorruptSessionError
from agentkit.testing.conformance.stores import sample_turn
from agentkit_jsonl import JsonlStore


@pytest.fixture
def store(tmp_path: Path):
    store = JsonlStore(tmp_path)
    yield store
    store.close()


async def two_turns(store: JsonlStore, sid: str) -> Path:
    await store.create_session(sid)
    await store.append_turn(sid, sample_turn(0))
    await store.append_turn(sid, sample_turn(1))
    return store.file_of(sid)


def replace_last_line(path: Path, line: bytes) -> int:
    """Replace the file's last line (keeping its newline); return its line number."""
    lines = path.read_bytes().splitlines(keepends=True)
    lines[-1] = line
    path.write_bytes(b"".join(lines))
    return len(lines)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x13garbage from a bad disk\n",
        b'{"type": "sessi\xffn", "broken": \n',
        b'{"tzpe": "session", "id": "g"}\n',  # valid JSON, but no session line
        b'{"role": "user", "content": [{"type": "text", "text": "a message, not a session line"}]}\n',
    ],
)
async def test_a_corrupt_last_line_with_its_newline_is_an_error_naming_file_and_line(
    store: JsonlStore, garbage: bytes
) -> None:
    path = await two_turns(store, "g")
    number = replace_last_line(path, garbage)
    before = path.read_bytes()
    for call in (
        lambda: store.read_messages("g"),
        lambda: store.find_session("g"),
        lambda: store.append_turn("g", sample_turn(2)),
        lambda: store.update_session("g", title="t"),
    ):
        with pytest.raises(CorruptSessionError) as info:
            await call()
        assert (info.value.path, info.value.line) == (str(path), number)
        assert f"{path}, line {number}" in str(info.value) and "repair=True" in (info.value.hint or "")
    assert path.read_bytes() == before  # the next append did not erase the last turn


async def test_repair_reads_past_a_corrupt_last_line_and_reports_what_it_removes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = JsonlStore(tmp_path)
    path = await two_turns(store, "r")
    store.close()
    number = replace_last_line(path, b"garbage\n")
    lenient = JsonlStore(tmp_path, repair=True)
    try:
        with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
            assert await lenient.read_messages("r") == sample_turn(0)
        assert f"{path}, line {number}" in caplog.text and "repair=True" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
            await lenient.append_turn("r", sample_turn(2))
        assert str(path) in caplog.text and "removed" in caplog.text and "corrupt" in caplog.text
        assert await lenient.read_messages("r") == sample_turn(0) + sample_turn(2)
    finally:
        lenient.close()
    strict = JsonlStore(tmp_path)  # repaired for good: the strict store reads it again
    try:
        assert await strict.read_messages("r") == sample_turn(0) + sample_turn(2)
    finally:
        strict.close()


async def test_message_lines_whose_session_line_is_gone_are_corruption(store: JsonlStore) -> None:
    """A turn's lines and its session line are one write: complete message lines without
    it at the end of the file mean a line was removed, not a crash."""
    path = await two_turns(store, "u")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # the second turn's session line removed
    with pytest.raises(CorruptSessionError) as info:
        await store.read_messages("u")
    assert info.value.line == len(lines) - 1


async def test_a_torn_last_line_is_still_a_torn_write(
    store: JsonlStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = await two_turns(store, "t")
    with path.open("ab") as f:  # a crash mid-write: whole message lines, then half of one
        f.write(b'{"role": "user", "content": [{"type": "text", "text": "whole"}]}\n{"role": "user", "con')
    assert await store.read_messages("t") == sample_turn(0) + sample_turn(1)
    with caplog.at_level(logging.WARNING, logger="agentkit_jsonl"):
        await store.append_turn("t", sample_turn(2))
    assert "torn last line" in caplog.text and str(path) in caplog.text
    assert await store.read_messages("t") == sample_turn(0) + sample_turn(1) + sample_turn(2)


async def test_blank_lines_at_the_end_are_harmless(store: JsonlStore) -> None:
    path = await two_turns(store, "b")
    with path.open("ab") as f:
        f.write(b"\n  \n")
    assert await store.read_messages("b") == sample_turn(0) + sample_turn(1)
    await store.append_turn("b", sample_turn(2))
    assert len(await store.read_messages("b")) == 12
