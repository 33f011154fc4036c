"""Where the Ollama server is: ``base_url``, else ``OLLAMA_HOST``, else localhost:11434.

Ollama's own clients accept ``OLLAMA_HOST`` in several shapes (``0.0.0.0``, ``:11435``,
``myhost:11434``, ``https://ollama.example.com``), because the same variable tells the
server where to listen. We accept the same shapes, so one environment serves both. A
credential in the URL (``http://user:pass@host``) becomes a Basic auth header and is
removed from the URL, so it can never show up in an error message or a log line.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import attrs

from agentkit.errors import ConfigError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ResolvedHost", "parse_host", "resolve_host"]

DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://localhost:{DEFAULT_PORT}"

# Addresses a server listens on but a client cannot usefully connect to.
_WILDCARDS = {"0.0.0.0": "localhost", "::": "localhost", "": "localhost"}


@attrs.frozen
class ResolvedHost:
    """The server's base URL (no credentials in it) and where it came from."""

    url: str
    source: str  # "base_url", "OLLAMA_HOST" or "default"
    authorization: str | None = attrs.field(default=None, repr=False)


def parse_host(value: str, *, source: str = "base_url") -> ResolvedHost:
    """Turn any ``OLLAMA_HOST``-style value into a base URL.

    A bare ``host`` or ``host:port`` gets ``http://`` and port 11434 when none is given; an
    explicit ``http://`` or ``https://`` URL keeps its scheme's default port, as with
    Ollama's own clients.
    """
    text = value.strip()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(
                f"the Ollama host {_safe(text)!r} has scheme {scheme!r}; use http:// or https://",
                key_path=source,
            )
        explicit = True
    else:
        scheme, rest, explicit = "http", text, False
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"cannot read the Ollama host {_safe(text)!r} ({exc})",
            key_path=source,
            hint="write it as host:port or http://host:port, e.g. localhost:11434",
        ) from None
    hostname = parts.hostname or ""
    hostname = _WILDCARDS.get(hostname, hostname)
    if port is None and not explicit:
        port = DEFAULT_PORT
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        raise ConfigError(
            f"the Ollama host {_safe(text)!r} points at Ollama's OpenAI-compatible endpoint (/v1)",
            key_path=source,
            hint="drop the /v1 to use the native API (provider 'ollama'), or use the OpenAI "
            "plugin's profile 'ollama-openai' for the /v1 endpoint",
        )
    if path.endswith("/api"):  # a common slip: the native paths already start with /api
        path = path[: -len("/api")]
    authorization = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return ResolvedHost(f"{scheme}://{netloc}{path}", source, authorization)


def resolve_host(base_url: str | None = None, environ: Mapping[str, str] | None = None) -> ResolvedHost:
    """The server to talk to: ``base_url`` if given, else ``OLLAMA_HOST``, else the default."""
    if base_url is not None and base_url.strip():
        return parse_host(base_url, source="base_url")
    env = os.environ if environ is None else environ
    value = env.get("OLLAMA_HOST", "").strip()
    if value:
        return parse_host(value, source="OLLAMA_HOST")
    return ResolvedHost(DEFAULT_HOST, "default")


def _safe(text: str) -> str:
    """``text`` with any ``user:password@`` removed, for messages."""
    scheme, sep, rest = text.rpartition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
