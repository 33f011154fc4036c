"""``{{name}}`` placeholders in system prompts and user templates.

Deliberately tiny: a placeholder is a plain name (spaces inside the braces allowed), filled
with ``str(value)``. There are no expressions, filters, attribute or item access, so a
template can never run code or reach into an object; ``{{user.name}}`` is an error, not a
lookup. Substitution is one pass: a value that itself contains ``{{x}}`` (a user's message,
say) is inserted as it is and never expanded.

Anything else in double braces (``{{ "a": 1 }}`` in a JSON example) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import TemplateError

__all__ = ["placeholders", "render"]

# A plain name, or something that looks like an attempt at attribute/item access.
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*(?:\.|\[)[^{}]*)?)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def placeholders(template: str) -> list[str]:
    """The names a template uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(template):
        seen.setdefault(match.group(1).strip(), None)
    return list(seen)


def render(template: str, params: Mapping[str, Any], *, where: str = "template") -> str:
    """Fill every ``{{name}}`` in ``template`` from ``params``.

    A missing name raises :class:`~agentkit.errors.TemplateError` naming it (and ``where``
    the template came from); so does a placeholder that is not a plain name.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if not _NAME.fullmatch(name):
            raise TemplateError(
                f"{where}: placeholder {{{{{name}}}}} is not a plain name; templates fill {{{{name}}}} "
                "from template_params only (no attribute or item access)",
                placeholder=name,
            )
        if name not in params:
            raise TemplateError(
                f"{where}: no value for placeholder {{{{{name}}}}}; pass it in template_params "
                f"(given: {_listing(params)})",
                placeholder=name,
            )
        value = params[name]
        return value if isinstance(value, str) else str(value)

    return _PLACEHOLDER.sub(fill, template)


def _listing(names: Iterable[str]) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "none"
