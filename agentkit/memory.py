"""Long-term memory: what an agent remembers about a user across sessions.

A :class:`Memory` backend stores :class:`MemoryRecord` values and ranks them for a query.
Every record has a scope:

- ``"user"``: one user's memories, shared by every agent and session of that user;
- ``"session"``: one user's memories within one session;
- ``"agent"``: the agent's own knowledge, shared by all its users (holds no user id).

A search for user U never returns another user's ``user`` or ``session`` records: the scope
condition is part of every backend's query, not a filter applied afterwards.

:meth:`Memory.for_user` gives a :class:`MemoryView` bound to one user (``remember``,
``recall``, ``forget``, ``list``, ``update``), which is also what ``session.remember`` uses.
The loop calls :func:`recall_block` before a run's first model call and offers
:func:`memory_tools` to the model when asked to.
"""

from __future__ import annotations

import abc
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import stores
from .errors import MemoryStoreError

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .tools import Tool

__all__ = [
    "MAX_MEMORY_CHARS",
    "Memory",
    "MemoryHit",
    "MemoryRecord",
    "MemoryView",
    "Scope",
    "check_changes",
    "check_filters",
    "check_metadata",
    "check_text",
    "check_ttl",
    "memory_tools",
    "new_record",
    "recall_block",
    "resolve_memory",
    "visible_to",
]

Scope = Literal["user", "agent", "session"]
SCOPES: tuple[str, ...] = ("user", "agent", "session")

#: The longest memory text accepted. Memories are facts, not documents.
MAX_MEMORY_CHARS = 4000

BLOCK_HEADER = (
    "Long-term memory: facts remembered from earlier conversations with this user. "
    "Use them when relevant; they may be outdated."
)


@attrs.frozen
class MemoryRecord:
    """One remembered fact. Times are UNIX seconds; ``expires_at`` ``None`` means never."""

    id: str
    text: str
    scope: Scope = "user"
    user_id: str | None = None
    agent: str | None = None
    session_id: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (time.time() if now is None else now)


@attrs.frozen
class MemoryHit:
    """A record found by a search, with its relevance (higher is better)."""

    record: MemoryRecord
    score: float


def check_text(text: object, backend: str) -> str:
    """The text stripped, or a MemoryStoreError saying why it cannot be stored."""
    if not isinstance(text, str):
        raise MemoryStoreError(f"memory text must be a string, got {type(text).__name__}", backend=backend)
    stripped = text.strip()
    if not stripped:
        raise MemoryStoreError("memory text is empty", backend=backend, hint="remember a non-empty fact")
    if len(stripped) > MAX_MEMORY_CHARS:
        raise MemoryStoreError(
            f"memory text is {len(stripped):,} characters; the limit is {MAX_MEMORY_CHARS:,}",
            backend=backend,
            hint="store a short fact, or split the text into several memories",
        )
    return stripped


