"""One live connection to an MCP server, owned by one task on the MCP loop.

The SDK's transports and ``ClientSession`` are async context managers built on anyio task
groups: they must be entered and left by the same task. :class:`Connection` runs that task
(:meth:`Connection._own`): it starts the transport (a child process for stdio, an HTTP
session for Streamable HTTP), does the handshake, then waits until it is told to close.
Requests are sent from other tasks of the same loop through :attr:`Connection.session`.

A stdio server's stderr goes to a temporary file, so that an error can quote its last lines.
Its process is kept too (:meth:`Connection.kill`): the last resort at interpreter exit, when
closing the connection did not finish in time, kills it and its process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import MCPServerCrashedError, MCPStartError

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

__all__ = ["Connection", "Transport"]

log = logging.getLogger("agentkit.mcp")

#: How much of a server's stderr an error quotes.
STDERR_TAIL = 2000


class Transport:
    """How to reach a server: a command (stdio) or a URL (Streamable HTTP)."""

    def __init__(
        self,
        *,
        command: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.args = args
        self.env = env
        self.cwd = cwd
        self.url = url
        self.headers = headers

    @property
    def kind(self) -> str:
        return "stdio" if self.command is not None else "http"

    def describe(self) -> str:
        """The command line or URL, for messages (header values and env values are never shown)."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return str(self.url)


Handler = Callable[..., Awaitable[Any]]


