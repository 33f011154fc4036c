"""``MCPServer``: an MCP server's tools as an agentkit toolset.

::

    from agentkit_mcp import MCPServer

    time = MCPServer.stdio("python", args=["-m", "mcp_server_time"], prefix="time_")
    docs = MCPServer.http("http://127.0.0.1:8000/mcp", headers={"Authorization": "Bearer ..."})
    with Agent("openai/gpt-4o-mini", tools=[time, docs]) as agent:
        agent.run("What time is it in Tokyo?")

The connection opens on first use and stays open (one process per server) until
``agent.close()`` / ``await agent.aclose()`` / ``with`` / ``async with`` closes it. It lives in
the loop that uses it (``async with``: the caller's; sync runs: their thread's loop for sync
calls), or on the MCP loop (:mod:`agentkit_mcp._runtime`) once several loops use it. Before each model
call the loop asks for the tools; the list is cached and fetched again after the server sends
``notifications/tools/list_changed``. Arguments are checked against each tool's
``inputSchema`` before the call, like any agentkit tool's. In a forked child the server starts
again on first use, in the child's own loop; the parent's connection is left to the parent.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from agentkit import Tool
from agentkit.errors import ConfigError
from agentkit.toolsets import Toolset, ToolsetContext

from . import _runtime
from ._connection import Connection, Transport
from .errors import MCPError
from .results import content_text, convert_result

if TYPE_CHECKING:
    from agentkit.providers import Provider
    from agentkit.run_context import RunContext

__all__ = ["Elicitation", "MCPServer"]

_INVALID = re.compile(r"[^A-Za-z0-9_-]")


@attrs.frozen
class Elicitation:
    """A server asks the user for input: ``message``, and the JSON Schema of the answer
    (top-level properties of simple types). ``url`` is set for URL-mode requests (the user
    should open it). The callback returns the answer as a dict, or ``None`` to decline
    (``"cancel"`` to dismiss)."""

    server: str
    message: str
    schema: Mapping[str, Any] = attrs.field(factory=dict)
    url: str | None = None


ElicitationCallback = Callable[[Elicitation], Any]


class MCPServer(Toolset):
    """An MCP server as a toolset (see the module docs). Build it with :meth:`stdio` or
    :meth:`http`.

    ``include``/``exclude`` filter the server's tools by their MCP names; ``prefix`` is put
    before every tool's name (two servers with the same tool names in one agent).
    ``tool_timeout`` (seconds) overrides the agent's for these tools. ``sampling_model``
    (``"provider/model"``) lets the server ask that model for completions, through agentkit's
    providers (``sampling_provider`` gives the provider object itself); off by default.
    ``elicitation`` is a callback that answers a server's questions for the user (off by
    default; ``agentkit chat`` asks at the terminal). ``roots`` are the directories advertised
    to the server (default: the agent's file tools' root, ``tool_settings["files"]["root"]``).
    ``resources_as_tools`` adds ``list_resources`` and ``read_resource`` tools for the model.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        prefix: str = "",
        tool_timeout: float | None = None,
        connect_timeout: float = 30.0,
        sampling_model: str | None = None,
        sampling_provider: Provider | None = None,
        elicitation: ElicitationCallback | None = None,
        roots: Iterable[str | Path] | None = None,
        resources_as_tools: bool = False,
        plugin_host: Any = None,
    ) -> None:
        self.transport = transport
        self.server_name = name or _default_name(transport)
        self.name = f"mcp:{self.server_name}"
        self.include = None if include is None else tuple(include)
        self.exclude = tuple(exclude or ())
        self.prefix = prefix
        self.tool_timeout = tool_timeout
        self.connect_timeout = connect_timeout
        self.sampling_model = sampling_model
        self.sampling_provider = sampling_provider
        self.elicitation = elicitation
        self.roots: tuple[Path, ...] | None = None if roots is None else tuple(Path(r).resolve() for r in roots)
        self.resources_as_tools = resources_as_tools
        self.plugin_host = plugin_host
        self.ask_user: ElicitationCallback | None = None  # set by apps such as `agentkit chat`
        self._conn: Connection | None = None
        self._lock: asyncio.Lock | None = None  # on the home loop
        # The loop the connection lives in: the caller's inside `async with server:`, the
        # thread's sync loop when sync runs opened it (`_sync_home`), else the MCP loop (None).
        self._home: asyncio.AbstractEventLoop | None = None
        self._sync_home = False
        self._shared = False  # used from several loops: it stays on the MCP loop
        self._listed: list[Any] | None = None  # the server's tools (MCP objects), None: ask again
        self._tools: list[Tool] = []
        self._names: dict[str, str] = {}  # agentkit name -> MCP name
        self._sampler: tuple[Any, str, str] | None = None
        self.tools_changed = 0  # notifications/tools/list_changed received
        self._pid = os.getpid()  # the process whose connection this is (see _check_fork)

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        name: str | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server started as a child process speaking MCP on stdin/stdout.

        ``env`` is added to a minimal inherited environment (``PATH``, ``HOME``, ...: the SDK's
        safe defaults), so keys are passed only when named here.
        """
        if isinstance(args, str):
            raise TypeError("args must be a list of strings, not one string")
        transport = Transport(
            command=command,
            args=tuple(str(a) for a in args),
            env=None if env is None else {str(k): str(v) for k, v in env.items()},
            cwd=None if cwd is None else str(cwd),
        )
        return cls(transport, name=name, **options)

    @classmethod
    def http(cls, url: str, headers: Mapping[str, str] | None = None, name: str | None = None, **options: Any) -> MCPServer:
        """A server reached over Streamable HTTP at ``url`` (such as ``http://127.0.0.1:8000/mcp``)."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"an MCP server URL must start with http:// or https://, got {url!r}")
        transport = Transport(url=url, headers=None if headers is None else dict(headers))
        return cls(transport, name=name, **options)

    def __repr__(self) -> str:
        return f"MCPServer({self.server_name!r}, {self.transport.kind}: {self.transport.describe()!r})"

    # -- the toolset ----------------------------------------------------------------------------

    async def list_tools(self, ctx: ToolsetContext | None = None) -> Sequence[Tool]:
        """The server's tools as agentkit tools (connects on first use)."""
        if self.roots is None and ctx is not None:
            root = (ctx.tool_settings.get("files") or {}).get("root")
            if root is not None:
                self.roots = (Path(str(root)).expanduser().resolve(),)
        if self.plugin_host is None and ctx is not None:
            self.plugin_host = ctx.host
        conn = self._conn
        if self._listed is not None and conn is not None and not conn.dead:
            return self._tools  # the common case: no hop to the MCP loop
        await self._on_home(self._refresh)
        return self._tools

    async def aclose(self) -> None:
        """Close the connection (the server process ends); the next use reconnects."""
        self._check_fork()
        if self._conn is None and self._sampler is None:
            return
        await self._on_home(self._close)

    def close(self) -> None:
        self._check_fork()
        if self._conn is None and self._sampler is None:
            return
        if self._sync_home:  # in a thread's sync loop: closed there (another thread moves it first)
            from agentkit._sync import run_sync

            run_sync(self.aclose)
            return
        home = self._home
        if home is not None:  # inside `async with server:` of a running loop
            raise RuntimeError("this server is open in an event loop (async with): use `await server.aclose()`")
        if _runtime.on_runtime():
            raise RuntimeError("use `await server.aclose()` on the MCP loop")
        _runtime.call_sync(self._close)

    async def connect(self) -> None:
        """Start the server now (it otherwise starts on first use); raises MCPStartError."""
        await self._on_home(self._connection)

    async def __aenter__(self) -> MCPServer:
        """Keep the connection in this event loop until the block ends (no thread hop per call)."""
        loop = asyncio.get_running_loop()
        if self._home is None and self._conn is None:
            self._home = loop
            self._lock = None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.aclose()
        finally:
            if self._home is asyncio.get_running_loop():
                self._home = None
                self._lock = None

    async def _on_home(self, factory: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``factory()`` on the loop that holds the connection.

        A connection first opened by a sync run lives in that thread's sync loop (the one its
        ``agent.run()`` calls share), so that each call takes no thread hop. Used from any other
        loop (another thread, async code, a sync stream), it moves to the MCP loop for good:
        the server is started again there, and the old process ends once its calls are done.
        """
        self._check_fork()
        loop = asyncio.get_running_loop()
        home = self._home
        if home is loop:
            return await factory()
        if home is None and not self._shared and self._conn is None:
            from agentkit._sync import sync_loop

            if sync_loop() is loop:
                self._home, self._sync_home, self._lock = loop, True, None
                return await factory()
        if self._sync_home:
            self._leave_sync_home()
        return await _runtime.call(factory, self._home)  # type: ignore[arg-type]

    def _check_fork(self) -> None:
        """In a forked child, forget the parent's connection, untouched: its process, its pipes
        and the loop that runs it are the parent's (closing it here would end it for the parent).
        The server starts again in this process on first use (on the child's own MCP loop)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._conn, self._listed = None, None
        self._home, self._sync_home, self._shared, self._lock = None, False, False, None

    def _leave_sync_home(self) -> None:
        home, conn = self._home, self._conn
        self._home, self._sync_home, self._shared, self._lock = None, False, True, None
        self._conn, self._listed = None, None
        if conn is not None and home is not None:
            from agentkit._sync import release_tasks

            release_tasks(conn.resident)  # cancelled by that loop's next sync call if still running
            try:
                home.call_soon_threadsafe(conn.retire)  # runs when that loop next runs
            except RuntimeError:  # the loop is closed: its tasks are gone
                pass

    # -- resources, prompts, calls --------------------------------------------------------------

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> Any:
        """Call a tool by its MCP name; what the agent's tool would return (text, or text and
        images). An ``isError`` result raises :class:`~agentkit_mcp.MCPToolError`."""
        return await self._invoke(name, dict(arguments or {}), None)

    async def list_resources(self) -> list[Any]:
        """The server's resources (the SDK's ``Resource`` objects: ``uri``, ``name``, ...)."""

        async def go() -> list[Any]:
            session = await self._session()
            found, cursor = [], None
            while True:
                page = await session.list_resources(params=_page(cursor))
                found.extend(page.resources)
                cursor = page.next_cursor
                if not cursor:
                    return found

        return await self._request(go)

    async def read_resource(self, uri: str) -> str:
        """A resource's contents as text (binary contents as a short note naming them)."""

        async def go() -> str:
            session = await self._session()
            result = await session.read_resource(uri)
            texts = []
            for item in result.contents:
                text = getattr(item, "text", None)
                texts.append(text if text is not None else content_text(_Embedded(item)))
            return "\n".join(texts)

        return await self._request(go)

    async def list_prompts(self) -> list[Any]:
        """The server's prompts (the SDK's ``Prompt`` objects: ``name``, ``arguments``, ...)."""

        async def go() -> list[Any]:
            session = await self._session()
            found, cursor = [], None
            while True:
                page = await session.list_prompts(params=_page(cursor))
                found.extend(page.prompts)
                cursor = page.next_cursor
                if not cursor:
                    return found

        return await self._request(go)

    async def get_prompt(self, name: str, arguments: Mapping[str, str] | None = None) -> list[Any]:
        """A prompt's messages as agentkit messages (``UserMessage``/``AssistantMessage``)."""
        from agentkit import AssistantMessage, UserMessage

        async def go() -> Any:
            session = await self._session()
            return await session.get_prompt(name, {k: str(v) for k, v in (arguments or {}).items()})

        result = await self._request(go)
        messages: list[Any] = []
        for message in result.messages:
            parts = _parts([message.content])
            if message.role == "assistant":
                messages.append(AssistantMessage("".join(p for p in parts if isinstance(p, str))))
            else:
                messages.append(UserMessage(parts))
        return messages

    # -- on the MCP loop ------------------------------------------------------------------------

    async def _connection(self) -> Connection:
        conn = self._conn
        if conn is not None and not conn.dead:  # the common case: no lock
            return conn
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            conn = self._conn
            if conn is not None and not conn.dead:
                return conn
            if conn is not None:
                await conn.aclose()
            conn = Connection(
                self.server_name,
                self.transport,
                connect_timeout=self.connect_timeout,
                callbacks=self._callbacks(),
                on_notification=self._on_notification,
            )
            self._listed = None
            before = asyncio.all_tasks() if self._sync_home else set()
            await conn.open()
            self._conn = conn
            if self._sync_home:  # its tasks outlive this sync call (closed with the thread's loop)
                from agentkit._sync import keep_tasks

                conn.resident = asyncio.all_tasks() - before - {asyncio.current_task()}  # type: ignore[operator]
                keep_tasks(conn.resident)
            elif self._home is None:  # on the MCP loop: closed at interpreter exit if still open
                _runtime.track(conn)
            return conn

    async def _session(self) -> Any:
        conn = await self._connection()
        assert conn.session is not None
        return conn.session

    async def _request(self, go: Callable[[], Awaitable[Any]]) -> Any:
        async def guarded() -> Any:
            conn = await self._connection()
            try:
                return await go()
            except Exception as exc:
                raise self._translate(exc, conn, None) from exc

        return await self._on_home(guarded)

    async def _refresh(self) -> None:
        conn = await self._connection()
        if self._listed is not None:
            return
        session = conn.session
        assert session is not None
        listed, cursor = [], None
        try:
            while True:
                page = await session.list_tools(params=_page(cursor))
                listed.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
        except Exception as exc:
            raise self._translate(exc, conn, None) from exc
        self._tools, self._names = self._build(listed)
        self._listed = listed

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._listed = None
        sampler, self._sampler = self._sampler, None
        try:
            if conn is not None:
                await conn.aclose()
        finally:
            if sampler is not None and self.sampling_provider is None:  # built here: close it here
                await sampler[0].aclose()

    async def _on_notification(self, message: Any) -> None:
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method == "notifications/tools/list_changed":
            self.tools_changed += 1
            self._listed = None  # asked again before the next model call

    def _translate(self, exc: BaseException, conn: Connection, tool: str | None) -> BaseException:
        from mcp.shared.exceptions import MCPError as SDKError
        from mcp_types import CONNECTION_CLOSED

        if isinstance(exc, MCPError | ConfigError):
            return exc
        if isinstance(exc, SDKError):
            if exc.code == CONNECTION_CLOSED:
                return conn.crashed(exc, tool)
            what = f"tool {tool!r}" if tool else "a request"
            return MCPError(
                f"MCP server {self.server_name!r}: {what} failed: {exc.error.message}", server=self.server_name, tool=tool
            )
        import anyio

        if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream | OSError):
            return conn.crashed(exc, tool)
        return exc

    # -- tools ----------------------------------------------------------------------------------

    def _build(self, listed: list[Any]) -> tuple[list[Tool], dict[str, str]]:
        names = [t.name for t in listed]
        if self.include is not None:
            missing = [n for n in self.include if n not in names]
            if missing:
                raise ConfigError(
                    f"MCP server {self.server_name!r} has no tool {missing[0]!r}; its tools: {', '.join(sorted(names))}",
                    hint="fix the tool name in include (or in 'mcp:server/tool')",
                )
        tools: list[Tool] = []
        mapping: dict[str, str] = {}
        for item in listed:
            if self.include is not None and item.name not in self.include:
                continue
            if item.name in self.exclude:
                continue
            local = _tool_name(self.prefix + item.name)
            mapping[local] = item.name
            schema = dict(item.input_schema or {"type": "object"})
            schema.setdefault("type", "object")
            tools.append(
                Tool.from_schema(
                    local,
                    item.description or item.title or item.name,
                    schema,
                    self._caller(item.name),
                    plugin=f"agentkit-mcp ({self.server_name})",
                    timeout=self.tool_timeout,
                )
            )
        if self.resources_as_tools:
            tools.extend(self._resource_tools())
        return tools, mapping

    def _caller(self, mcp_name: str) -> Callable[..., Awaitable[Any]]:
        async def call(arguments: dict[str, Any], ctx: RunContext | None) -> Any:
            return await self._invoke(mcp_name, arguments, ctx)

        return call

    async def _invoke(self, name: str, arguments: dict[str, Any], ctx: RunContext | None) -> Any:
        progress: Any = None
        if ctx is not None and ctx.observed:  # progress only when someone watches the run
            loop = asyncio.get_running_loop()
            context = contextvars.copy_context()
            report = ctx.report_progress

            async def report_on_caller(value: float, total: float | None, message: str | None) -> None:
                if asyncio.get_running_loop() is loop:  # the connection lives in the caller's loop
                    await loop.create_task(report(value, total, message), context=context)
                    return
                done = _runtime.call_soon_in(loop, context, lambda: report(value, total, message))
                await asyncio.wrap_future(done)

            progress = report_on_caller

        async def on_loop() -> Any:
            conn = await self._connection()
            session = conn.session
            assert session is not None
            conn.inflight += 1
            try:
                return await session.call_tool(name, arguments, progress_callback=progress)
            except asyncio.CancelledError:
                if self._sync_home:  # send notifications/cancelled before this sync call may end
                    await conn.flush()
                raise
            except Exception as exc:
                raise self._translate(exc, conn, name) from exc
            finally:
                conn.inflight -= 1
                if conn.retired and conn.inflight == 0:
                    conn.retire()

        result = await self._on_home(on_loop)
        return convert_result(result, server=self.server_name, tool=name)

    def _resource_tools(self) -> list[Tool]:
        async def list_resources(arguments: dict[str, Any], ctx: Any) -> str:
            found = await self.list_resources()
            return json.dumps(
                [{"uri": str(r.uri), "name": r.name, "description": r.description, "mimeType": r.mime_type} for r in found],
                ensure_ascii=False,
            )

        async def read_resource(arguments: dict[str, Any], ctx: Any) -> str:
            return await self.read_resource(arguments["uri"])

        return [
            Tool.from_schema(
                _tool_name(self.prefix + "list_resources"),
                f"List the resources of the MCP server {self.server_name!r} (uri, name, description).",
                {"type": "object", "properties": {}, "additionalProperties": False},
                list_resources,
                plugin=f"agentkit-mcp ({self.server_name})",
            ),
            Tool.from_schema(
                _tool_name(self.prefix + "read_resource"),
                f"Read a resource of the MCP server {self.server_name!r} by its URI.",
                {
                    "type": "object",
                    "properties": {"uri": {"type": "string", "description": "the resource's URI"}},
                    "required": ["uri"],
                    "additionalProperties": False,
                },
                read_resource,
                plugin=f"agentkit-mcp ({self.server_name})",
            ),
        ]

    # -- the client's side of the protocol ------------------------------------------------------

    def _callbacks(self) -> dict[str, Any]:
        from mcp_types import Implementation

        from agentkit import __version__

        callbacks: dict[str, Any] = {
            "client_info": Implementation(name="agentkit", version=__version__),
            "list_roots_callback": self._list_roots,
        }
        if self.sampling_model is not None or self.sampling_provider is not None:
            callbacks["sampling_callback"] = self._sample
        if self.elicitation is not None or self.ask_user is not None:
            callbacks["elicitation_callback"] = self._elicit
        return callbacks

    async def _list_roots(self, context: Any) -> Any:
        from mcp_types import ListRootsResult, Root

        return ListRootsResult(
            roots=[Root.model_validate({"uri": r.as_uri(), "name": r.name or str(r)}) for r in self.roots or ()]
        )

    async def _elicit(self, context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        handler = self.elicitation or self.ask_user
        if handler is None:
            return ElicitResult(action="decline")
        schema: Any = getattr(params, "requested_schema", None)
        request = Elicitation(
            server=self.server_name,
            message=params.message,
            schema=schema.model_dump(by_alias=True, exclude_none=True) if hasattr(schema, "model_dump") else dict(schema or {}),
            url=getattr(params, "url", None),
        )
        if inspect.iscoroutinefunction(handler):
            answer = await handler(request)
        else:
            answer = await asyncio.to_thread(handler, request)
            if inspect.isawaitable(answer):
                answer = await answer
        if answer is None or answer == "decline":
            return ElicitResult(action="decline")
        if answer == "cancel":
            return ElicitResult(action="cancel")
        return ElicitResult(action="accept", content=dict(answer) if request.url is None else None)

    async def _sample(self, context: Any, params: Any) -> Any:
        from mcp_types import CreateMessageResult, ErrorData, TextContent

        from agentkit import SystemMessage
        from agentkit.providers import ModelRequest

        provider, model, full = self._sampling_target()
        messages: list[Any] = [SystemMessage(params.system_prompt)] if params.system_prompt else []
        for message in params.messages:
            content = message.content if isinstance(message.content, list) else [message.content]
            parts = _parts(content)
            if message.role == "assistant":
                from agentkit import AssistantMessage

                messages.append(AssistantMessage("".join(p for p in parts if isinstance(p, str))))
            else:
                from agentkit import UserMessage

                messages.append(UserMessage(parts))
        request_params: dict[str, Any] = {"max_tokens": params.max_tokens}
        if params.temperature is not None:
            request_params["temperature"] = params.temperature
        if params.stop_sequences:
            request_params["stop"] = list(params.stop_sequences)
        try:
            response = await provider.complete(ModelRequest(model=model, messages=messages, params=request_params))
        except Exception as exc:
            return ErrorData(code=-32603, message=f"sampling with {full} failed: {type(exc).__name__}: {exc}")
        stop = "maxTokens" if response.finish_reason == "length" else "endTurn"
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=response.message.content),
            model=full,
            stop_reason=stop,
        )

    def _sampling_target(self) -> tuple[Any, str, str]:
        if self._sampler is None:
            model = self.sampling_model or f"{self.sampling_provider.name}/default"  # type: ignore[union-attr]
            prefix, _, name = model.partition("/")
            provider = self.sampling_provider
            if provider is None:
                from agentkit.plugins import get_host

                host = self.plugin_host or get_host()
                provider = host.registry("provider").get(prefix).value(base_url=None, api_key=None)
            self._sampler = (provider, name or model, model)
        return self._sampler


