"""Fetching a URL for a model, without letting the model reach what it must not.

- http and https only; the host is checked (:mod:`agentkit_web.addresses`) and the request is
  sent **to the checked address**: the URL's host is replaced by that IP, while the ``Host``
  header and the TLS server name (SNI, and so certificate checks) keep the hostname. A DNS
  answer that changes between check and connect cannot move the connection.
- Redirects are followed by hand, each hop checked again, at most ``max_redirects``.
- Credentials (configured headers such as Authorization or Cookie, and ``user:pass@`` in the
  URL) go to the first origin only; once a redirect leaves it, they are dropped for good.
  No cookie jar: a response's Set-Cookie is never sent back.
- The body is decoded here (gzip, deflate) with a bound on the output of every step, and
  reading stops at ``max_bytes`` of decoded data: a gzip bomb or an endless body costs
  ``max_bytes``. Content types outside the allow-list are refused before the body is read.
- One deadline covers the whole fetch, redirects and slow bodies included; proxies from the
  environment are ignored (a proxy would resolve the host itself).
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import os
import re
import zlib
from collections.abc import Mapping

import attrs
import httpx

from agentkit.errors import ToolError, snippet

from .addresses import parse_ip_literal, resolve_host
from .settings import WebSettings

__all__ = ["FetchedPage", "fetch", "redact_url"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USERINFO = re.compile(r"(//)[^/?#@]*@")
_ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5"


@attrs.frozen
class FetchedPage:
    """A fetched response: where it ended up, what it is, and its (capped) decoded body."""

    url: str
    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool
    redirects: tuple[str, ...] = ()


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` part, for messages and logs."""
    return _USERINFO.sub(r"\1***@", url)


def _parse_url(url: str) -> httpx.URL:
    if not isinstance(url, str) or not url.strip():
        raise ToolError("url must be a non-empty http(s) URL")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ToolError(f"invalid URL {redact_url(url)!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise ToolError(
            f"only http and https URLs can be fetched, not {parsed.scheme or 'a relative URL'!r} ({redact_url(url)!r})"
        )
    if not parsed.host:
        raise ToolError(f"URL {redact_url(url)!r} has no host")
    return parsed


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host.lower().rstrip("."), _port(url)


def _host_header(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


def _media_type(value: str) -> tuple[str, str | None]:
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'")
    return media.strip().lower(), charset


def _allowed(media: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(media, p.lower()) for p in patterns)


async def fetch(url: str, settings: WebSettings) -> FetchedPage:
    """Fetch ``url`` under the SSRF rules and caps of ``settings``."""
    start = _parse_url(url)
    try:
        async with asyncio.timeout(settings.timeout):
            return await _fetch(url, start, settings)
    except TimeoutError:
        raise ToolError(
            f"fetching {redact_url(url)} took longer than {settings.timeout:g} s (the total deadline)"
        ) from None


async def _fetch(url: str, current: httpx.URL, settings: WebSettings) -> FetchedPage:
    origin = _origin(current)
    credentials: dict[str, str] = dict(settings.headers)
    if current.userinfo:
        user, _, password = current.userinfo.partition(b":")
        from urllib.parse import unquote_to_bytes

        token = base64.b64encode(unquote_to_bytes(user) + b":" + unquote_to_bytes(password)).decode("ascii")
        credentials["Authorization"] = f"Basic {token}"
    transport = settings.transport
    owned = transport is None
    if transport is None:
        transport = httpx.AsyncHTTPTransport(verify=settings.verify, trust_env=False, retries=0)
    redirects: list[str] = []
    try:
        for _hop in range(settings.max_redirects + 1):
            current = current.copy_with(userinfo=b"")
            if _origin(current) != origin:
                credentials = {}  # left the first origin: credentials never follow, even back
            address = await resolve_host(
                current.host,
                _port(current),
                resolver=settings.resolver,
                allow_private=settings.allow_private_hosts,
            )
            response = await _send(transport, current, str(address), credentials, settings)
            try:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise ToolError(
                            f"{current} answered {response.status_code} without a Location header"
                        )
                    redirects.append(str(current))
                    try:
                        current = _parse_url(str(current.join(location)))
                    except ToolError as exc:
                        raise ToolError(
                            f"{current} redirected to a URL that cannot be fetched: {exc}"
                        ) from None
                    continue
                return await _read(url, current, response, settings, tuple(redirects))
            finally:
                await response.aclose()
        raise ToolError(
            f"too many redirects (more than {settings.max_redirects}) starting at {redact_url(url)}"
        )
    finally:
        if owned:
            await transport.aclose()


async def _send(
    transport: httpx.AsyncBaseTransport,
    url: httpx.URL,
    address: str,
    credentials: Mapping[str, str],
    settings: WebSettings,
) -> httpx.Response:
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": _ACCEPT,
        "Accept-Encoding": "gzip, deflate",
        **credentials,
        "Host": _host_header(url),
    }
    timeouts = {
        "connect": settings.connect_timeout,
        "read": settings.read_timeout,
        "write": settings.read_timeout,
        "pool": settings.connect_timeout,
    }
    extensions: dict[str, object] = {"timeout": timeouts}
    if url.scheme == "https" and parse_ip_literal(url.host) is None:
        extensions["sni_hostname"] = url.host  # TLS name and certificate check: the hostname
    request = httpx.Request("GET", url.copy_with(host=address), headers=headers, extensions=extensions)
    try:
        response = await transport.handle_async_request(request)
    except httpx.HTTPError as exc:
        raise _asking_failed(exc, url, settings) from None
    response.request = request
    return response