class Connection:
    """A server connection: :meth:`open` starts it, :meth:`aclose` ends it, :attr:`dead` says
    it broke (the server exited, the HTTP session ended)."""

    def __init__(
        self,
        name: str,
        transport: Transport,
        *,
        connect_timeout: float,
        callbacks: dict[str, Any],
        on_notification: Callable[[Any], Awaitable[None]],
    ) -> None:
        self.name = name
        self.transport = transport
        self.connect_timeout = connect_timeout
        self.callbacks = callbacks
        self.on_notification = on_notification
        self.session: ClientSession | None = None
        self.dead = False
        self.garbage = 0  # lines on stdout that were not JSON-RPC
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._errlog: Any = None
        self._write: Any = None  # the stream the SDK's writer task sends from
        self._process: Any = None  # a stdio server's process (the SDK's), for kill()
        #: Tasks kept alive in a thread's sync loop (:func:`agentkit._sync.keep_tasks`).
        self.resident: set[asyncio.Task[Any]] = set()
        #: Requests in flight, and whether to close once none is (the connection was replaced).
        self.inflight = 0
        self.retired = False

    # -- stderr ---------------------------------------------------------------------------------

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (stdio servers)."""
        errlog = self._errlog
        if errlog is None or errlog.closed:
            return ""
        try:
            fd = errlog.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, STDERR_TAIL, max(0, size - STDERR_TAIL))
        except OSError:
            return ""
        text = data.decode("utf-8", "replace").strip()
        if size > STDERR_TAIL and "\n" in text:
            text = text.split("\n", 1)[1]
        return text

    def _with_stderr(self, message: str) -> str:
        tail = self.stderr_tail()
        return f"{message}; its stderr ends with: {tail}" if tail else message

    # -- life -----------------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the server and do the handshake; raise MCPStartError naming what failed."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # read by the waiter below, or (after a timeout) by nobody: mark it retrieved either way
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._task = asyncio.get_running_loop().create_task(self._own(ready), name=f"mcp:{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.connect_timeout)
        except TimeoutError:
            await self.aclose()
            raise MCPStartError(
                self._with_stderr(
                    f"MCP server {self.name!r} ({self.transport.describe()}) did not finish the handshake "
                    f"within {self.connect_timeout:g} s"
                ),
                server=self.name,
            ) from None
        except BaseException:
            await self.aclose()
            raise

    async def _own(self, ready: asyncio.Future[None]) -> None:
        from mcp.client.session import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await self._transport(stack)
                self._write = write
                session = await stack.enter_async_context(
                    ClientSession(read, write, message_handler=self._on_message, **self.callbacks)
                )
                await session.initialize()
                self.session = session
                ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            self.dead = True
            if not ready.done():
                ready.set_exception(self._start_error(_leaf(exc)))
            elif not isinstance(exc, asyncio.CancelledError):
                log.debug("MCP server %r: connection ended: %s", self.name, _leaf(exc))
        finally:
            self.dead = True
            self.session = None
            if self.retired and self._errlog is not None:  # replaced: nobody calls aclose()
                self._errlog.close()

    async def _transport(self, stack: contextlib.AsyncExitStack) -> tuple[Any, Any]:
        t = self.transport
        if t.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            self._errlog = tempfile.TemporaryFile(prefix="agentkit-mcp-stderr-")  # noqa: SIM115 - closed in aclose()
            params = StdioServerParameters(command=t.command, args=list(t.args), env=t.env, cwd=t.cwd)
            spawner = stdio_client(params, errlog=self._errlog)
            streams = await stack.enter_async_context(spawner)
            self._process = _server_process(spawner)
            return streams[0], streams[1]
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        client = await stack.enter_async_context(
            httpx2.AsyncClient(headers=t.headers or {}, timeout=httpx2.Timeout(30.0, read=300.0))
        )
        streams = await stack.enter_async_context(streamable_http_client(str(t.url), http_client=client))
        return streams[0], streams[1]

    def _start_error(self, exc: BaseException) -> MCPStartError:
        t = self.transport
        if isinstance(exc, FileNotFoundError) and t.command is not None:
            message = f"MCP server {self.name!r} could not start: command {t.command!r} not found"
            hint = "check `command` (and PATH), or install the server"
        elif isinstance(exc, OSError) and t.command is not None:
            message = f"MCP server {self.name!r} could not start `{t.describe()}`: {exc}"
            hint = None
        else:
            what = f"`{t.describe()}`" if t.command is not None else t.describe()
            message = f"MCP server {self.name!r} ({what}) failed during the handshake: {_describe(exc)}"
            hint = "run the command by hand to see what it says" if t.command is not None else "check the URL"
        error = MCPStartError(self._with_stderr(message), server=self.name, hint=hint)
        error.__cause__ = exc
        return error

    async def flush(self) -> None:
        """Let the writer task send what is queued (a ``notifications/cancelled``) before the
        caller returns: in a thread's sync loop, nothing runs once the sync call is over."""
        write = self._write
        for _ in range(50):
            if write is None:
                return
            try:
                stats = write.statistics()
            except Exception:
                return
            if stats.current_buffer_used == 0 and stats.tasks_waiting_receive > 0:
                return
            await asyncio.sleep(0)

    def retire(self) -> None:
        """Close once the requests in flight are done (on the connection's loop)."""
        self.retired = True
        if self.inflight == 0:
            self._closing.set()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.garbage += 1
            log.warning("MCP server %r sent something that is not JSON-RPC: %s", self.name, _describe(message))
            return
        await self.on_notification(message)

    def crashed(self, exc: BaseException, tool: str | None = None) -> MCPServerCrashedError:
        """The error for a connection that broke under a request (and mark it dead)."""
        self.dead = True
        self._closing.set()
        reason = "exited" if self.transport.command is not None else "closed the connection"
        return MCPServerCrashedError(
            self._with_stderr(f"MCP server {self.name!r} {reason} ({_describe(exc)}); it is restarted on the next call"),
            server=self.name,
            tool=tool,
        )

    @property
    def pid(self) -> int | None:
        """The stdio server's process id (``None``: an HTTP server, or not started)."""
        return None if self._process is None else int(self._process.pid)

    def kill(self) -> None:
        """Kill the stdio server's process and its process group at once (SIGKILL), from any thread.

        The last resort at interpreter exit, when :meth:`aclose` did not finish in time (a hung
        server, a stuck loop): no child process may outlive the program. Nothing for HTTP.
        """
        process = self._process
        if process is None or process.returncode is not None:
            return
        pid = int(process.pid)
        try:
            if sys.platform == "win32":  # pragma: no cover - the SDK puts it in a Job Object
                os.kill(pid, signal.SIGTERM)  # TerminateProcess
            elif os.getpgid(pid) == pid:  # its own process group (the SDK starts a new session)
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # already gone

    async def aclose(self) -> None:
        """End the connection: the SDK closes stdin, then terminates the server's process group."""
        from agentkit._sync import release_tasks

        from . import _runtime

        _runtime.untrack(self)
        release_tasks(self.resident)
        self._closing.set()
        task = self._task
        if task is not None and not task.done() and self.session is None:
            task.cancel()  # still starting: stop the handshake (the SDK still ends the process)
            await asyncio.gather(task, return_exceptions=True)
        elif task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 15)
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            except BaseException:
                pass
        if self._errlog is not None:
            self._errlog.close()


def _server_process(spawner: Any) -> Any:
    """The server's process inside the SDK's ``stdio_client`` context manager (the local
    ``process`` of its suspended generator): the SDK does not expose it, and :meth:`Connection.kill`
    needs it. ``None`` if a later SDK keeps it elsewhere (a test checks that it is found)."""
    frame = getattr(getattr(spawner, "gen", None), "ag_frame", None)
    process = None if frame is None else frame.f_locals.get("process")
    return process if hasattr(process, "pid") and hasattr(process, "returncode") else None


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _leaf(exc)
    text = str(exc).strip()
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "message", None):
        text = error.message
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