class _Embedded:
    """A resource's contents in the shape :func:`content_text` reads."""

    type = "resource"

    def __init__(self, resource: Any) -> None:
        self.resource = resource


def _parts(content: Iterable[Any]) -> list[Any]:
    """MCP content blocks as user-message parts: text and images."""
    import base64

    from agentkit import ImagePart

    parts: list[Any] = []
    for block in content:
        if getattr(block, "type", None) == "text":
            parts.append(block.text)
        elif getattr(block, "type", None) == "image":
            parts.append(ImagePart(data=base64.b64decode(block.data), media_type=block.mime_type))
        else:
            parts.append(content_text(block))
    return parts


def _page(cursor: str | None) -> Any:
    if cursor is None:
        return None
    from mcp_types import PaginatedRequestParams

    return PaginatedRequestParams(cursor=cursor)


def _tool_name(name: str) -> str:
    """An MCP tool name as a name every provider accepts (letters, digits, '_' and '-', 64 at most)."""
    return _INVALID.sub("_", name)[:64] or "tool"


def _default_name(transport: Transport) -> str:
    if transport.command is not None:
        last = [a for a in transport.args if not a.startswith("-")]
        return Path(last[-1] if last else transport.command).stem or transport.command
    from urllib.parse import urlsplit

    return urlsplit(str(transport.url)).hostname or "server"
