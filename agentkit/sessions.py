"""Sessions: conversations that persist in a store.

::

    session = agent.session("chat-42", user_id="user123")
    session.run("My name is Ada.")
    session.run("What is my name?")     # the model sees the first exchange
    session.history                     # every stored message
    session.info.usage                  # tokens and cost over the whole session

A run loads the stored history, runs the agent on it, and stores the run's new messages as
*one turn* when, and only when, the run completes. A run that fails or is aborted stores
nothing (a session that did not exist yet is not created: it is created with its first
turn); one that hits ``max_turns`` stores what it completed (its unanswered tool calls
answered as interrupted) and then raises. Every method has an async twin prefixed with
``a``; the sync ones also work inside a running event loop.

A session without an id is *ephemeral*: it gets a generated id and, unless the agent has a
store configured (``storage=``), lives in a store of its own in memory, dropped when its
``with`` block ends. A session is callable, ``ask(prompt)`` being ``ask.run(prompt)``::

    with agent.session() as ask:        # or: async with ... and await ask.arun(...)
        ask("My name is Alice")
        ask("What's my name?")          # the model sees the first exchange
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from typing import Any

from ._sync import iterate_sync, run_sync
from .errors import MaxTurnsError, MemoryStoreError, StorageError
from .events import RunCompleted, RunResult, StreamEvent
from .messages import Message, UserMessage
from .stores import SessionInfo, Store, check_owner, check_session_id, open_store, shared_store

__all__ = ["TITLE_LENGTH", "Session"]

#: A session without a title gets the start of its first question, this long at most.
TITLE_LENGTH = 80

_RESERVED = frozenset({"history", "session_id", "user_id"})


class Session:
    """A persistent conversation of ``agent``, kept in the agent's store.

    :param agent: the :class:`~agentkit.Agent`; its ``storage`` (a Store, a registered name,
        ``"name:path"``, a mapping, or ``None`` for the default SQLite store) says where the
        session lives.
    :param session_id: any non-empty text (up to 512 characters); ``None`` for an ephemeral
        session: a generated id, and a store of its own in memory unless the agent has a
        store configured.
    :param user_id: who the session belongs to; defaults to the stored owner, or to the
        session id for a new session. A session of another user is refused.
    :param store: a store to use instead of the agent's.

    ``with session:`` (or ``async with``) gives the session; leaving the block closes the
    in-memory store of an ephemeral session, and nothing else: turns stored in the agent's
    store stay there, and the shared store stays open for other sessions.
    """

    def __init__(
        self,
        agent: Any,
        session_id: str | None = None,
        user_id: str | None = None,
        *,
        store: Store | None = None,
    ) -> None:
        self.agent = agent
        # an ephemeral session without a configured store keeps its conversation in memory
        self._owns_store = session_id is None and store is None and getattr(agent, "storage", None) is None
        self.id = uuid.uuid4().hex if session_id is None else check_session_id(session_id)
        self._user_id = user_id
        self._store = store
        self._ended = False
        self._info: SessionInfo | None = None
        self._memory: Any = None

    def __repr__(self) -> str:
        return f"Session({self.id!r}, user_id={self.user_id!r})"

    def __call__(self, prompt: Any, **options: Any) -> RunResult:
        """``ask(prompt)`` is ``ask.run(prompt)``."""
        return self.run(prompt, **options)

    # -- with / async with -------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End an ephemeral session kept in memory: its store is closed and its conversation
        dropped. A session in the agent's store is left as it is (its turns are stored)."""
        if self._owns_store:
            store, self._store, self._ended = self._store, None, True
            if store is not None:
                await store.aclose()

    def close(self) -> None:
        """:meth:`aclose` from synchronous code (``with session:`` calls it at the end)."""
        if self._owns_store:
            store, self._store, self._ended = self._store, None, True
            if store is not None:
                store.close()

    @property
    def user_id(self) -> str:
        if self._user_id is not None:
            return self._user_id
        return self._info.user_id if self._info is not None else self.id

    @property
    def store(self) -> Store:
        """The store this session lives in: the agent's, opened once per process, or for an
        ephemeral session without one, an in-memory store of its own."""
        if self._ended:
            raise StorageError(
                f"session {self.id!r} has ended: it was kept in memory until its with block ended",
                store="memory",
                session_id=self.id,
                hint="start another agent.session(), or give the agent a store (storage='sqlite') to keep conversations",
            )
        if self._store is None:
            host = getattr(self.agent, "host", None)
            if self._owns_store:
                self._store = open_store("memory", host=host)
            else:
                self._store = shared_store(getattr(self.agent, "storage", None), host=host)
        return self._store

    # -- running -----------------------------------------------------------------------------

    async def arun(self, prompt: Any, **options: Any) -> RunResult:
        """Run the agent on ``prompt`` after the stored history; store the turn if it completes.

        ``options`` are the agent's run options (``images``, ``deps``, ``model``, ...).
        """
        history = await self._prepare(options)
        try:
            result = await self.agent.arun(
                prompt, history=history, session_id=self.id, user_id=self.user_id, **options
            )
        except MaxTurnsError as exc:
            if isinstance(exc.partial, RunResult):
                await self._store_turn(exc.partial, options)
            raise
        await self._store_turn(result, options)
        return result

    async def astream(self, prompt: Any, **options: Any) -> AsyncGenerator[StreamEvent, None]:
        """Like the agent's ``astream``; the turn is stored before :class:`RunCompleted` is
        yielded, so a consumer that sees the end knows the turn is saved. Leaving early
        cancels the run and stores nothing.
        """
        history = await self._prepare(options)
        stream = self.agent.astream(
            prompt, history=history, session_id=self.id, user_id=self.user_id, **options
        )
        async with contextlib.aclosing(stream):
            try:
                async for event in stream:
                    if isinstance(event, RunCompleted):
                        await self._store_turn(event.result, options)
                    yield event
            except MaxTurnsError as exc:
                if isinstance(exc.partial, RunResult):
                    await self._store_turn(exc.partial, options)
                raise

    def run(self, prompt: Any, **options: Any) -> RunResult:
        """:meth:`arun` from synchronous code."""

        return run_sync(lambda: self.arun(prompt, **options))

    def stream(self, prompt: Any, **options: Any) -> Iterator[StreamEvent]:
        """:meth:`astream` from synchronous code: an iterator of events."""

        return iterate_sync(lambda: self.astream(prompt, **options))

    async def _prepare(self, options: Mapping[str, Any]) -> list[Message]:
        clash = sorted(_RESERVED & set(options))
        if clash:
            raise TypeError(f"a session supplies {', '.join(clash)} itself; do not pass {', '.join(clash)}=")
        return await self._stored_history()

    async def _stored_history(self) -> list[Message]:
        """The history to continue from; a session not stored yet has none (and is not created)."""
        info = await self.store.find_session(self.id)
        if info is None:
            return []
        check_owner(info, self._user_id, self.store.name)
        self._info = info
        return await self.store.load_messages(self.id)

    async def _store_turn(self, result: RunResult, options: Mapping[str, Any]) -> None:
        if not result.messages:
            return
        info = self._info or await self.ainfo()  # a new session is created with its first turn
        title = _title(result.messages) if info is None or info.title is None else None
        model = options.get("model") or getattr(self.agent, "model", None)
        self._info = await self.store.append_turn(
            self.id,
            result.messages,
            usage=result.usage,
            model=model if isinstance(model, str) else None,
            title=title,
        )

    # -- the stored conversation -------------------------------------------------------------

    async def ainfo(self) -> SessionInfo:
        """The session's info (title, owner, model, timestamps, usage), creating the session
        in the store if it does not exist yet."""
        name = getattr(self.agent, "name", None)
        self._info = await self.store.open_session(
            self.id,
            user_id=self._user_id,
            model=getattr(self.agent, "model", None),
            metadata={"agent": name} if isinstance(name, str) else None,
        )
        return self._info

    async def ahistory(self) -> list[Message]:
        """Every stored message, oldest first, interrupted tool calls answered (none for a
        session not stored yet, which reading does not create)."""
        return await self._stored_history()

    async def aset_history(self, messages: Iterable[Message]) -> SessionInfo:
        """Replace the stored conversation (title, usage and metadata stay)."""
        await self.ainfo()
        self._info = await self.store.replace_messages(self.id, list(messages))
        return self._info

    async def aadd_messages(self, messages: Iterable[Message]) -> SessionInfo:
        """Append messages as one turn, all or none (for conversations built by hand)."""
        await self.ainfo()
        self._info = await self.store.append_turn(self.id, list(messages))
        return self._info

    async def aclear(self) -> SessionInfo:
        """Forget the conversation; the session, its title and usage stay."""
        return await self.aset_history([])

    async def aset_title(self, title: str | None) -> SessionInfo:
        await self.ainfo()
        self._info = await self.store.update_session(self.id, title=title)
        return self._info

    async def afork(self, new_id: str, *, upto: int | None = None, title: str | None = None) -> Session:
        """A new session with this one's first ``upto`` messages (all when ``None``; negative
        counts from the end). The two then go their own ways."""
        await self.ainfo()
        await self.store.fork_session(self.id, new_id, upto=upto, user_id=self.user_id, title=title)
        return Session(self.agent, new_id, user_id=self.user_id, store=self.store)

    async def adelete(self) -> bool:
        """Delete the session and its messages from the store."""
        self._info = None
        return await self.store.delete_session(self.id)

    @property
    def info(self) -> SessionInfo:
        return run_sync(self.ainfo)

    @property
    def history(self) -> list[Message]:
        return run_sync(self.ahistory)

    @property
    def title(self) -> str | None:
        return self.info.title

    def set_history(self, messages: Iterable[Message]) -> SessionInfo:
        messages = list(messages)
        return run_sync(lambda: self.aset_history(messages))

    def add_messages(self, messages: Iterable[Message]) -> SessionInfo:
        messages = list(messages)
        return run_sync(lambda: self.aadd_messages(messages))

    def clear(self) -> SessionInfo:
        return run_sync(self.aclear)

    def set_title(self, title: str | None) -> SessionInfo:
        return run_sync(lambda: self.aset_title(title))

    def fork(self, new_id: str, *, upto: int | None = None, title: str | None = None) -> Session:
        return run_sync(lambda: self.afork(new_id, upto=upto, title=title))

    def delete(self) -> bool:
        return run_sync(self.adelete)

    # -- long-term memory --------------------------------------------------------------------

    def _memory_view(self) -> Any:
        memory = getattr(self.agent, "memory", None)  # the agent's one resolved Memory
        if memory is None:
            raise MemoryStoreError(
                "this agent has no long-term memory", hint="give the agent one: Agent(..., memory='sqlite')"
            )
        if isinstance(memory, str | Mapping):  # an agent-like object that does not resolve names
            if self._memory is None:
                from .memory import resolve_memory

                self._memory = resolve_memory(memory, host=getattr(self.agent, "host", None))
            memory = self._memory
        return memory.for_user(self.user_id, agent=getattr(self.agent, "name", None), session_id=self.id)

    async def aremember(self, text: str, metadata: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """Store a memory for this session's user (see :class:`agentkit.memory.MemoryView`)."""
        return await self._memory_view().aremember(text, metadata, **options)

    async def arecall(self, query: str, k: int = 5, **options: Any) -> Any:
        """Memories of this session's user that match ``query``, best first."""
        return await self._memory_view().arecall(query, k, **options)

    async def aforget(self, memory_id: str) -> bool:
        """Delete one of this user's memories; ``False`` if there is no such memory for them."""
        return bool(await self._memory_view().aforget(memory_id))

    def remember(self, text: str, metadata: Mapping[str, Any] | None = None, **options: Any) -> Any:
        return run_sync(lambda: self.aremember(text, metadata, **options))

    def recall(self, query: str, k: int = 5, **options: Any) -> Any:
        return run_sync(lambda: self.arecall(query, k, **options))

    def forget(self, memory_id: str) -> bool:
        return run_sync(lambda: self.aforget(memory_id))


def _title(messages: Iterable[Message]) -> str | None:
    for message in messages:
        if isinstance(message, UserMessage):
            line = next((ln.strip() for ln in message.text.splitlines() if ln.strip()), "")
            if line:
                return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"
    return None
