"""The viewer's HTTP server: the standard library's ``ThreadingHTTPServer`` answering GET
(and HEAD) requests, with the store on an event loop of its own in a background thread.

Why the standard library: the viewer is a handful of read-only GET routes rendered on the
server, so a framework would add a dependency and nothing the pages need (README).

Security, on every request:

- only GET and HEAD are answered (405 otherwise): nothing here writes to the store;
- bound to a loopback address, the ``Host`` header must name that address or ``localhost``
  (a web page elsewhere cannot reach the viewer by rebinding its DNS name to 127.0.0.1);
- bound to any other address, a token is required: ``?token=`` once (the URL printed at
  start-up), which sets a cookie and redirects to the same page without it, then the cookie;
- every answer carries a ``Content-Security-Policy`` that allows no script, styles and images
  from the viewer only (and https images a session names), no framing, forms to itself.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
from collections.abc import Coroutine, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from agentkit.errors import AgentkitError, SessionNotFoundError
from agentkit.messages import ToolMessage, UserMessage
from agentkit.stores import Store, open_store

from . import pages
from .data import Sessions

__all__ = ["CSP", "UIServer", "is_loopback"]

log = logging.getLogger("agentkit.ui")
T = TypeVar("T")

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
#: For image bytes: the same, and the document sandboxed (an SVG opened on its own runs nothing).
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
STYLE = (resources.files("agentkit_ui") / "static" / "style.css").read_bytes()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) reaches only this machine."""
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class UIServer:
    """Serve the viewer of ``store`` (a :class:`~agentkit.Store`, or a spec for
    :func:`agentkit.stores.open_store`; ``None``: the default SQLite store).

    :param host: the address to bind (``127.0.0.1``).
    :param port: the port (``0``: one the system picks; :attr:`port` says which).
    :param token: required on every request; ``None`` makes one up when ``host`` is not a
        loopback address, and requires none on loopback.
    :param per_page: messages per page of a session.

    ``start()`` opens the store and binds; ``serve_forever()`` answers until ``close()``.
    As a context manager it serves from a background thread.
    """

    def __init__(
        self,
        store: Store | str | Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        per_page: int = 100,
        sessions_per_page: int = 50,
    ) -> None:
        self.host = host
        self.loopback = is_loopback(host)
        self.token = token if token is not None or self.loopback else secrets.token_urlsafe(24)
        self.per_page = per_page
        self.sessions_per_page = sessions_per_page
        self._spec = store
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._http: ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None
        self.store: Store | None = None
        self.sessions: Sessions | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> UIServer:
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self._loop.run_forever, name="agentkit-ui-store", daemon=True
        )
        self._loop_thread.start()
        try:
            self.store = self.call(self._open())
            self.sessions = Sessions(self.store)
            self._http = _bind(self.host, self._requested_port)
        except BaseException:
            self.close()
            raise
        self._http.app = self  # type: ignore[attr-defined]
        return self

    async def _open(self) -> Store:
        store = open_store(self._spec)
        try:
            await store.list_sessions(limit=1)  # a store that cannot be read fails now, not on the first page
        except BaseException:
            await store.aclose()
            raise
        return store

    def serve_forever(self) -> None:
        assert self._http is not None, "start() first"
        self._http.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if self._http is not None:
            if self._serving is not None:  # serve_forever() in the caller's thread has returned already
                self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._serving is not None:
            self._serving.join(timeout=10)
            self._serving = None
        if self._loop is None or self._loop_thread is None:
            return
        if self.store is not None:
            store, self.store = self.store, None
            self.call(store.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()
        self._loop = self._loop_thread = None

    def __enter__(self) -> UIServer:
        self.start()
        self._serving = threading.Thread(target=self.serve_forever, name="agentkit-ui-http", daemon=True)
        self._serving.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._http is not None, "start() first"
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """Where the viewer is, with the token when one is required (what to open)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}/"
        return base + "?" + urlencode({"token": self.token}) if self.token else base

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run ``coro`` on the store's loop and wait for its result."""
        assert self._loop is not None, "start() first"
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    # -- requests ----------------------------------------------------------------------------

    def allowed_hosts(self) -> set[str]:
        port = self.port
        names = {self.host, "localhost", "127.0.0.1", "[::1]"} | (
            {f"[{self.host}]"} if ":" in self.host else set()
        )
        allowed = {f"{n}:{port}".casefold() for n in names}
        return allowed | {n.casefold() for n in names} if port == 80 else allowed  # port 80 goes unsaid

    def handle(self, request: _Handler) -> None:
        parts = urlsplit(request.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if self.loopback and (request.headers.get("Host") or "").casefold() not in self.allowed_hosts():
            return request.reply(
                HTTPStatus.MISDIRECTED_REQUEST,
                self._error(
                    421,
                    "Wrong host",
                    "This viewer answers only requests addressed to this machine's loopback address.",
                ),
            )
        if self.token is not None:
            given = params.get("token")
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                rest = urlencode({k: v for k, v in params.items() if k != "token"})
                return request.redirect(parts.path + ("?" + rest if rest else ""), self._cookie())
            if not self._token_cookie_ok(request):
                return request.reply(
                    HTTPStatus.UNAUTHORIZED,
                    self._error(
                        401,
                        "Token required",
                        "Open the URL `agentkit ui` printed when it started: it carries the token.",
                    ),
                )
        if parts.path == "/favicon.ico":  # browsers ask; there is none
            return request.reply(HTTPStatus.NO_CONTENT, b"")
        route = {
            "/": self._list,
            "/session": self._session,
            "/image": self._image,
            "/static/style.css": self._style,
        }
        handler = route.get(parts.path)
        if handler is None:
            return request.reply(
                HTTPStatus.NOT_FOUND, self._error(404, "Not found", f"No page at {parts.path}.")
            )
        try:
            handler(request, params)
        except SessionNotFoundError as exc:
            request.reply(HTTPStatus.NOT_FOUND, self._error(404, "No such session", str(exc)))
        except AgentkitError as exc:
            log.warning("agentkit ui: %s", exc)
            request.reply(HTTPStatus.INTERNAL_SERVER_ERROR, self._error(500, "The store failed", str(exc)))
        except Exception:
            log.exception("agentkit ui: %s failed", parts.path)
            request.reply(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                self._error(500, "Internal error", "The viewer failed; run with --debug to see why."),
            )

    def _cookie_name(self) -> str:
        return f"agentkit_ui_{self.port}"

    def _cookie(self) -> str:
        return f"{self._cookie_name()}={self.token}; Path=/; HttpOnly; SameSite=Strict"

    def _token_cookie_ok(self, request: _Handler) -> bool:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(request.headers.get("Cookie") or "")
        except Exception:
            return False
        morsel = jar.get(self._cookie_name())
        assert self.token is not None
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self.token.encode())

    @property
    def store_name(self) -> str:
        return self.store.name if self.store is not None else "?"

    def _error(self, status: int, title: str, detail: str) -> bytes:
        return pages.error_page(status, title, detail, store=self.store_name).encode()

    def _list(self, request: _Handler, params: dict[str, str]) -> None:
        assert self.sessions is not None
        query, page = params.get("q", ""), _page(params)
        result = self.call(self.sessions.page(query, page, self.sessions_per_page))
        request.reply(
            HTTPStatus.OK, pages.list_page(result, query=query, page=page, store=self.store_name).encode()
        )

    def _session(self, request: _Handler, params: dict[str, str]) -> None:
        assert self.sessions is not None
        session_id = params.get("id")
        if not session_id:
            return request.reply(
                HTTPStatus.BAD_REQUEST, self._error(400, "Which session?", "The URL names no session (?id=).")
            )
        view = self.call(self.sessions.session(session_id))
        html = pages.session_page(view, page=_page(params), per_page=self.per_page, store=self.store_name)
        request.reply(HTTPStatus.OK, html.encode())

    def _image(self, request: _Handler, params: dict[str, str]) -> None:
        assert self.sessions is not None
        view = self.call(self.sessions.session(params.get("id", "")))
        try:
            message = view.messages[int(params.get("m", ""))]
            images = message.images if isinstance(message, UserMessage | ToolMessage) else None
            image = (images or ())[int(params.get("p", ""))]
            data, media_type = image.load()
        except (ValueError, IndexError, OSError) as exc:
            return request.reply(HTTPStatus.NOT_FOUND, self._error(404, "No such image", str(exc)))
        if not media_type.startswith("image/"):
            media_type = "application/octet-stream"
        request.reply(HTTPStatus.OK, data, content_type=media_type, csp=IMAGE_CSP)

    def _style(self, request: _Handler, params: dict[str, str]) -> None:
        request.reply(HTTPStatus.OK, STYLE, content_type="text/css; charset=utf-8")


def _page(params: Mapping[str, str]) -> int:
    try:
        return max(1, int(params.get("page", "1")))
    except ValueError:
        return 1


class _Handler(BaseHTTPRequestHandler):
    server_version = "agentkit-ui"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    _head_only = False

    @property
    def app(self) -> UIServer:
        return self.server.app  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._head_only = False  # one handler serves every request of a kept-alive connection
        self.app.handle(self)

    def do_HEAD(self) -> None:
        self._head_only = True
        self.app.handle(self)

    def _refuse(self) -> None:
        self.reply(
            HTTPStatus.METHOD_NOT_ALLOWED,
            b"read-only: only GET and HEAD\n",
            content_type="text/plain; charset=utf-8",
            extra={"Allow": "GET, HEAD"},
        )

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse

    def reply(
        self,
        status: HTTPStatus,
        body: bytes,
        *,
        content_type: str = "text/html; charset=utf-8",
        csp: str = CSP,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            **(extra or {}),
        }
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not self._head_only:
            self.wfile.write(body)

    def redirect(self, location: str, cookie: str) -> None:
        self.reply(HTTPStatus.SEE_OTHER, b"", extra={"Location": location, "Set-Cookie": cookie})

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def _bind(host: str, port: int) -> ThreadingHTTPServer:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET

    return Server((host.strip("[]"), port), _Handler)
