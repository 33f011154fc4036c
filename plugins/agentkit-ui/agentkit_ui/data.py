"""What the pages show, read through the :class:`agentkit.Store` API only (so any store
plugin works): pages of the session list, search, and one session's messages with what the
pages derive from them (which messages are model calls, which result answers which call).

Every method runs on the store's event loop (:class:`~agentkit_ui.server.UIServer` keeps
one). A session's messages are read once and kept for the few sessions viewed last, as long
as the store reports the same ``updated_at`` and message count; a page of a 10,000-message
session then costs only its own rendering.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs

from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.stores import SessionInfo, Store

__all__ = ["SessionList", "SessionView", "Sessions", "view_of"]

#: Message hits the search asks the store for (sessions with more are still found by the rest).
SEARCH_HITS = 1000


@attrs.frozen
class SessionView:
    """One session as the session page shows it."""

    info: SessionInfo
    messages: tuple[Message, ...]
    #: the index of every assistant message (one per model call: a "turn" of the chart), in order
    turns: tuple[int, ...]
    #: tool call id -> index of the tool message holding its result
    results: Mapping[str, int]
    #: tool call id -> index of the assistant message that made the call
    calls: Mapping[str, int]


@attrs.frozen
class SessionList:
    """One page of the session list: the sessions, whether more follow, and for a search the
    text of a matching message in each session found by its messages."""

    sessions: tuple[SessionInfo, ...]
    more: bool
    snippets: Mapping[str, str] = attrs.field(factory=dict)


def view_of(info: SessionInfo, messages: list[Message]) -> SessionView:
    turns: list[int] = []
    results: dict[str, int] = {}
    calls: dict[str, int] = {}
    for index, message in enumerate(messages):
        if isinstance(message, AssistantMessage):
            turns.append(index)
            for call in message.tool_calls:
                calls.setdefault(call.id, index)
        elif isinstance(message, ToolMessage):
            results.setdefault(message.tool_call_id, index)
    return SessionView(info, tuple(messages), tuple(turns), results, calls)


class Sessions:
    """Reads for the pages, with a small cache of the sessions viewed last."""

    def __init__(self, store: Store, *, cache_size: int = 4) -> None:
        self.store = store
        self._cache: OrderedDict[str, tuple[Any, SessionView]] = OrderedDict()
        self._cache_size = cache_size

    async def page(self, query: str, page: int, per_page: int) -> SessionList:
        """Sessions ``per_page`` at a time, most recently updated first; with a ``query``, only
        those whose id, title, user or model holds it, or with a message holding its words."""
        start = (page - 1) * per_page
        if not query.strip():
            infos = await self.store.list_sessions(limit=per_page + 1, offset=start)
            return SessionList(tuple(infos[:per_page]), len(infos) > per_page)
        needle = query.strip().casefold()
        snippets: dict[str, str] = {}
        for hit in await self.store.search(query, limit=SEARCH_HITS):
            snippets.setdefault(hit.session_id, hit.text)
        found = [
            info
            for info in await self.store.list_sessions()
            if info.id in snippets
            or any(
                needle in (value or "").casefold()
                for value in (info.id, info.title, info.user_id, info.model)
            )
        ]
        shown = found[start : start + per_page]
        return SessionList(
            tuple(shown),
            len(found) > start + per_page,
            {i.id: snippets[i.id] for i in shown if i.id in snippets},
        )

    async def session(self, session_id: str) -> SessionView:
        """The session and its messages as stored; raises SessionNotFoundError."""
        info = await self.store.get_session(session_id)
        version = (info.updated_at, info.message_count)
        cached = self._cache.get(session_id)
        if cached is not None and cached[0] == version:
            self._cache.move_to_end(session_id)
            return attrs.evolve(cached[1], info=info)
        view = view_of(info, await self.store.read_messages(session_id))
        self._cache[session_id] = (version, view)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return view
