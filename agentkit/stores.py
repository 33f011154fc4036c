"""Session stores: the :class:`Store` contract, and moving sessions between stores.

A store keeps sessions: a :class:`SessionInfo` (ids, title, model, timestamps, total usage,
free-form metadata) and the session's messages, written one *turn* at a time. The contract
every backend keeps (and :mod:`agentkit.testing.conformance.stores` checks, rule by rule;
``docs/stores.md`` lists them all):

- ``append_turn`` stores all of a turn's messages or none of them;
- ``load_messages`` answers a tool call that never got its result (a crash mid-tool) with an
  "interrupted" error result, so a resumed conversation is valid and the tool is not re-run;
- ``put_session`` writes a session exactly as given, which is what makes :func:`migrate`
  between any two stores lossless.

The rules are written once, in :class:`Store`'s public methods (template methods): they
check their arguments and decide what changes, and a backend only reads and writes (a few
abstract methods). Stores are async-first: backends that block (files, SQLite) do their I/O
off the event loop. They are picked by name through the ``register_stores`` hook:
``"memory"`` is built in, ``"sqlite"`` (the default) and ``"jsonl"`` come from the
agentkit-sqlite and agentkit-jsonl plugins. :func:`open_store` turns a name, a
``"name:location"`` string, a mapping or a ready store into a :class:`Store`. The export
format and :func:`migrate` live in ``_session_export``, re-exported here.
"""

from __future__ import annotations

import abc
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from .errors import PluginError, SessionNotFoundError, StorageError
from .messages import AssistantMessage, Message, SystemMessage, ToolMessage, Usage, UserMessage

if TYPE_CHECKING:  # lazily re-exported below (they build on Store)
    from ._session_export import (
        export_session,
        import_session,
        info_from_dict,
        info_to_dict,
        migrate,
        session_from_dict,
        session_to_dict,
    )

__all__ = [
    "DEFAULT_STORE",
    "EXPORT_FORMAT",
    "INTERRUPTED_RESULT",
    "MAX_SESSION_ID_LENGTH",
    "UNSET",
    "InfoChange",
    "SearchHit",
    "SessionInfo",
    "Store",
    "Unset",
    "agentkit_home",
    "answer_interrupted",
    "check_messages",
    "check_metadata",
    "check_owner",
    "check_session_id",
    "close_shared_stores",
    "decode_stored",
    "export_session",
    "forked_info",
    "import_session",
    "info_from_dict",
    "info_to_dict",
    "migrate",
    "open_store",
    "search_terms",
    "session_from_dict",
    "session_to_dict",
    "shared_store",
    "utcnow",
]

log = logging.getLogger("agentkit.stores")

#: The store used when none is named.
DEFAULT_STORE: Final = "sqlite"
#: The ``format`` tag of an exported session document.
EXPORT_FORMAT: Final = "agentkit.session"
#: Session ids longer than this are refused, the same by every backend.
MAX_SESSION_ID_LENGTH: Final = 512
#: Content of the result that answers a tool call whose result was never stored.
INTERRUPTED_RESULT: Final = (
    "interrupted: this tool call did not complete (the program stopped before its result was "
    "stored); it was not run again"
)


class Unset:
    """The type of :data:`UNSET`: an argument that was not given (``None`` is a value: "no title")."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


#: "Not given", for arguments where ``None`` is a value (``update_session(id, title=None)``
#: removes the title; leaving ``title`` out keeps it).
UNSET: Final = Unset()

#: What a backend applies to a session's info inside its write: the base class's rule.
InfoChange: TypeAlias = Callable[["SessionInfo"], "SessionInfo"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, at the microsecond (what stores record)."""
    return datetime.now(UTC)


