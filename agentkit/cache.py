"""Response cache: replay a model's answer to a request seen before.

Opt-in only (``Agent(cache=...)``): a :class:`ResponseCache` object, a directory path (the
built-in :class:`DirectoryCache`), ``True`` for the default directory
``$AGENTKIT_HOME/cache/responses``, or the name of a cache a plugin registered with
``registry.add_cache``. The key is the SHA-256 of the request in agentkit's JSON format
plus the provider's name (and base URL, when one is set), so it never holds an API key; a
replayed response has ``cached=True``.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .events import ModelResponse
from .providers import ModelRequest
from .stores import agentkit_home

if TYPE_CHECKING:
    from .plugins import PluginHost

__all__ = ["DirectoryCache", "ResponseCache", "cache_key", "default_cache_dir", "resolve_cache"]

log = logging.getLogger("agentkit.cache")

_KEY = re.compile(r"^[0-9a-f]{64}$")


class ResponseCache(abc.ABC):
    """Where replayable model responses live. Keys are hex SHA-256 digests."""

    @abc.abstractmethod
    async def get(self, key: str) -> ModelResponse | None:
        """The response stored under ``key``, or ``None``."""

    @abc.abstractmethod
    async def put(self, key: str, response: ModelResponse) -> None:
        """Store ``response`` under ``key``, replacing any older one."""


def cache_key(request: ModelRequest, provider: str) -> str:
    """The cache key of ``request`` sent to ``provider`` (a name, never credentials)."""
    from .serialization import to_dict

    body = to_dict(request)
    for message in body.get("messages", ()):
        message.pop("duration", None)  # how long earlier answers took is not part of the question
    blob = json.dumps({"provider": provider, "request": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """``$AGENTKIT_HOME/cache/responses`` (``AGENTKIT_HOME`` defaults to ``~/.agentkit``)."""
    return agentkit_home() / "cache" / "responses"


class DirectoryCache(ResponseCache):
    """One JSON file per response in a private directory (0700; files 0600).

    Writes go to a temporary file that is renamed into place, so a reader never sees half a
    file and concurrent writers of the same key do not corrupt it. A file that cannot be
    read is treated as a miss.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"DirectoryCache({str(self.path)!r})"

    def _file(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"invalid cache key {key!r}; expected a hex SHA-256 digest")
        return self.path / f"{key}.json"

    async def get(self, key: str) -> ModelResponse | None:
        return await asyncio.to_thread(self._get, key)

    async def put(self, key: str, response: ModelResponse) -> None:
        await asyncio.to_thread(self._put, key, response)

    def _get(self, key: str) -> ModelResponse | None:
        from .serialization import from_dict

        file = self._file(key)
        try:
            data = json.loads(file.read_text("utf-8"))
            return from_dict(data, ModelResponse)
        except FileNotFoundError:
            return None
        except Exception as exc:
            log.warning("ignoring unreadable cache file %s (%s: %s)", file, type(exc).__name__, exc)
            return None

    def _put(self, key: str, response: ModelResponse) -> None:
        from .serialization import to_dict

        file = self._file(key)
        if not self.path.is_dir():  # a directory the caller already had keeps its mode
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.path, 0o700)  # mkdir's mode is filtered by the umask
        data = json.dumps(to_dict(response), ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, file)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def resolve_cache(spec: Any, *, host: PluginHost | None = None) -> ResponseCache | None:
    """A cache from ``Agent(cache=...)``: ``None``/``False`` (off), a cache object, ``True``
    (the default directory), a path, or a registered cache name."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return DirectoryCache(default_cache_dir())
    if isinstance(spec, os.PathLike):
        return DirectoryCache(spec)
    if isinstance(spec, str):
        if host is None:
            from .plugins import get_host

            host = get_host()
        registry = host.registry("cache")
        if spec in registry:
            return registry.get(spec).value()  # type: ignore[no-any-return]
        if os.sep in spec or "/" in spec or spec.startswith(("~", ".")):
            return DirectoryCache(spec)
        raise ConfigError(
            registry.unknown_message(spec),
            key_path="cache",
            hint=f"for a directory cache pass a path, such as './{spec}'",
        )
    if callable(getattr(spec, "get", None)) and callable(getattr(spec, "put", None)):
        return spec  # type: ignore[no-any-return]
    raise ConfigError(
        f"cannot use {type(spec).__name__} as a response cache; give a ResponseCache, a directory path, "
        "True, or a registered cache name",
        key_path="cache",
    )
