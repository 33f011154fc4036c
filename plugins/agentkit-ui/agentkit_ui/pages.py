"""The viewer's HTML, built on the server: every text that comes from a store (what models,
users and tools wrote, titles, ids, metadata) goes through :func:`html.escape`, and the pages
hold no script at all (``Content-Security-Policy`` forbids any). Tool calls expand with
``<details>``; long sessions come a page of messages at a time (server-side paging).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from agentkit.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from agentkit.stores import SessionInfo

from .chart import tokens_chart
from .data import SessionList, SessionView

__all__ = ["error_page", "list_page", "session_page", "session_url"]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def session_url(session_id: str, page: int | None = None, anchor: int | None = None) -> str:
    params: dict[str, Any] = {"id": session_id}
    if page is not None and page > 1:
        params["page"] = page
    return "/session?" + urlencode(params) + (f"#m{anchor}" if anchor is not None else "")


def _layout(title: str, body: str, *, store: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)} · agentkit ui</title>"
        '<link rel="stylesheet" href="/static/style.css"></head><body>'
        f'<header class="top"><a href="/" class="home">agentkit ui</a><span class="store">{_e(store)} store'
        '</span><span class="ro">read-only</span></header>'
        f"<main>{body}</main></body></html>\n"
    )


def _when(value: datetime) -> str:
    local = value.astimezone()
    return f'<time datetime="{_e(value.isoformat())}">{_e(local.strftime("%Y-%m-%d %H:%M"))}</time>'


def _cost(value: float | None) -> str:
    if value is None:
        return "&ndash;"
    if value == 0 or value >= 100:
        return f"${value:,.2f}"
    return f"${value:.6f}" if value < 0.01 else f"${value:,.4f}"


def _pretty_json(text: str) -> str | None:
    """``text`` indented, when it is a JSON object or array; else ``None``."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def _text_block(text: str, css: str = "text") -> str:
    pretty = _pretty_json(text)
    if pretty is not None:
        return f'<pre class="json">{_e(pretty)}</pre>'
    return f'<div class="{css}">{_e(text)}</div>' if text else ""


# -- the session list ----------------------------------------------------------------------------


def list_page(result: SessionList, *, query: str, page: int, store: str) -> str:
    rows = []
    for info in result.sessions:
        usage = info.usage
        snippet = result.snippets.get(info.id)
        found = f'<div class="snippet">{_e(_clip(snippet, 160))}</div>' if snippet else ""
        rows.append(
            "<tr>"
            f'<td class="title"><a href="{_e(session_url(info.id))}">{_e(info.title or info.id)}</a>'
            f'<div class="sid">{_e(info.id)}</div>{found}</td>'
            f'<td class="user">{_e(info.user_id)}</td>'
            f'<td class="model">{(_e(info.model) if info.model else "&ndash;")}</td>'
            f'<td class="updated">{_when(info.updated_at)}</td>'
            f'<td class="num turns">{usage.requests:,}</td>'
            f'<td class="num messages">{info.message_count:,}</td>'
            f'<td class="num tokens" title="{usage.input_tokens:,} in, {usage.output_tokens:,} out">'
            f"{usage.total_tokens:,}</td>"
            f'<td class="num cost">{_cost(usage.cost)}</td>'
            "</tr>"
        )
    if rows:
        table = (
            '<table class="sessions"><thead><tr><th>Title</th><th>User</th><th>Model</th><th>Updated</th>'
            '<th class="num" title="model calls">Turns</th><th class="num">Messages</th>'
            '<th class="num">Tokens</th><th class="num">Cost</th></tr></thead><tbody>'
            + "".join(rows)
            + "</tbody></table>"
        )
    elif query:
        table = f'<p class="empty">No session matches “{_e(query)}”.</p>'
    else:
        table = '<p class="empty">No sessions in this store yet. Runs with a session store them here.</p>'

    def link(n: int) -> str:
        params: dict[str, Any] = {"q": query} if query else {}
        if n > 1:
            params["page"] = n
        return "/?" + urlencode(params) if params else "/"

    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="{_e(link(page - 1))}">← newer</a>')
    if result.more:
        nav.append(f'<a rel="next" href="{_e(link(page + 1))}">older →</a>')
    body = (
        '<h1>Sessions</h1><form class="search" method="get" action="/" role="search">'
        f'<input type="search" name="q" value="{_e(query)}" placeholder="title, user, model, id or words said" '
        'aria-label="Search sessions" autofocus><button type="submit">Search</button></form>'
        + table
        + (f'<nav class="pager">{"".join(nav)}<span>page {page}</span></nav>' if nav else "")
    )
    return _layout("Search: " + query if query else "Sessions", body, store=store)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- one session -------------------------------------------------------------------------------


