"""Public names imported on first access (PEP 562): the ``__getattr__`` and ``__dir__`` of a package.

``import agentkit`` (and a plugin package such as ``agentkit_openai``) imports none of the
modules behind its public names: :func:`lazy_exports` gives the package the module-level
``__getattr__`` that imports a name's module when the name is first used, and keeps the value
in the package so the next access is a plain attribute. The package still imports its names
under ``if TYPE_CHECKING:`` for type checkers and IDEs.

This module imports nothing that ``import agentkit`` would not already have (``importlib`` is
loaded by every interpreter): it is on the start-up path.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public names are ``exports``
    (each name -> the module that defines it); ``namespace`` is the package's ``globals()``.

    Use: ``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