def _detail(exc: BaseException) -> str:
    """What went wrong under an httpx error: the socket error when there is one (httpx's own
    text is often empty, or "All connection attempts failed"), else the first text found."""
    seen: set[int] = set()
    current: BaseException | None = exc
    first = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno:
            return os.strerror(current.errno)
        first = first or " ".join(str(current).split())[:200]
        current = current.__cause__ or current.__context__
    return first


def _asking_failed(exc: httpx.HTTPError, url: httpx.URL, settings: WebSettings) -> ToolError:
    """A ToolError saying what went wrong before the response's headers arrived."""
    host, detail = url.host, _detail(exc)
    because = f" ({detail})" if detail else ""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        text = f"could not connect to {host}: no connection within {settings.connect_timeout:g} s (connect_timeout)"
    elif isinstance(exc, httpx.ConnectError):
        text = f"could not connect to {host}{because or ' (connection refused)'}"
    elif isinstance(exc, httpx.ReadTimeout):
        text = f"{host} accepted the connection but sent no answer within {settings.read_timeout:g} s (read_timeout)"
    elif isinstance(exc, httpx.WriteTimeout):
        text = f"timed out after {settings.read_timeout:g} s sending the request to {host}"
    elif isinstance(exc, httpx.RemoteProtocolError):
        text = f"{host} closed the connection without a valid answer{because}"
    elif isinstance(exc, httpx.ReadError | httpx.WriteError):
        text = f"the connection to {host} broke before it answered{because or ' (reset)'}"
    else:
        text = f"cannot fetch {url}: {type(exc).__name__}{': ' + detail if detail else ''}"
    return ToolError(text)


def _reading_failed(
    exc: httpx.HTTPError, url: httpx.URL, settings: WebSettings, got: int, expected: str | None
) -> ToolError:
    """A ToolError saying what went wrong while the body was coming (and how much had come)."""
    detail = _detail(exc)
    read = f"after {got:,} bytes" + (f" of {int(expected):,}" if expected and expected.isdigit() else "")
    if isinstance(exc, httpx.ReadTimeout):
        text = (
            f"timed out reading the body of {url}: no data for {settings.read_timeout:g} s (read_timeout) "
            f"{read}; the server stopped sending"
        )
    elif isinstance(exc, httpx.RemoteProtocolError):
        text = f"the connection was closed before the body of {url} was complete ({read}): {detail or 'cut short'}"
    elif isinstance(exc, httpx.ReadError):
        text = f"the connection was broken while reading the body of {url} ({read}): {detail or 'reset by the server'}"
    else:
        text = (
            f"reading the body of {url} failed {read}: {type(exc).__name__}{': ' + detail if detail else ''}"
        )
    return ToolError(text)


async def _read(
    url: str, final: httpx.URL, response: httpx.Response, settings: WebSettings, redirects: tuple[str, ...]
) -> FetchedPage:
    media, charset = _media_type(response.headers.get("content-type", ""))
    if media and not _allowed(media, settings.content_types):
        raise ToolError(
            f"{final} is {media}, which web_fetch does not read (it reads: {', '.join(settings.content_types)})"
        )
    limit = settings.max_bytes if response.status_code < 400 else 4000
    body, truncated = await _read_body(response, limit, final, settings)
    if not media and b"\x00" in body[:2048]:
        raise ToolError(f"{final} has no content type and looks binary; web_fetch reads text only")
    if response.status_code >= 400:
        text = body.decode(charset or "utf-8", "replace")
        raise ToolError(
            f"HTTP {response.status_code} {response.reason_phrase} from {final}"
            + (f": {snippet(_strip_tags(text), 300)}" if text.strip() else "")
        )
    return FetchedPage(
        redact_url(url), str(final), response.status_code, media, charset, body, truncated, redirects
    )


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", text, flags=re.S | re.I)


class _Decoder:
    """Content-Encoding decoding that never produces more than it is asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._pending = b""

    def _new(self, first: bytes) -> zlib._Decompress:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped by the spec, raw by many servers: look at the header.
        wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def decode(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` bytes decoded from what has arrived so far (``data`` and any held back)."""
        if self.encoding in ("", "identity"):
            return data
        data = self._pending + data
        self._pending = b""
        out = bytearray()
        while data and len(out) < limit:
            if self._zlib is None:
                if len(data) < 2:
                    self._pending = data
                    break
                self._zlib = self._new(data)
            try:
                out += self._zlib.decompress(data, limit - len(out))
            except zlib.error as exc:
                raise ToolError(f"the response's {self.encoding} data is corrupt ({exc})") from None
            if self._zlib.eof:  # a gzip stream may have several members
                data = self._zlib.unused_data
                self._zlib = None
            else:
                data = self._zlib.unconsumed_tail
                if data and len(out) >= limit:
                    self._pending = data
        return bytes(out)


async def _read_body(
    response: httpx.Response, limit: int, url: httpx.URL, settings: WebSettings
) -> tuple[bytes, bool]:
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise ToolError(f"the response uses content-encoding {encoding!r}, which web_fetch does not decode")
    if response.is_stream_consumed:  # a custom transport answered with ready content (MockTransport)
        data = response.content
        return data[:limit], len(data) > limit
    decoder = _Decoder(encoding)
    body = bytearray()
    raw_total = 0
    raw_limit = limit + (1 << 20)  # compressed data that yields nothing must also stop
    try:
        async for chunk in response.aiter_raw():
            raw_total += len(chunk)
            body += decoder.decode(chunk, limit + 1 - len(body))
            if len(body) > limit or raw_total > raw_limit:
                return bytes(body[:limit]), True
    except httpx.HTTPError as exc:
        raise _reading_failed(exc, url, settings, raw_total, response.headers.get("content-length")) from None
    body += decoder.decode(b"", limit + 1 - len(body))
    if len(body) > limit:
        return bytes(body[:limit]), True
    return bytes(body), False