def session_page(view: SessionView, *, page: int, per_page: int, store: str) -> str:
    info = view.info
    count = len(view.messages)
    pages = max(1, math.ceil(count / per_page))
    page = min(max(page, 1), pages)
    start, stop = (page - 1) * per_page, min(page * per_page, count)
    turn_of = {index: n for n, index in enumerate(view.turns)}
    usages = [_usage_of(view.messages[i]) for i in view.turns]
    chart = tokens_chart(
        [
            (u.input_tokens if u else 0, u.output_tokens if u else 0, _duration(view.messages[i]))
            for u, i in zip(usages, view.turns, strict=True)
        ],
        lambda n: session_url(info.id, view.turns[n] // per_page + 1, view.turns[n]),
    )
    items = []
    for index in range(start, stop):
        message = view.messages[index]
        if isinstance(message, ToolMessage) and start <= view.calls.get(message.tool_call_id, -1) < stop:
            continue  # shown inside its call
        items.append(_message(view, index, message, turn_of.get(index)))
    nav = _pager(info.id, page, pages, count, start, stop)
    body = (
        f'<p class="crumbs"><a href="/">Sessions</a> / {_e(info.id)}</p>'
        f"<h1>{_e(info.title or info.id)}</h1>"
        + _summary(
            info, len(view.turns), [d for i in view.turns if (d := _duration(view.messages[i])) is not None]
        )
        + (
            f'<section class="usage-chart"><h2>Tokens per model call</h2>{chart}'
            '<p class="legend"><span class="key in"></span>input <span class="key out"></span>output</p></section>'
            if chart
            else ""
        )
        + nav
        + f'<ol class="messages" start="{start + 1}">'
        + "".join(items)
        + "</ol>"
        + (nav if stop - start > 10 else "")
    )
    return _layout(info.title or info.id, body, store=store)


def _summary(info: SessionInfo, turns: int, durations: list[float]) -> str:
    u = info.usage
    facts = [
        ("Session", _e(info.id)),
        ("User", _e(info.user_id)),
        ("Model", (_e(info.model) if info.model else "&ndash;")),
        ("Created", _when(info.created_at)),
        ("Updated", _when(info.updated_at)),
        ("Messages", f"{info.message_count:,}"),
        ("Model calls", f"{turns:,}"),
        (
            "Tokens",
            f"{u.total_tokens:,} ({u.input_tokens:,} in, {u.output_tokens:,} out"
            + (f", {u.cached_tokens:,} cached" if u.cached_tokens else "")
            + (f", {u.reasoning_tokens:,} reasoning" if u.reasoning_tokens else "")
            + ")",
        ),
        ("Cost", _cost(u.cost)),
        (
            "Model time",
            f"{sum(durations):,.2f} s"
            + (f" ({len(durations):,} of {turns:,} calls timed)" if len(durations) < turns else "")
            if durations
            else "&ndash;",
        ),
    ]
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    meta = ""
    if info.metadata:
        meta = (
            '<details class="metadata"><summary>metadata</summary><pre class="json">'
            + _e(json.dumps(info.metadata, indent=2, ensure_ascii=False, default=str))
            + "</pre></details>"
        )
    return f'<dl class="summary">{rows}</dl>{meta}'


def _pager(session_id: str, page: int, pages: int, count: int, start: int, stop: int) -> str:
    if pages <= 1:
        return (
            f'<p class="range">{count:,} message{"s" if count != 1 else ""}</p>'
            if count
            else '<p class="empty">This session has no messages.</p>'
        )
    links = []
    if page > 1:
        links.append(f'<a rel="first" href="{_e(session_url(session_id, 1))}">« first</a>')
        links.append(f'<a rel="prev" href="{_e(session_url(session_id, page - 1))}">&lsaquo; previous</a>')
    if page < pages:
        links.append(f'<a rel="next" href="{_e(session_url(session_id, page + 1))}">next &rsaquo;</a>')
        links.append(f'<a rel="last" href="{_e(session_url(session_id, pages))}">last »</a>')
    jump = (
        f'<form method="get" action="/session"><input type="hidden" name="id" value="{_e(session_id)}">'
        f'<input type="number" name="page" min="1" max="{pages}" value="{page}" aria-label="page">'
        f'<button type="submit">go</button></form>'
    )
    return (
        f'<nav class="pager">{"".join(links)}<span class="range">messages {start + 1:,}&ndash;{stop:,} of '
        f"{count:,} · page {page} of {pages}</span>{jump}</nav>"
    )


def _duration(message: Message) -> float | None:
    return message.duration if isinstance(message, AssistantMessage) else None


def _usage_of(message: Message) -> Any:
    return message.usage if isinstance(message, AssistantMessage) else None


def _message(view: SessionView, index: int, message: Message, turn: int | None) -> str:
    head = f'<a class="num" href="#m{index}">#{index + 1}</a><span class="role">{_e(message.role)}</span>'
    if isinstance(message, SystemMessage):
        body = f'<details class="system"><summary>system prompt</summary>{_text_block(message.content)}</details>'
    elif isinstance(message, UserMessage):
        body = _text_block(message.text) + _images(view, index, message.images)
    elif isinstance(message, AssistantMessage):
        head += f'<span class="turn">call {turn + 1}</span>' if turn is not None else ""
        body = ""
        if message.reasoning:
            body += f'<details class="reasoning"><summary>reasoning</summary>{_text_block(message.reasoning)}</details>'
        body += _text_block(message.content, "text answer")
        body += "".join(_tool_call(view, call) for call in message.tool_calls)
        body += _usage_line(message)
    else:
        body = _tool_result_alone(view, index, message)
    return f'<li id="m{index}" class="msg {_e(message.role)}"><div class="head">{head}</div>{body}</li>'


def _images(view: SessionView, index: int, images: tuple[ImagePart, ...] | None) -> str:
    out = []
    for n, image in enumerate(images or ()):
        if image.url is not None and image.url.startswith(("http://", "https://")):
            src = image.url
        else:
            src = "/image?" + urlencode({"id": view.info.id, "m": index, "p": n})
        out.append(
            f'<a href="{_e(src)}"><img class="image" src="{_e(src)}" alt="image {n + 1}" loading="lazy" '
            'referrerpolicy="no-referrer"></a>'
        )
    return f'<div class="images">{"".join(out)}</div>' if out else ""


def _tool_call(view: SessionView, call: ToolCall) -> str:
    result_index = view.results.get(call.id)
    result = view.messages[result_index] if result_index is not None else None
    if not isinstance(result, ToolMessage):
        state, css = "no result", "pending"
    elif result.is_error:
        state, css = "error", "error"
    else:
        state, css = "ok", "ok"
    arguments = _pretty_json(call.arguments) or call.arguments
    inner = f'<div class="label">arguments</div><pre class="json args">{_e(arguments)}</pre>'
    if isinstance(result, ToolMessage):
        inner += (
            f'<div class="label">result <a href="#m{result_index}">#{(result_index or 0) + 1}</a></div>'
            + (_text_block(result.content, "text result") or '<div class="text result empty">(empty)</div>')
            + _images(view, result_index or 0, result.images)
        )
    else:
        inner += '<div class="label">no result was stored</div>'
    return (
        f'<details class="tool-call {css}" data-call-id="{_e(call.id)}"><summary>'
        f'<span class="tool-name">{_e(call.name)}</span> <code class="args-preview">{_e(_clip(call.arguments, 90))}'
        f'</code> <span class="state">{state}</span></summary>{inner}</details>'
    )


def _tool_result_alone(view: SessionView, index: int, message: ToolMessage) -> str:
    """A result whose call is on another page (or was never stored)."""
    call_at = view.calls.get(message.tool_call_id)
    where = f' of the call in <a href="#m{call_at}">#{call_at + 1}</a>' if call_at is not None else ""
    state = "error" if message.is_error else "ok"
    return (
        f'<details class="tool-result {state}"><summary><span class="tool-name">{_e(message.name)}</span> '
        f'result{where} <span class="state">{state}</span></summary>'
        + (_text_block(message.content, "text result") or '<div class="text result empty">(empty)</div>')
        + _images(view, index, message.images)
        + "</details>"
    )


def _usage_line(message: AssistantMessage) -> str:
    parts = []
    if message.model:
        parts.append(f'<span class="model">{_e(message.model)}</span>')
    u = message.usage
    if u is not None:
        parts.append(f'<span class="tokens-in">{u.input_tokens:,} in</span>')
        parts.append(f'<span class="tokens-out">{u.output_tokens:,} out</span>')
        if u.cached_tokens:
            parts.append(f"<span>{u.cached_tokens:,} cached</span>")
        if u.reasoning_tokens:
            parts.append(f"<span>{u.reasoning_tokens:,} reasoning</span>")
        if u.cost is not None:
            parts.append(f'<span class="cost">{_cost(u.cost)}</span>')
    if message.duration is not None:
        parts.append(
            f'<span class="duration" title="how long the model took to answer">{message.duration:.2f} s</span>'
        )
    if message.finish_reason:
        parts.append(f'<span class="finish">{_e(message.finish_reason)}</span>')
    return f'<div class="usage">{" · ".join(parts)}</div>' if parts else ""


def error_page(status: int, title: str, detail: str, *, store: str) -> str:
    return _layout(
        title,
        f'<h1>{_e(title)}</h1><p class="error" data-status="{status}">{_e(detail)}</p>'
        '<p><a href="/">All sessions</a></p>',
        store=store,
    )
