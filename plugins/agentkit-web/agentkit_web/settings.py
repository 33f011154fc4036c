"""Settings of the web tools (``tool_settings["web"]`` in Python, ``[...tool_settings.web]`` in config).

Both tools share the table, so each factory accepts every key and rejects unknown ones by
name. ``resolver``, ``transport`` and a ready ``search_backend`` object are for Python (tests,
custom networking); config holds plain values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["DEFAULT_CONTENT_TYPES", "WebSettings"]

#: Content types web_fetch reads (``type/*`` and ``*+suffix`` patterns allowed).
DEFAULT_CONTENT_TYPES: tuple[str, ...] = (
    "text/*",
    "application/xhtml+xml",
    "application/xml",
    "application/*+xml",
    "application/json",
    "application/*+json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
)


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive number, got {value!r}")


def _non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


@attrs.frozen
class WebSettings:
    """What web_fetch may reach and how much it reads; which search backend web_search uses."""

    #: Allow private, loopback and link-local addresses (an intranet, a local server).
    #: Cloud-metadata addresses stay refused whatever this says.
    allow_private_hosts: bool = False
    #: Redirects followed (each hop checked again) before giving up.
    max_redirects: int = attrs.field(default=5, validator=_non_negative_int)
    #: Decoded body bytes read at most (the rest is not downloaded: gzip bombs, endless bodies).
    max_bytes: int = attrs.field(default=2_000_000, validator=_positive)
    #: Characters of one tool result; more is cut with a marker.
    max_chars: int = attrs.field(default=100_000, validator=_positive)
    #: Total deadline of one fetch, redirects and slow bodies included (seconds).
    timeout: float = attrs.field(default=30.0, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: Longest wait for the next bytes of a response.
    read_timeout: float = attrs.field(default=20.0, validator=_positive)
    user_agent: str = "agentkit-web/0.1 (an AI agent's fetch tool)"
    #: Extra request headers, sent to the first origin only (credentials never cross origins).
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=dict, repr=False)
    #: Content types web_fetch accepts; others are refused before their body is read.
    content_types: tuple[str, ...] = attrs.field(default=DEFAULT_CONTENT_TYPES, converter=tuple)
    #: TLS verification: True, False, or the path of a CA bundle.
    verify: bool | str = True
    #: SearXNG's base URL (default: the SEARXNG_URL environment variable).
    searxng_url: str | None = attrs.field(default=None, repr=False)
    #: The search backend: a registered name, or (Python) a ready SearchBackend.
    search_backend: Any = "searxng"
    #: Extra keyword arguments for the search backend's factory.
    search_settings: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, repr=False)
    #: Seconds a search may take.
    search_timeout: float = attrs.field(default=15.0, validator=_positive)
    #: Results web_search returns at most.
    max_results: int = attrs.field(default=10, validator=_positive)
    #: Python only: ``resolver(host, port) -> addresses`` (default: the system resolver).
    resolver: Any = None
    #: Python only: an ``httpx.AsyncBaseTransport`` that sends web_fetch's requests.
    transport: Any = None

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None = None, /, **kwargs: Any) -> WebSettings:
        """Settings from a config table; an unknown key is an error listing the known ones."""
        values = {**(settings or {}), **kwargs}
        known = {a.name for a in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(
                f"unknown web setting(s) {', '.join(map(repr, unknown))}; known settings: {', '.join(sorted(known))}"
            )
        if not isinstance(values.get("allow_private_hosts", False), bool):
            raise TypeError("allow_private_hosts must be true or false")
        return cls(**values)
