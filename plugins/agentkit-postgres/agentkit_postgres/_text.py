"""Python text as PostgreSQL text, exactly: NUL, lone surrogates, JSON, and search terms.

PostgreSQL ``text`` holds valid UTF-8 without NUL, while agentkit accepts any session id,
user id, title or memory id (``"nul\\x00byte"`` is one of the conformance suite's ids). So
such values are stored escaped, reversibly, with ``\\x01`` as the escape character:
``\\x01`` → ``\\x01\\x01``, NUL → ``\\x01\\x02``, a lone surrogate → ``\\x01\\x03`` and four
hex digits. Text without those characters (nearly all) is stored as it is, so the tables
stay readable with ``psql``. Equal values stay equal, so lookups and uniqueness work on the
stored form.

Messages are stored as their JSON text (JSON escapes NUL), and search runs over *terms*
computed here, by agentkit's own tokenizer, so that search means the same thing in every
store and whatever the database's locale.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["decode", "decode_opt", "encode", "encode_opt", "json_text", "search_text", "tsvector_literal"]

_SPECIAL = re.compile("[\x00\x01\ud800-\udfff]")
_ESCAPED = re.compile("\x01(\x01|\x02|\x03[0-9a-f]{4})")
#: The longest lexeme PostgreSQL indexes (bytes), and the size limit of a tsvector.
MAX_LEXEME_BYTES = 2046
MAX_TSVECTOR_BYTES = 1_000_000


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\x01":
        return "\x01\x01"
    if char == "\x00":
        return "\x01\x02"
    return f"\x01\x03{ord(char):04x}"


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code == "\x01":
        return "\x01"
    if code == "\x02":
        return "\x00"
    return chr(int(code[1:], 16))


def encode(value: str) -> str:
    """``value`` as a PostgreSQL text value (see the module docstring)."""
    if value.isascii() and "\x00" not in value and "\x01" not in value:
        return value
    return _SPECIAL.sub(_escape, value)


def decode(value: str) -> str:
    """The inverse of :func:`encode`."""
    return _ESCAPED.sub(_unescape, value) if "\x01" in value else value


def encode_opt(value: str | None) -> str | None:
    return None if value is None else encode(value)


def decode_opt(value: str | None) -> str | None:
    return None if value is None else decode(value)


_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_text(data: Any) -> str:
    """``data`` as compact JSON text PostgreSQL accepts (a lone surrogate is escaped)."""
    text = _encode_json(data)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":"))
    return text


def search_text(text: str) -> str:
    """Text for a column that is only shown (search hits): NUL dropped, surrogates replaced."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "") if "\x00" in text else text


def tsvector_literal(terms: Iterable[str], *, positions: bool = False) -> str:
    """A ``tsvector`` literal holding exactly ``terms`` (lexemes not parsed by PostgreSQL).

    Lexemes too long for PostgreSQL to index are left out, and so are those beyond the size
    limit of one tsvector (a message of a megabyte of distinct words is indexed on its first
    words). With ``positions``, each lexeme carries its positions (1-based, capped at 16383
    like PostgreSQL's), which ``ts_rank`` uses.
    """
    seen: dict[str, list[int]] = {}
    size = 0
    for n, term in enumerate(terms, start=1):
        if term in seen:
            if positions and len(seen[term]) < 256:
                seen[term].append(min(n, 16383))
            continue
        length = len(term.encode("utf-8", "replace"))
        if length > MAX_LEXEME_BYTES or size + length > MAX_TSVECTOR_BYTES:
            continue
        size += length + 8
        seen[term] = [min(n, 16383)]
    parts = []
    for term, where in seen.items():
        lexeme = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
        parts.append(f"{lexeme}:{','.join(map(str, where))}" if positions else lexeme)
    return " ".join(parts)
