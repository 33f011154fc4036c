"""The connection string (DSN): where it comes from, what it names, and keeping its password out of sight.

A DSN is a URL (``postgresql://user:password@host:5432/db?sslmode=require``) or libpq's
``key=value`` form. It comes from the ``dsn`` setting, else from ``$DATABASE_URL``. Its
password must never reach a repr, an error, a log line or ``agentkit config show``: libpq
itself quotes the whole string in some parse errors, so every message that might hold part
of it goes through :meth:`Dsn.scrub` before anyone sees it.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["ENV_VAR", "Dsn", "conninfo_with", "redact"]

#: The environment variable a DSN is read from when none is given.
ENV_VAR = "DATABASE_URL"

_MASK = "***"
# scheme://user:password@  (the password ends at the last '@' before the host part)
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>\S*?)(?=@[^@\s/?#\"']*(?:[/?#\s\"']|$))", re.I
)
# password=value in key=value form: quoted ('...' with \' escapes) or up to whitespace
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<password>'(?:[^'\\]|\\.)*'?|[^\s'&]+)", re.I)


def redact(text: str) -> str:
    """``text`` with every password it holds as a DSN (URL user info, ``password=``) masked."""
    if "=" not in text and "://" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)


@attrs.frozen(repr=False)
class Dsn:
    """A parsed DSN. ``str()`` and ``repr()`` never show the password."""

    conninfo: str = attrs.field(repr=False)
    params: Mapping[str, str] = attrs.field(repr=False)

    @classmethod
    def parse(cls, dsn: str | None, environ: Mapping[str, str] | None = None) -> Dsn:
        """The DSN given, else ``$DATABASE_URL``; a ValueError (safe to show) when there is
        none or it cannot be parsed."""
        from psycopg.conninfo import conninfo_to_dict

        if dsn is None:
            dsn = (os.environ if environ is None else environ).get(ENV_VAR) or None
            if dsn is None:
                raise ValueError(f"no PostgreSQL DSN: give dsn=... or set {ENV_VAR}")
        if not isinstance(dsn, str):
            raise ValueError(f"the PostgreSQL DSN must be a string, not {type(dsn).__name__}")
        try:
            params = conninfo_to_dict(dsn)
        except Exception as exc:  # libpq's message may quote the whole string, password included
            reason = _scrub_unparsed(str(exc).strip(), dsn)
            raise ValueError(f"the PostgreSQL DSN is not valid: {reason}") from None
        return cls(dsn, {k: str(v) for k, v in params.items() if v is not None})

    @property
    def password(self) -> str | None:
        return self.params.get("password")

    @property
    def host(self) -> str:
        """The host (or socket directory) libpq will use, as it would pick it."""
        return (
            self.params.get("host") or self.params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
        )

    @property
    def port(self) -> str:
        return self.params.get("port") or os.environ.get("PGPORT") or "5432"

    @property
    def user(self) -> str:
        return self.params.get("user") or os.environ.get("PGUSER") or _os_user()

    @property
    def database(self) -> str:
        return self.params.get("dbname") or os.environ.get("PGDATABASE") or self.user

    def where(self) -> str:
        """'database "db" on host "h" port 5432 as user "u"': what messages name."""
        return f'database "{self.database}" on host "{self.host}" port {self.port} as user "{self.user}"'

    def display(self) -> str:
        """The DSN as a URL without its password (``:***`` shows that one is set)."""
        user = urllib.parse.quote(self.user, safe="")
        secret = f":{_MASK}" if self.password else ""
        host = self.host
        if host.startswith("/"):  # a socket directory goes in the query
            location = (
                f"/{urllib.parse.quote(self.database, safe='')}?host={urllib.parse.quote(host, safe='/')}"
            )
            return f"postgresql://{user}{secret}@{location}"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"postgresql://{user}{secret}@{host}:{self.port}/{urllib.parse.quote(self.database, safe='')}"

    def scrub(self, text: str) -> str:
        """``text`` with this DSN's password (raw, or as it appears percent-encoded) masked."""
        password = self.password
        if password:
            for form in {password, urllib.parse.quote(password, safe=""), urllib.parse.quote(password)}:
                if form:
                    text = text.replace(form, _MASK)
        return redact(text)

    def __repr__(self) -> str:
        return f"Dsn({self.display()!r})"

    __str__ = display


def _scrub_unparsed(message: str, dsn: str) -> str:
    message = message.replace(dsn, redact(dsn))
    return redact(message)


def _os_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return os.environ.get("USER", "postgres")


def conninfo_with(dsn: Dsn, **overrides: Any) -> str:
    """The DSN's conninfo with some parameters set (``connect_timeout``, ``application_name``)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn.conninfo, **{k: v for k, v in overrides.items() if v is not None})