def agentkit_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$AGENTKIT_HOME``, else ``~/.agentkit``: where default stores, caches and the user's
    config live. ``environ`` replaces ``os.environ`` (for config checks)."""
    home = (os.environ if environ is None else environ).get("AGENTKIT_HOME")
    return Path(home).expanduser() if home else Path.home() / ".agentkit"


def check_session_id(session_id: object) -> str:
    """Return ``session_id`` if every backend can store it; raise a StorageError saying why not.

    Any non-empty text up to :data:`MAX_SESSION_ID_LENGTH` characters that is valid Unicode is
    allowed (``"../x"`` and ``"/etc/passwd"`` too): backends that map ids to file names encode
    them, so an id never becomes a path.
    """
    if not isinstance(session_id, str):
        raise StorageError(f"a session id must be a string, not {type(session_id).__name__}")
    if not session_id:
        raise StorageError("a session id must not be empty", hint="pass a name such as 'chat-42'")
    if len(session_id) > MAX_SESSION_ID_LENGTH:
        raise StorageError(
            f"session id is {len(session_id)} characters long; the limit is {MAX_SESSION_ID_LENGTH}",
            hint="use a shorter id (a hash of a long key works)",
        )
    try:
        session_id.encode("utf-8")
    except UnicodeEncodeError:
        raise StorageError("a session id must be valid Unicode text (it holds a lone surrogate)") from None
    return session_id


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON round-tripped copy of ``metadata``, so every backend stores the same thing."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
    try:
        return dict(json.loads(json.dumps(dict(metadata))))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-able: {exc}") from None


def decode_stored(
    texts: Sequence[str], *, first: int = 0, corrupt: Callable[[int, ValueError], StorageError]
) -> list[Message]:
    """Messages from the JSON text of each as a backend stored it (rows, lines), decoded in bulk.

    A text that is not one message raises ``corrupt(number, error)``: the backend's
    :class:`~agentkit.errors.CorruptSessionError` naming where it is (``first`` numbers the
    first text, counting from 0).
    """
    from .serialization import messages_from_dicts, messages_from_json_texts

    try:
        return messages_from_json_texts(texts)
    except ValueError:
        pass  # find the text at fault, one by one
    for number, text in enumerate(texts, start=first):
        try:
            messages_from_dicts([json.loads(text)])
        except ValueError as exc:
            raise corrupt(number, exc) from None
    raise AssertionError("texts that decode one by one decode together")  # pragma: no cover


def check_messages(messages: Iterable[Message]) -> list[Message]:
    """The messages as a list; anything else raises TypeError before a backend writes a byte."""
    out = list(messages)
    for m in out:
        if not isinstance(m, SystemMessage | UserMessage | AssistantMessage | ToolMessage):
            raise TypeError(f"expected agentkit messages, got {type(m).__name__}")
    return out


def _as_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


# -- values ------------------------------------------------------------------------------------


@attrs.frozen
class SessionInfo:
    """What a store knows about a session besides its messages.

    ``usage`` is summed over every stored turn; ``model`` is the model of the latest turn;
    ``metadata`` is free-form JSON-able data (the agent's name, tags, ...).
    """

    id: str
    user_id: str
    created_at: datetime
    updated_at: datetime
    title: str | None = None
    model: str | None = None
    message_count: int = 0
    usage: Usage = attrs.field(factory=Usage)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_as_dict, hash=False)


@attrs.frozen
class SearchHit:
    """A message matching a search: its session, its position there, role and text."""

    session_id: str
    index: int
    role: str
    text: str


# -- the contract ------------------------------------------------------------------------------


class Store(abc.ABC):
    """Where sessions live. Every method is async; blocking backends work off the event loop.

    Callers use the public methods below. The contract's rules live here, once: each public
    method checks its arguments and computes what changes, then calls one of the few methods
    a backend implements (marked *abstract*):

    - reading: :meth:`find_session`, :meth:`list_sessions`, :meth:`read_messages`;
    - writing: :meth:`write_session`, :meth:`extend_session`, :meth:`rewrite_session`,
      :meth:`delete_session`.

    The writing methods are atomic and take the new session info, or a function (an
    :data:`InfoChange`) that the backend applies to the stored info inside its transaction
    or lock. A backend may also override :meth:`search` (the default reads every session:
    fine for small stores; SQLite uses a full-text index) and :meth:`fork_session` (to copy
    inside one transaction). Missing sessions raise
    :class:`~agentkit.errors.SessionNotFoundError` (build it with :meth:`not_found`).
    """

    #: Short name for messages (the registered name, usually).
    name: str = "store"

    # -- what a backend implements -----------------------------------------------------------

    @abc.abstractmethod
    async def find_session(self, session_id: str) -> SessionInfo | None:
        """The session's info, or ``None`` when there is no such session."""

    @abc.abstractmethod
    async def list_sessions(
        self, *, user_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """Sessions, most recently updated first (ties by id), optionally of one user only."""

    @abc.abstractmethod
    async def read_messages(self, session_id: str) -> list[Message]:
        """The messages exactly as stored, oldest first (see :meth:`load_messages`)."""

    @abc.abstractmethod
    async def write_session(self, info: SessionInfo, messages: list[Message], *, replace: bool) -> None:
        """Store a whole session exactly as given: ``info`` (its ``message_count`` is
        ``len(messages)``) and ``messages``, atomically.

        With ``replace``, a session with that id is replaced; without, an existing one is
        left alone and ``self.exists(info.id)`` is raised.
        """

    @abc.abstractmethod
    async def extend_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        """Atomically append ``messages`` (maybe none) and set the info to ``change(info)``
        of the stored info; return the new info. Nothing is written if ``change`` raises."""

    @abc.abstractmethod
    async def rewrite_session(
        self, session_id: str, messages: list[Message], change: InfoChange
    ) -> SessionInfo:
        """Atomically replace every message by ``messages`` and the info by ``change(info)``;
        return the new info."""

    @abc.abstractmethod
    async def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages; ``False`` when there was none."""

    async def aclose(self) -> None:
        """Release files, connections and threads. The store must not be used afterwards."""

    def close(self) -> None:
        """Synchronous :meth:`aclose`, for code without an event loop."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the contract, built on the above ----------------------------------------------------

    async def create_session(
        self,
        session_id: str,
        *,
        user_id: str | None = None,
        title: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionInfo:
        """Create an empty session (``user_id`` defaults to the session id).

        Raises StorageError when the id is taken.
        """
        check_session_id(session_id)
        now = utcnow()
        info = SessionInfo(
            session_id, user_id or session_id, now, now, title, model, 0, Usage(), check_metadata(metadata)
        )
        await self.write_session(info, [], replace=False)
        return info

    async def update_session(
        self,
        session_id: str,
        *,
        title: str | Unset | None = UNSET,
        model: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset = UNSET,
    ) -> SessionInfo:
        """Change what is given (``metadata`` replaces the whole mapping); keeps the history."""
        changes: dict[str, Any] = {}
        if not isinstance(title, Unset):
            changes["title"] = title
        if not isinstance(model, Unset):
            changes["model"] = model
        if not isinstance(metadata, Unset):
            changes["metadata"] = check_metadata(metadata)

        def change(info: SessionInfo) -> SessionInfo:
            return attrs.evolve(info, updated_at=utcnow(), **changes)

        return await self.extend_session(session_id, [], change)

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        usage: Usage | None = None,
        model: str | None = None,
        title: str | None = None,
    ) -> SessionInfo:
        """Append one turn atomically: every message or none.

        ``usage`` is added to the session's total, ``model`` (when given) becomes its model,
        and ``title`` becomes its title only if it has none yet: the first title wins. An
        empty turn changes nothing (and still raises for a missing session).
        """
        turn = check_messages(messages)
        if not turn:
            return await self.get_session(session_id)
        added = len(turn)

        def change(info: SessionInfo) -> SessionInfo:
            return SessionInfo(
                info.id,
                info.user_id,
                info.created_at,
                utcnow(),
                info.title if info.title is not None else title,
                model if model is not None else info.model,
                info.message_count + added,
                info.usage + usage if usage is not None else info.usage,
                info.metadata,
            )

        return await self.extend_session(session_id, turn, change)

    async def replace_messages(self, session_id: str, messages: Sequence[Message]) -> SessionInfo:
        """Replace the whole history atomically (usage, title and metadata are kept)."""
        new = check_messages(messages)

        def change(info: SessionInfo) -> SessionInfo:
            return attrs.evolve(info, updated_at=utcnow(), message_count=len(new))

        return await self.rewrite_session(session_id, new, change)

    async def put_session(self, info: SessionInfo, messages: Sequence[Message]) -> SessionInfo:
        """Write a session exactly as given (ids, timestamps, usage, metadata), replacing any
        session with that id. ``info.message_count`` is taken from ``messages``. Used by
        import and :func:`migrate`, which must be lossless.
        """
        check_session_id(info.id)
        stored = check_messages(messages)
        info = attrs.evolve(info, message_count=len(stored), metadata=check_metadata(info.metadata))
        await self.write_session(info, stored, replace=True)
        return info

    async def get_session(self, session_id: str) -> SessionInfo:
        """The session's info; raises SessionNotFoundError when it does not exist."""
        info = await self.find_session(session_id)
        if info is None:
            raise self.not_found(session_id)
        return info

    async def open_session(
        self,
        session_id: str,
        *,
        user_id: str | None = None,
        title: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionInfo:
        """Load the session, or create it. A session of another user is refused."""
        info = await self.find_session(session_id)
        if info is None:
            try:
                return await self.create_session(
                    session_id, user_id=user_id, title=title, model=model, metadata=metadata
                )
            except StorageError:
                info = await self.find_session(session_id)  # created by someone else meanwhile
                if info is None:
                    raise
        check_owner(info, user_id, self.name)
        return info

    async def load_messages(self, session_id: str) -> list[Message]:
        """The history to continue from: as stored, with interrupted tool calls answered."""
        return answer_interrupted(await self.read_messages(session_id))

    async def fork_session(
        self,
        source_id: str,
        new_id: str,
        *,
        upto: int | None = None,
        user_id: str | None = None,
        title: str | None = None,
    ) -> SessionInfo:
        """Copy a session's first ``upto`` messages (all when ``None``; negative counts from
        the end, like a slice) into a new session. Title, model and metadata are copied;
        usage starts at zero.
        """
        source = await self.get_session(source_id)
        check_session_id(new_id)
        messages = (await self.read_messages(source_id))[:upto]
        info = forked_info(source, new_id, len(messages), user_id=user_id, title=title)
        await self.write_session(info, messages, replace=False)
        return info

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Messages whose text holds every word of ``query`` (case-insensitive, whole words,
        see :func:`search_terms`), newest session first, later messages first within a session.

        This default reads the sessions one by one: fine for small stores. A session that
        cannot be read is left out, with a logged warning.
        """
        terms = set(search_terms(query))
        if not terms or limit <= 0:
            return []
        if session_id is not None:
            found = await self.find_session(session_id)
            infos = [found] if found is not None and user_id in (None, found.user_id) else []
        else:
            infos = await self.list_sessions(user_id=user_id)
        hits: list[SearchHit] = []
        for info in infos:
            try:
                messages = await self.read_messages(info.id)
            except SessionNotFoundError:
                continue  # deleted meanwhile
            except StorageError as exc:
                log.warning("search left out session %r of the %s store: %s", info.id, self.name, exc)
                continue
            for index in range(len(messages) - 1, -1, -1):
                text = messages[index].text
                if terms <= set(search_terms(text)):
                    hits.append(SearchHit(info.id, index, messages[index].role, text))
                    if len(hits) >= limit:
                        return hits
        return hits

    # -- errors backends raise ---------------------------------------------------------------

    def not_found(self, session_id: str) -> SessionNotFoundError:
        """The error for a session that does not exist."""
        return SessionNotFoundError(
            f"no session {session_id!r} in the {self.name} store",
            store=self.name,
            session_id=session_id,
            hint="list sessions with `agentkit sessions list`",
        )

    def exists(self, session_id: str) -> StorageError:
        """The error for creating a session whose id is taken."""
        return StorageError(f"session {session_id!r} already exists", store=self.name, session_id=session_id)


def forked_info(
    source: SessionInfo, new_id: str, count: int, *, user_id: str | None = None, title: str | None = None
) -> SessionInfo:
    """The info of a new session ``new_id`` holding the first ``count`` messages of ``source``:
    owner, title (unless given), model and metadata (plus ``forked_from``) copied, usage zero."""
    now = utcnow()
    return SessionInfo(
        id=new_id,
        user_id=user_id or source.user_id,
        created_at=now,
        updated_at=now,
        title=title if title is not None else source.title,
        model=source.model,
        message_count=count,
        metadata={**source.metadata, "forked_from": source.id},
    )


def check_owner(info: SessionInfo, user_id: str | None, store: str) -> None:
    """Refuse a session of another user than ``user_id`` (``None``: anyone's)."""
    if user_id is not None and info.user_id != user_id:
        raise StorageError(
            f"session {info.id!r} belongs to another user than {user_id!r}",
            store=store,
            session_id=info.id,
            hint="use another session id, or the user id the session was created with",
        )


# -- interrupted tool calls --------------------------------------------------------------------


def answer_interrupted(messages: Sequence[Message]) -> list[Message]:
    """Answer every tool call that has no result with an "interrupted" error result.

    A result must follow its call (after the call's assistant message, among the tool
    messages right after it); a missing one is inserted there, so providers accept the
    history and the loop never runs the tool again.
    """
    if _all_answered(messages):  # the usual case, checked quickly: a long history is a copy
        return list(messages)
    out: list[Message] = []
    pending: dict[str, str] = {}  # call id -> tool name, still unanswered, in call order
    for message in messages:
        if pending:
            if isinstance(message, ToolMessage):
                pending.pop(message.tool_call_id, None)
            else:
                out.extend(
                    ToolMessage(i, name, INTERRUPTED_RESULT, is_error=True) for i, name in pending.items()
                )
                pending = {}
        out.append(message)
        if isinstance(message, AssistantMessage) and message.tool_calls:
            pending = {c.id: c.name for c in message.tool_calls}
    out.extend(ToolMessage(i, name, INTERRUPTED_RESULT, is_error=True) for i, name in pending.items())
    return out


def _all_answered(messages: Sequence[Message]) -> bool:
    """Whether every tool call has its result; False also for anything unusual (subclasses)."""
    pending: set[str] | None = None
    for message in messages:
        cls = type(message)
        if cls is ToolMessage:
            if pending:
                pending.discard(message.tool_call_id)  # type: ignore[union-attr]
            continue
        if pending or (cls is not UserMessage and cls is not SystemMessage and cls is not AssistantMessage):
            return False
        if cls is AssistantMessage and message.tool_calls:  # type: ignore[union-attr]
            pending = {c.id for c in message.tool_calls}  # type: ignore[union-attr]
    return not pending


# -- search ------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def search_terms(text: str) -> list[str]:
    """The words of ``text`` as search compares them: letters and digits, lower-cased."""
    return [w.casefold() for w in _WORD.findall(text)]


# -- finding stores by name --------------------------------------------------------------------


def _split_spec(spec: str | Mapping[str, Any], settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise StorageError(
                f'a store given as a table needs a "name" (for example "sqlite"), got {spec!r}'
            )
        return name, {**options, **settings}
    name, sep, location = spec.partition(":")
    options = dict(settings)
    if sep:
        options.setdefault("path", location)
    return name.strip(), options


def open_store(
    spec: Store | str | Mapping[str, Any] | None = None, *, host: Any = None, **settings: Any
) -> Store:
    """A store from a ready Store, a registered name, ``"name:path"``, or ``{"name": ..., **settings}``.

    ``None`` means the default store, :data:`DEFAULT_STORE` (SQLite at
    ``$AGENTKIT_HOME/agentkit.db``). Each call opens a new store; the caller closes it.
    """
    if isinstance(spec, Store):
        if settings:
            raise TypeError("settings cannot be applied to a ready Store instance")
        return spec
    if spec is None:
        spec = DEFAULT_STORE
    if not isinstance(spec, str | Mapping):
        raise TypeError(f"a store is a Store, a name or a mapping, not {type(spec).__name__}")
    name, options = _split_spec(spec, settings)
    if host is None:
        from .plugins import get_host

        host = get_host()
    registry = host.registry("store")
    if name not in registry:
        hint = "install it with `pip install agentkit-sqlite`" if name == "sqlite" else None
        hint = "install it with `pip install agentkit-jsonl`" if name == "jsonl" else hint
        raise PluginError(registry.unknown_message(name), hint=hint)
    entry = registry.get(name)
    from .registry import build_from

    try:  # a misspelt setting is a ConfigError with a "did you mean"
        store = build_from(entry, options, key_path="storage", wrap=False)
    except TypeError as exc:
        raise StorageError(
            f"store {name!r} (from {entry.plugin}) rejected its settings: {exc}", store=name
        ) from exc
    if not isinstance(store, Store):
        raise PluginError(
            f"store {name!r} from plugin {entry.plugin!r} built a {type(store).__name__}, not an agentkit Store",
            plugin=entry.plugin,
        )
    return store


# One store per (spec, $AGENTKIT_HOME) of each plugin host. Hosts are weak keys: a host that is
# dropped (tests, servers that build agents) is not kept alive here, nor are its stores. The
# process's own host is ``None``, which cannot be a weak key.
_shared: weakref.WeakKeyDictionary[Any, dict[tuple[str, str | None], Store]] = weakref.WeakKeyDictionary()
_shared_unhosted: dict[tuple[str, str | None], Store] = {}
_shared_lock = threading.Lock()


def shared_store(spec: Store | str | Mapping[str, Any] | None = None, *, host: Any = None) -> Store:
    """Like :func:`open_store`, but one store per distinct spec for the whole process.

    Sessions use it so that many ``agent.session(...)`` calls share one connection or
    worker thread. The key includes ``$AGENTKIT_HOME``, which moves default stores.
    """
    if isinstance(spec, Store):
        return spec
    key = (json.dumps(spec, sort_keys=True, default=str), os.environ.get("AGENTKIT_HOME"))
    with _shared_lock:
        stores = _shared_unhosted if host is None else _shared.setdefault(host, {})
        store = stores.get(key)
        if store is None:
            store = stores[key] = open_store(spec, host=host)
        return store


def close_shared_stores() -> None:
    """Close every store :func:`shared_store` opened (at shutdown, or between tests)."""
    with _shared_lock:
        stores = [*_shared_unhosted.values(), *(store for per_host in _shared.values() for store in per_host.values())]
        _shared_unhosted.clear()
        _shared.clear()
    for store in stores:
        store.close()


_EXPORT = frozenset(
    {
        "export_session",
        "import_session",
        "info_from_dict",
        "info_to_dict",
        "migrate",
        "session_from_dict",
        "session_to_dict",
    }
)


def __getattr__(name: str) -> Any:
    if name == "InMemoryStore":  # lives with the built-in plugin that registers it
        from .default_plugins.stores import InMemoryStore

        return InMemoryStore
    if name in _EXPORT:  # imported on first use: _session_export builds on this module
        from . import _session_export

        value = getattr(_session_export, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
