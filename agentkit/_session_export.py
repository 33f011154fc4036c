"""Sessions outside a store: agentkit's backend-neutral export format, and moving sessions
between stores (:func:`migrate`). Public home: :mod:`agentkit.stores`.

An export document is ``{"format": "agentkit.session", "format_version": N, "session":
{...}, "messages": [...]}``: the session's info with ISO 8601 timestamps, and the messages in
the session format of :mod:`agentkit.serialization`. ``put_session`` writes it back exactly,
which is what makes a migration between any two stores lossless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from .errors import CorruptSessionError, StorageError
from .messages import Message, Usage
from .stores import EXPORT_FORMAT, SessionInfo, Store, check_metadata, check_session_id, open_store

__all__ = [
    "export_session",
    "import_session",
    "info_from_dict",
    "info_to_dict",
    "migrate",
    "session_from_dict",
    "session_to_dict",
]


def _time_to_text(value: datetime) -> str:
    return value.isoformat()


def _time_from_text(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def info_to_dict(info: SessionInfo) -> dict[str, Any]:
    """A SessionInfo as JSON-able data (timestamps as ISO 8601 text, usage as the converter's)."""
    from .serialization import to_dict

    out: dict[str, Any] = {
        "id": info.id,
        "user_id": info.user_id,
        "title": info.title,
        "model": info.model,
        "created_at": _time_to_text(info.created_at),
        "updated_at": _time_to_text(info.updated_at),
        "message_count": info.message_count,
        "usage": to_dict(info.usage),
        "metadata": dict(info.metadata),
    }
    return out


def info_from_dict(data: Mapping[str, Any]) -> SessionInfo:
    """The inverse of :func:`info_to_dict`; raises ValueError naming what is wrong."""
    from .serialization import from_dict

    if not isinstance(data, Mapping):
        raise ValueError(f"session info must be an object, got {type(data).__name__}")
    unknown = set(data) - {
        "id", "user_id", "title", "model", "created_at", "updated_at", "message_count", "usage", "metadata",
    }  # fmt: skip
    if unknown:
        raise ValueError(f"unknown session field(s): {', '.join(sorted(unknown))}")
    try:
        session_id = data["id"]
        created = _time_from_text(data["created_at"])
    except KeyError as exc:
        raise ValueError(f"session info lacks {exc.args[0]!r}") from None
    try:
        usage: Usage = from_dict(data.get("usage") or {}, Usage)
    except Exception as exc:
        raise ValueError(f"bad usage: {exc}") from None
    return SessionInfo(
        id=check_session_id(session_id),
        user_id=str(data.get("user_id") or session_id),
        created_at=created,
        updated_at=_time_from_text(data.get("updated_at") or data["created_at"]),
        title=data.get("title"),
        model=data.get("model"),
        message_count=int(data.get("message_count") or 0),
        usage=usage,
        metadata=check_metadata(data.get("metadata")),
    )


def session_to_dict(info: SessionInfo, messages: Sequence[Message]) -> dict[str, Any]:
    """A whole session in agentkit's backend-neutral export format."""
    from .serialization import FORMAT_VERSION, messages_to_dicts

    return {
        "format": EXPORT_FORMAT,
        "format_version": FORMAT_VERSION,
        "session": info_to_dict(attrs.evolve(info, message_count=len(messages))),
        "messages": messages_to_dicts(messages),
    }


def session_from_dict(
    data: Mapping[str, Any], *, source: str | None = None
) -> tuple[SessionInfo, list[Message]]:
    """Read an exported session; raises CorruptSessionError naming ``source`` and the problem."""
    from .serialization import FORMAT_VERSION, messages_from_dicts

    def bad(problem: str) -> CorruptSessionError:
        where = f"{source}: " if source else ""
        return CorruptSessionError(f"{where}not an agentkit session export: {problem}", path=source)

    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise bad(f'expected an object with "format": "{EXPORT_FORMAT}"')
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CorruptSessionError(
            f"{source + ': ' if source else ''}session export format version {version!r} is not supported "
            f"(this agentkit reads up to {FORMAT_VERSION})",
            path=source,
            hint="upgrade agentkit to import it",
        )
    try:
        info = info_from_dict(data.get("session"))  # type: ignore[arg-type]
        raw = data.get("messages")
        if not isinstance(raw, list):
            raise ValueError('"messages" must be a list')
        messages = messages_from_dicts(raw)
    except (ValueError, StorageError) as exc:
        raise bad(str(exc)) from None
    return attrs.evolve(info, message_count=len(messages)), messages


async def export_session(store: Store, session_id: str) -> dict[str, Any]:
    """A session as an export document (messages exactly as stored)."""
    info = await store.get_session(session_id)
    return session_to_dict(info, await store.read_messages(session_id))


async def import_session(
    store: Store,
    data: Mapping[str, Any],
    *,
    session_id: str | None = None,
    overwrite: bool = False,
) -> SessionInfo:
    """Write an export document into ``store`` (under ``session_id`` if given).

    An existing session with that id is an error unless ``overwrite``.
    """
    info, messages = session_from_dict(data)
    if session_id is not None:
        info = attrs.evolve(info, id=check_session_id(session_id))
    if not overwrite and await store.find_session(info.id) is not None:
        raise StorageError(
            f"session {info.id!r} already exists in the {store.name} store",
            store=store.name,
            session_id=info.id,
            hint="import under another id, or overwrite it",
        )
    return await store.put_session(info, messages)


async def migrate(
    source: Store | str | Mapping[str, Any],
    target: Store | str | Mapping[str, Any],
    session_ids: Iterable[str] | None = None,
    *,
    on_conflict: str = "error",
) -> list[str]:
    """Copy sessions (all when ``session_ids`` is None) from one store to another, losslessly.

    ``on_conflict`` says what to do with ids the target already has: ``"error"`` (checked
    before anything is copied), ``"skip"`` or ``"replace"``. Stores given by name are opened
    and closed here. Returns the ids copied.
    """
    if on_conflict not in ("error", "skip", "replace"):
        raise ValueError(f"on_conflict must be 'error', 'skip' or 'replace', not {on_conflict!r}")
    src, close_src = (source, False) if isinstance(source, Store) else (open_store(source), True)
    try:
        dst, close_dst = (target, False) if isinstance(target, Store) else (open_store(target), True)
        try:
            if session_ids is None:
                ids = [info.id for info in await src.list_sessions()]
            else:
                ids = list(dict.fromkeys(session_ids))
                for sid in ids:
                    await src.get_session(sid)
            existing = [sid for sid in ids if await dst.find_session(sid) is not None]
            if existing and on_conflict == "error":
                shown = ", ".join(repr(s) for s in existing[:5]) + (" ..." if len(existing) > 5 else "")
                raise StorageError(
                    f"the {dst.name} store already has {len(existing)} of these sessions: {shown}",
                    store=dst.name,
                    hint="migrate with on_conflict='skip' or 'replace'",
                )
            copied = []
            for sid in ids:
                if sid in existing and on_conflict == "skip":
                    continue
                info = await src.get_session(sid)
                await dst.put_session(info, await src.read_messages(sid))
                copied.append(sid)
            return copied
        finally:
            if close_dst:
                await dst.aclose()
    finally:
        if close_src:
            await src.aclose()
