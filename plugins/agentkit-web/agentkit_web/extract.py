"""Turning a fetched page into what a model reads: markdown, plain text, or the raw text.

HTML goes through html2text (scripts, styles and the head are dropped; links are made
absolute against the final URL). Other text types (JSON, plain text, XML) are returned as they
are in every mode.
"""

from __future__ import annotations

import html
import re

from .fetch import FetchedPage

__all__ = ["MODES", "decode_body", "extract", "is_html", "page_title"]

MODES = ("markdown", "text", "raw")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def is_html(page: FetchedPage) -> bool:
    if page.content_type in ("text/html", "application/xhtml+xml"):
        return True
    if page.content_type:
        return False
    head = page.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def decode_body(page: FetchedPage) -> str:
    """The body as text: the declared charset, a ``<meta charset>``, or UTF-8 (bad bytes replaced)."""
    charset = page.charset
    if charset is None and is_html(page):
        match = _META_CHARSET.search(page.body[:4096])
        if match:
            charset = match.group(1).decode("ascii")
    try:
        return page.body.decode(charset or "utf-8", "replace")
    except LookupError:
        return page.body.decode("utf-8", "replace")


def page_title(text: str) -> str | None:
    match = _TITLE.search(text[:100_000])
    if not match:
        return None
    title = " ".join(html.unescape(match.group(1)).split())
    return title[:300] or None


def extract(page: FetchedPage, mode: str = "markdown") -> str:
    """The page's content in ``mode``: ``"markdown"``, ``"text"`` or ``"raw"``."""
    text = decode_body(page)
    if mode == "raw" or not is_html(page):
        return text
    import html2text

    converter = html2text.HTML2Text(baseurl=page.final_url, bodywidth=0)
    converter.ignore_images = True
    converter.single_line_break = False
    if mode == "text":
        converter.ignore_links = True
        converter.ignore_emphasis = True
        converter.ignore_tables = False
    result = converter.handle(text)
    return re.sub(r"\n{3,}", "\n\n", result).strip()