def check_filters(filters: object, backend: str) -> dict[str, list[Any]]:
    """Metadata filters normalised to ``{key: [accepted values]}``.

    ``{"topic": "food"}`` matches records whose metadata ``topic`` is ``"food"``;
    ``{"topic": ["food", "travel"]}`` matches either. Values are JSON scalars.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise MemoryStoreError(
            f"filters must be a mapping of metadata key to value(s), got {type(filters).__name__}",
            backend=backend,
        )
    out: dict[str, list[Any]] = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key:
            raise MemoryStoreError(f"filter keys must be non-empty strings, got {key!r}", backend=backend)
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        if not values:
            raise MemoryStoreError(f"filter {key!r} has an empty list of values", backend=backend)
        for v in values:
            if v is not None and not isinstance(v, str | int | float | bool):
                raise MemoryStoreError(
                    f"filter {key!r} has a value of type {type(v).__name__}; use strings, numbers or booleans",
                    backend=backend,
                )
        out[key] = values
    return out


def check_metadata(metadata: object, backend: str) -> dict[str, Any]:
    """Metadata as a JSON-able dict (the stores' rule), or a MemoryStoreError saying why not."""
    try:
        return stores.check_metadata(metadata)  # type: ignore[arg-type]
    except TypeError as exc:
        raise MemoryStoreError(str(exc), backend=backend) from None


def check_ttl(ttl: object, backend: str) -> float | None:
    """The expiry time for ``ttl`` seconds from now (``None``: never), or a clear error."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise MemoryStoreError(f"ttl must be a positive number of seconds, got {ttl!r}", backend=backend)
    return time.time() + ttl


def check_changes(text: str | None, metadata: object, ttl: object, backend: str) -> dict[str, Any]:
    """The validated fields an ``update`` changes (nothing is changed when one is bad)."""
    changes: dict[str, Any] = {}
    if text is not None:
        changes["text"] = check_text(text, backend)
    if metadata is not None:
        changes["metadata"] = check_metadata(metadata, backend)
    if ttl is not None:
        changes["expires_at"] = check_ttl(ttl, backend)
    return changes


def check_scope(scope: str, user_id: str | None, agent: str | None, session_id: str | None, backend: str) -> None:
    if scope not in SCOPES:
        raise MemoryStoreError(f"unknown scope {scope!r}; scopes: {', '.join(SCOPES)}", backend=backend)
    if scope in ("user", "session") and not user_id:
        raise MemoryStoreError(f"a {scope!r} memory needs a user_id", backend=backend)
    if scope == "session" and not session_id:
        raise MemoryStoreError("a 'session' memory needs a session_id", backend=backend)
    if scope == "agent" and not agent:
        raise MemoryStoreError("an 'agent' memory needs the agent's name", backend=backend)


def new_record(
    text: str,
    *,
    scope: Scope,
    user_id: str | None,
    agent: str | None,
    session_id: str | None,
    metadata: Mapping[str, Any] | None,
    ttl: float | None,
    backend: str,
) -> MemoryRecord:
    """Validate everything, then build the record (nothing is stored on bad input)."""
    text = check_text(text, backend)
    check_scope(scope, user_id, agent, session_id, backend)
    meta = check_metadata(metadata, backend)
    expires_at = check_ttl(ttl, backend)
    now = time.time()
    return MemoryRecord(
        id=uuid.uuid4().hex,
        text=text,
        scope=scope,
        user_id=user_id if scope != "agent" else None,
        agent=agent,
        session_id=session_id if scope == "session" else None,
        metadata=meta,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )


def visible_to(record: MemoryRecord, user_id: str, agent: str | None, session_id: str | None) -> bool:
    """The scope rule every backend applies: what user ``user_id`` may recall."""
    if record.scope == "user":
        return record.user_id == user_id
    if record.scope == "session":
        return record.user_id == user_id and session_id is not None and record.session_id == session_id
    return agent is not None and record.agent == agent


def matches_filters(record: MemoryRecord, filters: Mapping[str, list[Any]]) -> bool:
    return all(record.metadata.get(key) in values for key, values in filters.items())


_WORD = re.compile(r"\w+", re.UNICODE)


def keywords(text: str) -> list[str]:
    """Lower-case word tokens, the unit of keyword ranking."""
    return [w.lower() for w in _WORD.findall(text)]


class Memory(abc.ABC):
    """Base class of memory backends. All methods are async; :class:`MemoryView` adds sync ones."""

    name: str = "memory"

    @abc.abstractmethod
    async def add(
        self,
        text: str,
        *,
        scope: Scope = "user",
        user_id: str | None = None,
        agent: str | None = None,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        """Store a memory. Bad input raises MemoryStoreError and stores nothing."""

    @abc.abstractmethod
    async def search(
        self,
        query: str,
        *,
        user_id: str,
        agent: str | None = None,
        session_id: str | None = None,
        k: int = 5,
        filters: Mapping[str, Any] | None = None,
    ) -> list[MemoryHit]:
        """The ``k`` records visible to ``user_id`` most relevant to ``query``, best first."""

    @abc.abstractmethod
    async def get(self, memory_id: str) -> MemoryRecord | None:
        """One record by id, or ``None`` (also when expired)."""

    @abc.abstractmethod
    async def list(
        self,
        *,
        user_id: str | None = None,
        agent: str | None = None,
        scope: Scope | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[MemoryRecord]:
        """Records, newest first, for a user to inspect and correct what is stored."""

    @abc.abstractmethod
    async def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> MemoryRecord:
        """Change a record's text, metadata or expiry. An unknown id raises MemoryStoreError."""

    @abc.abstractmethod
    async def delete(self, memory_id: str) -> bool:
        """Delete one record; ``False`` when there was none."""

    async def aclose(self) -> None:
        """Release resources. Safe to call more than once."""

    def for_user(self, user_id: str, *, agent: str | None = None, session_id: str | None = None) -> MemoryView:
        """A view bound to one user (and optionally an agent and a session)."""
        return MemoryView(self, user_id, agent=agent, session_id=session_id)


class MemoryView:
    """One user's memories: ``remember``, ``recall``, ``forget``, ``list``, ``update``.

    Each method has an async twin prefixed with ``a`` (``await view.arecall(...)``); the sync
    ones also work inside a running event loop.
    """

    def __init__(self, memory: Memory, user_id: str, *, agent: str | None = None, session_id: str | None = None):
        if not user_id:
            raise MemoryStoreError("a memory view needs a user_id", backend=memory.name)
        self.memory = memory
        self.user_id = user_id
        self.agent = agent
        self.session_id = session_id

    def __repr__(self) -> str:
        return f"MemoryView(user_id={self.user_id!r}, agent={self.agent!r}, session_id={self.session_id!r})"

    async def aremember(
        self, text: str, metadata: Mapping[str, Any] | None = None, *, scope: Scope = "user", ttl: float | None = None
    ) -> MemoryRecord:
        return await self.memory.add(
            text,
            scope=scope,
            user_id=self.user_id,
            agent=self.agent,
            session_id=self.session_id,
            metadata=metadata,
            ttl=ttl,
        )

    async def arecall(self, query: str, k: int = 5, filters: Mapping[str, Any] | None = None) -> list[MemoryHit]:
        return await self.memory.search(
            query, user_id=self.user_id, agent=self.agent, session_id=self.session_id, k=k, filters=filters
        )

    async def aforget(self, memory_id: str) -> bool:
        record = await self.memory.get(memory_id)
        if record is None or not visible_to(record, self.user_id, self.agent, self.session_id):
            return False  # another user's memory is not this user's to delete
        return await self.memory.delete(memory_id)

    async def alist(self, limit: int = 100, offset: int = 0) -> list[MemoryRecord]:
        return await self.memory.list(user_id=self.user_id, limit=limit, offset=offset)

    async def aupdate(
        self, memory_id: str, text: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> MemoryRecord:
        record = await self.memory.get(memory_id)
        if record is None or not visible_to(record, self.user_id, self.agent, self.session_id):
            raise MemoryStoreError(f"no memory {memory_id!r} for this user", backend=self.memory.name)
        return await self.memory.update(memory_id, text=text, metadata=metadata)

    def remember(
        self, text: str, metadata: Mapping[str, Any] | None = None, *, scope: Scope = "user", ttl: float | None = None
    ) -> MemoryRecord:
        return _run(lambda: self.aremember(text, metadata, scope=scope, ttl=ttl))

    def recall(self, query: str, k: int = 5, filters: Mapping[str, Any] | None = None) -> list[MemoryHit]:
        return _run(lambda: self.arecall(query, k, filters))

    def forget(self, memory_id: str) -> bool:
        return _run(lambda: self.aforget(memory_id))

    def list(self, limit: int = 100, offset: int = 0) -> list[MemoryRecord]:
        return _run(lambda: self.alist(limit, offset))

    def update(self, memory_id: str, text: str | None = None, metadata: Mapping[str, Any] | None = None) -> MemoryRecord:
        return _run(lambda: self.aupdate(memory_id, text, metadata))


def _run(factory: Any) -> Any:
    from ._sync import run_sync

    return run_sync(factory)


def resolve_memory(spec: Any, *, host: PluginHost | None = None) -> Memory | None:
    """A Memory from an object, a registered name (``"sqlite"``) or ``{"name": ..., **settings}``."""
    if spec is None or isinstance(spec, Memory):
        return spec
    if isinstance(spec, str):
        name, settings = spec, {}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        settings = {k: v for k, v in spec.items() if k != "name"}
        name = spec["name"]
    else:
        raise MemoryStoreError(
            f"memory must be a Memory, a registered name or {{'name': ...}}, got {type(spec).__name__}"
        )
    from .plugins import get_host

    entry = (host or get_host()).registry("memory").get(name)
    from .registry import build_from

    try:  # a misspelt setting is a ConfigError with a "did you mean"
        memory = build_from(entry, settings, key_path="memory", wrap=False)
    except TypeError as exc:
        raise MemoryStoreError(f"memory backend {name!r}: {exc}", backend=name) from None
    if not isinstance(memory, Memory):
        raise MemoryStoreError(f"memory backend {name!r} built a {type(memory).__name__}, not a Memory")
    return memory


async def recall_block(
    memory: Memory,
    *,
    user_id: str | None,
    agent_name: str | None,
    session_id: str | None,
    query: str,
    token_budget: int = 500,
    k: int = 5,
    model: str | None = None,
) -> str | None:
    """The memories most relevant to ``query``, as a delimited block within ``token_budget``.

    ``None`` when there is no user, no query, or nothing relevant.
    """
    if not user_id or not query.strip():
        return None
    hits = await memory.search(query, user_id=user_id, agent=agent_name, session_id=session_id, k=k)
    if not hits:
        return None
    count = _token_counter(model)
    lines: list[str] = []
    used = count(BLOCK_HEADER) + 8
    for hit in hits:
        line = f"- {hit.record.text}"
        cost = count(line)
        if used + cost > token_budget:
            break
        lines.append(line)
        used += cost
    if not lines:
        return None
    return "<memory>\n" + BLOCK_HEADER + "\n" + "\n".join(lines) + "\n</memory>"


def _token_counter(model: str | None) -> Any:
    try:
        from .tokens import count_tokens
    except ImportError:  # pragma: no cover - the tokens module ships with the core
        return lambda text: math.ceil(len(text) / 4)
    return lambda text: count_tokens(text, model or "")


def memory_tools(memory: Memory) -> list[Tool]:
    """``remember`` and ``recall`` tools, bound to the run's user (from its RunContext)."""
    from .run_context import RunContext
    from .tools import tool

    def view(ctx: RunContext) -> MemoryView:
        if not ctx.user_id:
            raise MemoryStoreError("this run has no user_id, so there is no memory to use", backend=memory.name)
        agent = getattr(ctx.agent, "name", None)
        return memory.for_user(ctx.user_id, agent=agent, session_id=ctx.session_id)

    @tool
    async def remember(text: str, ctx: RunContext) -> str:
        """Store a fact about the user for future conversations.

        Args:
            text: One short, self-contained fact, e.g. "Prefers window seats".
        """
        record = await view(ctx).aremember(text)
        return f"remembered (id {record.id})"

    @tool
    async def recall(query: str, ctx: RunContext, k: int = 5) -> str:
        """Search what you remember about the user.

        Args:
            query: What to look for.
            k: How many memories to return at most.
        """
        hits = await view(ctx).arecall(query, k=max(1, min(k, 20)))
        if not hits:
            return "nothing remembered about that"
        return "\n".join(f"- {h.record.text} (id {h.record.id})" for h in hits)

    return [remember, recall]


def rank_keywords(records: Sequence[MemoryRecord], query: str, k: int) -> list[MemoryHit]:
    """BM25 over ``records`` for ``query``: the in-memory backend's ranking."""
    terms = set(keywords(query))
    if not terms or not records:
        return []
    docs = [keywords(r.text) for r in records]
    n = len(docs)
    avg = sum(len(d) for d in docs) / n or 1.0
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    hits = []
    for record, doc in zip(records, docs, strict=True):
        score = 0.0
        for term in terms:
            tf = doc.count(term)
            if not tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(doc) / avg))
        if score > 0:
            hits.append(MemoryHit(record, score))
    hits.sort(key=lambda h: (-h.score, -h.record.updated_at))
    return hits[:k]
