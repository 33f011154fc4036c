"""A batch's input items: what one item is, and reading them one at a time.

Inputs are streamed: a JSONL file is read line by line and each item is built when the job
is ready to start it, so a million-line file costs no more memory than a ten-line one. An
item is a JSON object ``{"id", "input", "template_params", "session", "user_id"}`` or a plain
string (its id is then its position, counted from 0 over the items, blank lines skipped).
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from ..errors import BatchError

__all__ = ["ITEM_KEYS", "BatchItem", "count_lines", "id_key", "iter_items", "read_jsonl"]

#: The keys an input item may have.
ITEM_KEYS = ("id", "input", "template_params", "session", "user_id")

#: Items read between two yields to the event loop (reading never starves the running items).
_YIELD_EVERY = 256


@attrs.frozen
class BatchItem:
    """One input of a batch: the prompt, its id, and how to run it.

    ``id`` is a string or an integer, unique in the batch; ``position`` is where the item
    sits in the inputs (from 0). ``session`` runs the item in that stored session (items of
    one session run one at a time); ``user_id`` is handed to the run.
    """

    id: str | int
    input: str
    template_params: Mapping[str, Any] | None = None
    session: str | None = None
    user_id: str | None = None
    position: int = 0

    @classmethod
    def from_value(cls, value: Any, position: int, *, where: str | None = None, line: int | None = None) -> BatchItem:
        """An item from a plain string or a mapping, checked; problems raise :class:`BatchError`."""
        if isinstance(value, BatchItem):
            return value if value.position == position else attrs.evolve(value, position=position)
        if isinstance(value, str):
            return cls(id=position, input=value, position=position)
        if not isinstance(value, Mapping):
            raise BatchError(
                f"an item must be a JSON object or a string, got {type(value).__name__}",
                path=where,
                line=line,
                hint='write each item as {"id": ..., "input": "..."} or as a JSON string',
            )
        unknown = [k for k in value if k not in ITEM_KEYS]
        if unknown:
            key = str(unknown[0])
            close = difflib.get_close_matches(key, ITEM_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise BatchError(
                f"unknown item key {key!r}",
                path=where,
                line=line,
                hint=f"{hint}an item may have: {', '.join(ITEM_KEYS)}",
            )
        if "input" not in value:
            raise BatchError('the item has no "input"', path=where, line=line)
        text = value["input"]
        if not isinstance(text, str):
            raise BatchError(f'"input" must be a string, got {type(text).__name__}', path=where, line=line)
        item_id = value.get("id", position)
        if isinstance(item_id, bool) or not isinstance(item_id, str | int):
            raise BatchError(
                f'"id" must be a string or an integer, got {json.dumps(item_id, default=str)}',
                path=where,
                line=line,
            )
        params = value.get("template_params")
        if params is not None and not isinstance(params, Mapping):
            raise BatchError('"template_params" must be an object', path=where, line=line)
        for key in ("session", "user_id"):
            if value.get(key) is not None and not isinstance(value[key], str):
                raise BatchError(f'"{key}" must be a string', path=where, line=line)
        return cls(
            id=item_id,
            input=text,
            template_params=dict(params) if params is not None else None,
            session=value.get("session"),
            user_id=value.get("user_id"),
            position=position,
        )


def id_key(item_id: str | int) -> Any:
    """A compact, exact key for an id in the job's sets of ids.

    Integers are themselves; strings up to 64 characters too; longer ones become a 128-bit
    digest (no two ids of a realistic job collide) so that the job's memory does not grow
    with the length of ids. ``5`` and ``"5"`` stay different ids, as in JSON.
    """
    if isinstance(item_id, str) and len(item_id) > 64:
        return hashlib.blake2b(item_id.encode("utf-8"), digest_size=16).digest()
    return item_id


def read_jsonl(
    source: str | os.PathLike[str] | BinaryIO, *, name: str | None = None
) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSONL file, read lazily.

    ``source`` is a path or a binary file (such as ``sys.stdin.buffer``; ``name`` names it in
    errors). A line that is not JSON raises :class:`BatchError` naming the file and line.
    """
    if isinstance(source, str | os.PathLike):
        where = name or str(source)
        try:
            handle: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise BatchError("no such input file", path=where) from None
        except OSError as exc:
            raise BatchError(f"cannot read the input file: {exc.strerror or exc}", path=where) from None
        with handle:
            yield from _lines_of(handle, where)
    else:
        yield from _lines_of(source, name or getattr(source, "name", None) or "<input>")


def _lines_of(handle: BinaryIO, where: str) -> Iterator[tuple[int, Any]]:
    for number, raw in enumerate(handle, 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise BatchError(
                f"the line is not JSON ({exc})",
                path=where,
                line=number,
                hint='each line is one item: {"id": ..., "input": "..."} or a JSON string',
            ) from None
        yield number, value


def count_lines(path: str | os.PathLike[str]) -> int:
    """The number of non-blank lines of a file, read in blocks (for a progress total)."""
    count = 0
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            count += sum(1 for ln in lines if ln.strip())
    return count + (1 if tail.strip() else 0)


async def iter_items(inputs: Any) -> AsyncIterator[BatchItem]:
    """The items of ``inputs``: a path to a JSONL file, an iterable or an async iterable of
    items (mappings, plain strings or :class:`BatchItem`). Checked as they are read."""
    if isinstance(inputs, str | bytes):
        raise TypeError(
            "inputs is a string; pass a list of items, or Path('inputs.jsonl') to read a JSONL file"
        )
    if isinstance(inputs, os.PathLike):
        where = str(inputs)
        for position, (number, value) in enumerate(read_jsonl(Path(inputs))):
            yield BatchItem.from_value(value, position, where=where, line=number)
            if position % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
        return
    if hasattr(inputs, "__aiter__"):
        position = 0
        async for value in inputs:
            yield _checked(value, position)
            position += 1
        return
    if not isinstance(inputs, Iterable):
        raise TypeError(f"inputs must be an iterable of items, got {type(inputs).__name__}")
    for position, value in enumerate(inputs):
        yield _checked(value, position)
        if position % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)


def _checked(value: Any, position: int) -> BatchItem:
    try:
        return BatchItem.from_value(value, position)
    except BatchError as exc:
        raise BatchError(f"inputs[{position}]: {exc}", hint=exc.hint) from None
