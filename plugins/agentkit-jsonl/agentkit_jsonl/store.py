"""The JSONL session store (registered as ``"jsonl"``): one human-readable file per session.

A session file is a sequence of JSON lines::

    {"type": "session", "format": 1, "id": "chat-42", ..., "message_count": 0, ...}
    {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
    {"role": "assistant", "content": "Hello!", ...}
    {"type": "session", "format": 1, "id": "chat-42", ..., "message_count": 2, ...}

Message lines are agentkit's message format. ``session`` lines carry the session's whole
state (ids, title, model, usage, metadata, timestamps) and *commit* the messages before
them: a turn is its message lines plus one session line, written together under an
exclusive ``flock``. So a file ends with a session line and its newline, unless a crash cut
a write short: then the last line has no newline, and the lines after the last session line
are that write's. Readers ignore them; the next writer truncates them away and logs a
warning naming the file. Anything else after the last session line (a complete line that is
not a session line) is corruption: :class:`~agentkit.errors.CorruptSessionError` naming the
file and line, unless the store has ``repair=True``, which reads past it and reports what it
removes. Metadata changes append a session line; clear, set_history and import replace the
file atomically (temporary file + rename).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import attrs
import msgspec

from agentkit.errors import CorruptSessionError, SchemaVersionError, StorageError
from agentkit.messages import Message
from agentkit.serialization import messages_from_dicts, messages_from_json_texts, messages_to_dicts
from agentkit.stores import (
    InfoChange,
    SessionInfo,
    Store,
    agentkit_home,
    check_session_id,
    info_from_dict,
    info_to_dict,
)

from ._files import (
    SUFFIX,
    LockedFile,
    WouldBlock,
    atomic_write,
    file_name,
    locked,
    make_private_dir,
    write_all,
)

__all__ = ["FILE_FORMAT", "JsonlStore"]

log = logging.getLogger("agentkit_jsonl")

#: Version of the session file layout, stored in every session line.
FILE_FORMAT = 1

T = TypeVar("T")


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate in some text: escape it instead
        return json.dumps(value).encode("ascii") + b"\n"


def _state_line(info: SessionInfo) -> bytes:
    return _dumps({"type": "session", "format": FILE_FORMAT, **info_to_dict(info)})


def _message_lines(messages: Sequence[Message]) -> bytes:
    return b"".join(_dumps(d) for d in messages_to_dicts(messages))


@attrs.frozen
class _Parsed:
    info: SessionInfo
    messages: list[Message]
    committed_end: int  # byte offset just after the last session line
    last_line: bytes  # that session line, newline included
    lines: int  # lines up to it


class _SessionMark(msgspec.Struct, gc=False):
    """What the quick read checks in every session line (the last one is read in full)."""

    type: str
    id: str
    format: int
    message_count: int


_decode_marks = msgspec.json.Decoder(list[_SessionMark]).decode


class JsonlStore(Store):
    """Sessions as JSONL files in a directory.

    :param path: the directory (default ``$AGENTKIT_HOME/sessions``), created 0700.
    :param repair: read past corrupt lines (logging each one) instead of raising
        :class:`~agentkit.errors.CorruptSessionError`; a corrupt end of a file is then removed,
        and reported, by the next write.
    :param fsync: flush every write to disk (survives power loss; slower).
    :param lock_timeout: seconds to wait for another writer's lock on a session file.
    """

    name = "jsonl"
    #: How many sessions' decoded messages a store keeps for incremental reads.
    cached_sessions = 8

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        repair: bool = False,
        fsync: bool = False,
        lock_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path).expanduser() if path else agentkit_home() / "sessions"
        self.repair = repair
        self.fsync = fsync
        self.lock_timeout = lock_timeout
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentkit-jsonl")
        # session id -> (file identity after our last write, the state we wrote, its line)
        self._known: dict[str, tuple[tuple[int, ...], SessionInfo, bytes]] = {}
        # session id -> ((device, inode), what was read): reads continue from there
        self._reads: OrderedDict[str, tuple[tuple[int, int], _Parsed]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"JsonlStore({str(self.path)!r})"

    def file_of(self, session_id: str) -> Path:
        """The file that holds (or would hold) a session."""
        return self.path / file_name(check_session_id(session_id))

    async def _call(self, job: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StorageError(f"the store at {self.path} is closed", store=self.name)
        return await asyncio.wrap_future(self._executor.submit(self._run, job, args))

    async def _call_inline(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(*args, wait=False)`` here and now, or like :meth:`_call` if it would have
        to wait for another writer's lock (it then has done nothing yet).

        For the short per-turn jobs (find, append, update) on page-cache I/O: handing them to
        a thread and back costs two thread wake-ups (40-300 µs depending on the machine), more
        than the job itself. With ``fsync=True`` a write waits for the disk: those go to the
        threads.
        """
        if self._closed:
            raise StorageError(f"the store at {self.path} is closed", store=self.name)
        try:
            return self._run(functools.partial(job, wait=False), args)
        except WouldBlock:
            return await self._call(job, *args)

    async def _small_write(self, job: Callable[..., T], *args: Any) -> T:
        if self.fsync:
            return await self._call(job, *args)
        return await self._call_inline(job, *args)

    def _run(self, job: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return job(*args)
        except OSError as exc:
            where = exc.filename or self.path
            raise StorageError(f"{where}: {exc.strerror or exc}", store=self.name) from exc

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._cache_lock:  # what was read is freed now, even if the store lingers
            self._reads.clear()
            self._known.clear()

    def _lock(self, session_id: str, *, exclusive: bool, wait: bool = True) -> Any:
        return locked(self.file_of(session_id), exclusive=exclusive, timeout=self.lock_timeout, wait=wait)

    # -- reading a file ----------------------------------------------------------------------

    def _corrupt(
        self, path: Path, line: int | None, problem: str, session_id: str | None = None
    ) -> CorruptSessionError:
        where = f"{path}, line {line}" if line is not None else str(path)
        return CorruptSessionError(
            f"{where}: {problem}",
            path=str(path),
            line=line,
            store=self.name,
            session_id=session_id,
            hint="fix or remove that line, or open the store with repair=True to skip corrupt lines",
        )

    def _info(self, record: Any, path: Path, line: int | None) -> SessionInfo:
        fmt = record.get("format")
        if isinstance(fmt, int) and fmt > FILE_FORMAT:
            raise SchemaVersionError(
                f"{path} was written in JSONL session format {fmt}; this agentkit-jsonl reads up to {FILE_FORMAT}",
                found=fmt,
                supported=FILE_FORMAT,
                store=self.name,
                hint="upgrade agentkit-jsonl (pip install -U agentkit-jsonl)",
            )
        try:
            return info_from_dict({k: v for k, v in record.items() if k not in ("type", "format")})
        except (ValueError, StorageError) as exc:
            raise self._corrupt(path, line, f"bad session line: {exc}") from None

    def _tail(self, f: LockedFile, session_id: str | None) -> tuple[SessionInfo, int, int, int]:
        """The last session line (the current state) without reading the whole file.

        Returns ``(info, end of that line, file size, complete lines after it)``. The line
        must name ``session_id`` (any id when ``None``).
        """
        size = f.size()
        window = 8192
        while True:
            start = max(0, size - window)
            chunk = f.read_at(start, size - start)
            line_end = chunk.rfind(b"\n")
            after = 0
            while line_end >= 0:
                line_start = chunk.rfind(b"\n", 0, line_end) + 1
                if line_start == 0 and start > 0:
                    break  # this line may begin before the window
                record = _loads(chunk[line_start:line_end])
                if isinstance(record, dict) and record.get("type") == "session":
                    info = self._info(record, f.path, None)
                    if session_id is not None and info.id != session_id:
                        raise self._corrupt(f.path, None, f"holds session {info.id!r}, not {session_id!r}")
                    end = start + line_end + 1
                    if after and chunk.endswith(b"\n") and chunk[line_end + 1 :].strip():
                        self._corrupt_end(f.path, f.read_all().count(b"\n"), session_id)
                    return info, end, size, after
                after += 1
                line_end = line_start - 1
            if start == 0:
                raise self._corrupt(f.path, 1, "no session line: not an agentkit session file", session_id)
            window *= 8

    def _corrupt_end(self, path: Path, line: int, session_id: str | None) -> None:
        """A complete line that is not a session line ends the file: raise, or (with
        ``repair=True``) report it; the lines after the last session line are then ignored."""
        problem = (
            "the file ends with a line that is not a session line: every write ends with one, and a "
            "write cut short would leave its last line without a newline"
        )
        if not self.repair:
            raise self._corrupt(path, line, problem, session_id)
        log.warning("%s, line %d: %s; reading past it (repair=True)", path, line, problem)

    def _repair_tail(self, f: LockedFile, session_id: str) -> SessionInfo:
        """Cut whatever follows the last session line (a write a crash cut short), loudly.

        When the file is as this store last wrote it (same inode, size and mtime, and its
        last line the very session line written), that state is still the current one and
        the tail is not parsed again.
        """
        known = self._known.get(session_id)
        if known is not None and known[0] == _identity(f.fd):
            identity, info, line = known
            if f.read_at(identity[2] - len(line), len(line)) == line:
                return info
        info, end, size, after = self._tail(f, session_id)
        if end < size:
            torn = f.read_at(size - 1, 1) != b"\n"
            os.ftruncate(f.fd, end)
            log.warning(
                "%s: removed %d bytes after the last complete turn (%s)",
                f.path,
                size - end,
                f"{after} uncommitted line(s) and a torn last line, left by an interrupted write"
                if torn
                else f"{after} corrupt line(s), repair=True",
            )
        return info

    def _parse(self, data: bytes, path: Path, session_id: str, base: _Parsed | None = None) -> _Parsed:
        """Read a session file's bytes; with ``base``, the bytes after what ``base`` read."""
        return self._parse_fast(data, path, session_id, base) or self._parse_carefully(
            data, path, session_id, base
        )

    def _parse_fast(self, data: bytes, path: Path, session_id: str, base: _Parsed | None) -> _Parsed | None:
        """The usual file, written by this store: ``None`` for anything else, which the
        careful path then reads again and, if need be, reports by line.

        Lines are told apart by how this store writes them (message lines start with
        ``{"role"``, session lines with ``{"type"``; both kinds are then checked as they are
        decoded); message lines are decoded in batches, and only those of committed turns. Session lines must belong to this
        session, be in a known format and count the messages before them; only the last
        one (the current state) is read in full.
        """
        lines = data.split(b"\n")
        torn = lines.pop()  # after the last newline: b"" or a torn line, never used
        try:  # the third byte tells them apart: {"type": "session", ...} or {"role": ...}
            at = [i for i, line in enumerate(lines) if line[2] == 116]  # t
            texts = [line for line in lines if line[2] == 114]  # r
        except IndexError:
            return None  # a short line
        if len(at) + len(texts) != len(lines):
            return None  # a line of another kind
        if not at:
            return base  # nothing new is committed yet (or not a session file: None)
        if base is None and at[0] != 0:
            return None  # the first line must be a session line
        sessions = [(i, i - k) for k, i in enumerate(at)]  # (line index, message lines before it)
        done = len(base.messages) if base is not None else 0
        try:  # only kind, id, format and count are checked here: msgspec skips the rest
            marks = _decode_marks(b"[" + b",".join([lines[i] for i in at]) + b"]")
        except ValueError:
            return None
        if len(marks) != len(sessions):
            return None
        for mark, (_, before) in zip(marks, sessions, strict=True):
            if (
                mark.type != "session"
                or mark.id != session_id
                or mark.format > FILE_FORMAT
                or mark.message_count != done + before
            ):
                return None
        last, committed = sessions[-1]
        if not torn.strip() and any(line.strip() for line in lines[last + 1 :]):
            return None  # complete lines end the file, after its last session line: the careful read decides
        try:
            state = self._info(json.loads(lines[last]), path, None)  # exactly, with json
            messages = messages_from_json_texts(texts[:committed])
        except (ValueError, CorruptSessionError):
            return None
        if base is not None:
            messages = base.messages + messages
        start = base.committed_end if base is not None else 0
        end = start + sum(map(len, lines[: last + 1])) + last + 1
        if start + len(data) > end:
            log.debug("%s: ignoring %d byte(s) after the last complete turn", path, start + len(data) - end)
        first = base.lines + 1 if base is not None else 1
        return _Parsed(state, messages, end, lines[last] + b"\n", first + last)

    def _parse_carefully(self, data: bytes, path: Path, session_id: str, base: _Parsed | None) -> _Parsed:
        lines = data.split(b"\n")
        torn = lines.pop()  # after the last newline: b"" or a torn line, never used
        first = base.lines + 1 if base is not None else 1
        numbered = [(n, line) for n, line in enumerate(lines, start=first) if line.strip()]
        records = _loads(b"[" + b",".join(line for _, line in numbered) + b"]")
        if not isinstance(records, list) or len(records) != len(numbered):
            records = [_loads(line) for _, line in numbered]
        if base is None and not (
            numbered and isinstance(records[0], dict) and records[0].get("type") == "session"
        ):
            raise self._corrupt(
                path, numbered[0][0] if numbered else 1, "the first line is not a session line", session_id
            )
        info = base.info if base is not None else None
        done = len(base.messages) if base is not None else 0  # messages committed before ``data``
        pending: list[tuple[int, dict[str, Any]]] = []
        committed: list[tuple[int, dict[str, Any]]] = []
        bad: list[int] = []
        start = base.committed_end if base is not None else 0
        committed_end, last_line, line_count = start, base.last_line if base else b"", first - 1
        offsets = _line_ends(lines)
        for (n, line), record in zip(numbered, records, strict=True):
            if isinstance(record, dict) and record.get("type") == "session":
                state = self._info(record, path, n)
                if bad and not self.repair:
                    raise self._corrupt(path, bad[0], "not a valid JSON record", session_id)
                for b in bad:
                    log.warning("%s, line %d: skipped a corrupt line (repair=True)", path, b)
                bad.clear()
                committed.extend(pending)
                pending.clear()
                count = done + len(committed)
                if not self.repair and state.message_count != count:
                    raise self._corrupt(
                        path, n, f"session line counts {state.message_count} messages, the file has {count}"
                    )
                info = attrs.evolve(state, message_count=count)
                committed_end, last_line, line_count = start + offsets[n - first], line + b"\n", n
            elif isinstance(record, dict) and "role" in record:
                pending.append((n, record))
            else:
                bad.append(n)
        assert info is not None
        if info.id != session_id:
            raise self._corrupt(path, None, f"holds session {info.id!r}, not {session_id!r}")
        after = [n for n, _ in pending] + bad  # complete lines after the last session line
        if after and not torn.strip():  # ...that end the file: not a write cut short
            self._corrupt_end(path, max(after), session_id)
        if start + len(data) > committed_end:
            log.debug(
                "%s: ignoring %d byte(s) after the last complete turn",
                path,
                start + len(data) - committed_end,
            )
        messages = self._messages(committed, path, session_id)
        if base is not None:
            messages = base.messages + messages
        return _Parsed(info, messages, committed_end, last_line, line_count)

    def _messages(
        self, numbered: list[tuple[int, dict[str, Any]]], path: Path, session_id: str
    ) -> list[Message]:
        try:
            return messages_from_dicts(record for _, record in numbered)
        except ValueError:
            pass
        out: list[Message] = []
        for n, record in numbered:
            try:
                out.extend(messages_from_dicts([record]))
            except ValueError as exc:
                if not self.repair:
                    raise self._corrupt(path, n, f"not a valid message: {exc}", session_id) from None
                log.warning("%s, line %d: skipped an unreadable message (repair=True): %s", path, n, exc)
        return out

    def _load(self, session_id: str) -> _Parsed:
        """Read a session under a shared lock. A file this store read before is read from
        where it stopped, when it is still the same file with the same committed prefix
        (same inode, and the last session line read is still there at the same offset).
        """
        with self._lock(session_id, exclusive=False) as f:
            if f is None:
                self._reads.pop(session_id, None)
                raise self.not_found(session_id)
            st = os.fstat(f.fd)
            cached = self._reads.get(session_id)
            base = None
            if cached is not None and cached[0] == (st.st_dev, st.st_ino):
                old = cached[1]
                at = old.committed_end - len(old.last_line)
                if st.st_size >= old.committed_end and f.read_at(at, len(old.last_line)) == old.last_line:
                    base = old
            if base is None:
                parsed = self._parse(f.read_all(), f.path, session_id)
            else:
                rest = f.read_at(base.committed_end, st.st_size - base.committed_end)
                parsed = self._parse(rest, f.path, session_id, base) if rest else base
            with self._cache_lock:
                self._reads[session_id] = ((st.st_dev, st.st_ino), parsed)
                self._reads.move_to_end(session_id)
                while len(self._reads) > self.cached_sessions:
                    self._reads.popitem(last=False)
            return parsed

    # -- reading ---------------------------------------------------------------------------

    def _find(self, session_id: str, *, wait: bool = True) -> SessionInfo | None:
        with self._lock(session_id, exclusive=False, wait=wait) as f:
            return None if f is None else self._tail(f, session_id)[0]

    async def find_session(self, session_id: str) -> SessionInfo | None:
        return await self._call_inline(self._find, session_id)

    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        infos = await self._call(self._all_infos)
        if user_id is not None:
            infos = [i for i in infos if i.user_id == user_id]
        infos.sort(key=lambda i: i.id)
        infos.sort(key=lambda i: i.updated_at, reverse=True)
        return infos[offset : None if limit is None else offset + limit]

    def _all_infos(self) -> list[SessionInfo]:
        try:
            names = sorted(n for n in os.listdir(self.path) if n.endswith(SUFFIX) and not n.startswith("."))
        except FileNotFoundError:
            return []
        infos = []
        for name in names:
            path = self.path / name
            try:
                with locked(path, exclusive=False, timeout=self.lock_timeout) as f:
                    if f is None:
                        continue
                    info = self._tail(f, None)[0]
            except (CorruptSessionError, SchemaVersionError, OSError) as exc:
                log.warning("%s: left out of the listing: %s", path, exc)
                continue
            if file_name(info.id) == name:
                infos.append(info)
            else:
                log.warning(
                    "%s: left out of the listing: it holds session %r, whose file is another", path, info.id
                )
        return infos

    async def read_messages(self, session_id: str) -> list[Message]:
        return list((await self._call(self._load, session_id)).messages)

    # -- writing ---------------------------------------------------------------------------

    async def write_session(self, info: SessionInfo, messages: list[Message], *, replace: bool) -> None:
        await self._call(self._put, self.file_of(info.id), info, messages, replace)

    def _put(self, path: Path, info: SessionInfo, messages: list[Message], replace: bool) -> None:
        make_private_dir(self.path)
        content = self._content(info, messages)
        if not replace:  # linked into place only if the name is free
            if not atomic_write(path, content, replace=False, fsync=self.fsync):
                raise self.exists(info.id)
            return
        with locked(path, exclusive=True, timeout=self.lock_timeout):  # writers of the old file finish first
            atomic_write(path, content, replace=True, fsync=self.fsync)

    def _content(self, info: SessionInfo, messages: list[Message]) -> bytes:
        if not messages:
            return _state_line(attrs.evolve(info, message_count=0))
        return _state_line(attrs.evolve(info, message_count=0)) + _message_lines(messages) + _state_line(info)

    async def extend_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        check_session_id(session_id)
        return await self._small_write(self._extend, session_id, messages, change)

    def _extend(
        self, session_id: str, messages: list[Message], change: InfoChange, *, wait: bool = True
    ) -> SessionInfo:
        lines = _message_lines(messages)
        with self._lock(session_id, exclusive=True, wait=wait) as f:
            if f is None:
                raise self.not_found(session_id)
            info = change(self._repair_tail(f, session_id))
            line = _state_line(info)  # the messages and their commit line, written at once:
            self._write(f, lines + line, session_id, info, line)
            return info

    def _write(self, f: LockedFile, data: bytes, session_id: str, info: SessionInfo, line: bytes) -> None:
        """Write ``data`` (which ends with ``line``, the session line of ``info``)."""
        try:
            write_all(f.fd, data)
            if self.fsync:
                os.fsync(f.fd)
        except BaseException:
            self._known.pop(session_id, None)
            raise
        self._known[session_id] = (_identity(f.fd), info, line)

    async def rewrite_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        return await self._call(self._rewrite, session_id, messages, change)

    def _rewrite(self, session_id: str, messages: list[Message], change: InfoChange) -> SessionInfo:
        with self._lock(session_id, exclusive=True) as f:
            if f is None:
                raise self.not_found(session_id)
            info = change(self._tail(f, session_id)[0])
            atomic_write(f.path, self._content(info, messages), replace=True, fsync=self.fsync)
            return info

    async def delete_session(self, session_id: str) -> bool:
        return await self._call(self._delete, session_id)

    def _delete(self, session_id: str) -> bool:
        with self._lock(session_id, exclusive=True) as f:
            if f is None:
                return False
            os.unlink(f.path)
            return True


def _identity(fd: int) -> tuple[int, ...]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _line_ends(lines: list[bytes]) -> list[int]:
    """Byte offset just after each line's newline."""
    ends = []
    total = 0
    for line in lines:
        total += len(line) + 1
        ends.append(total)
    return ends
