"""What to tell a plugin's author when their plugin goes wrong: where it failed, and hooks
that pluggy silently ignores.

Kept apart from :mod:`agentkit.plugins` (which loads plugins) because it only reads: the
traceback of an import error, and the attributes of a plugin object.
"""

from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Iterable

__all__ = ["failure_place", "undecorated_hooks"]


def failure_place(exc: BaseException, package: str | None = None) -> str | None:
    """``"agentkit_x/plugin.py, line 3"``: where in the plugin ``exc`` happened.

    The deepest frame in the plugin's own package (``package``, the top-level module of its
    entry point) when there is one, else the deepest frame that is not Python's import
    machinery; a ``SyntaxError`` names the file and line it points at. Paths are shown from
    the folder the package was imported from.
    """
    if isinstance(exc, SyntaxError) and exc.filename:
        return _place(exc.filename, exc.lineno, package)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _machinery(f.filename)]
    if not frames:
        return None
    own = [f for f in frames if package and _in_package(f.filename, package)]
    frame = (own or frames)[-1]
    return _place(frame.filename, frame.lineno, package)


def _machinery(filename: str) -> bool:
    """Frames of the import system and of agentkit's loader: never the plugin's fault."""
    if filename.startswith("<"):  # <frozen importlib._bootstrap>, <string>
        return True
    parts = filename.replace(os.sep, "/").split("/")
    return parts[-2:] in (["importlib", "__init__.py"], ["metadata", "__init__.py"], ["agentkit", "plugins.py"])


def _in_package(filename: str, package: str) -> bool:
    return package in filename.replace(os.sep, "/").split("/")[:-1] or os.path.basename(filename) == f"{package}.py"


def _place(filename: str, lineno: int | None, package: str | None) -> str:
    shown = filename
    parts = filename.replace(os.sep, "/").split("/")
    if package and package in parts[:-1]:
        shown = "/".join(parts[len(parts) - 1 - parts[::-1].index(package) :])
    elif package and parts[-1] == f"{package}.py":
        shown = parts[-1]
    return f"{shown}, line {lineno}" if lineno else shown


def undecorated_hooks(plugin: object, hook_names: Iterable[str], marker: str) -> list[str]:
    """Names of functions on ``plugin`` named like a hook but lacking ``@hookimpl``.

    pluggy registers only functions carrying its marker attribute (``marker``, such as
    ``"agentkit_impl"``), so ``def register_tools(registry)`` without the decorator is
    silently ignored: the plugin loads and registers nothing. Functions imported into a
    module from elsewhere are not its own and are left alone.
    """
    module = plugin.__name__ if inspect.ismodule(plugin) else None
    found = []
    for name in sorted(set(hook_names)):
        value = getattr(plugin, name, None)
        if value is None or not callable(value) or getattr(value, marker, None) is not None:
            continue
        function = getattr(value, "__func__", value)
        if module is not None and getattr(function, "__module__", None) != module:
            continue
        if inspect.isfunction(function):
            found.append(name)
    return found
