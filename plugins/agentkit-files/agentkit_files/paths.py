"""Confinement to a root directory: the one place file paths from a model are checked.

The root is resolved once. A model's path is checked component by component: ``..``,
absolute paths, NUL bytes, paths longer than ``max_path_chars`` or deeper than
``max_path_depth`` (``write`` would otherwise build thousands of nested folders), symlinks that lead outside the root or nowhere (dangling, also in a
parent folder of a file about to be created) and special files (FIFOs, devices, sockets) are
refused; containment compares path *components*, so ``/srv/root-evil`` is not inside
``/srv/root``.

Checking and then opening by name leaves a window for a swap (a directory replaced by a
symlink). So files are then opened by walking from a descriptor of the root with
``O_NOFOLLOW`` at every step: the resolved path has no symlinks, and if one appears in the
meantime the open fails instead of following it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import PurePath

import attrs

from agentkit.errors import ToolError

__all__ = ["Resolved", "Root", "kind_of"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def kind_of(mode: int) -> str:
    """A short human name for a file type (``"FIFO"``, ``"directory"``...)."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


@attrs.frozen
class Resolved:
    """A checked path: where it really is, how to name it to the model, and what it is."""

    real: str
    shown: str
    exists: bool
    is_dir: bool = False
    size: int = 0
    mode: int = 0


class Root:
    """A directory the file tools are confined to, resolved once when the tools are built."""

    def __init__(
        self, path: str | os.PathLike[str] = ".", *, max_path_chars: int = 4096, max_path_depth: int = 64
    ) -> None:
        self.max_path_chars = max_path_chars
        self.max_path_depth = max_path_depth
        try:
            real = os.path.realpath(os.path.expanduser(os.fspath(path)))
        except OSError as exc:
            raise ToolError(f"root directory {os.fspath(path)!r} cannot be used: {exc.strerror}") from None
        try:
            st = os.stat(real)
        except OSError as exc:
            raise ToolError(f"root directory {os.fspath(path)!r} cannot be used: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise ToolError(f"root {os.fspath(path)!r} is not a directory")
        self.path = real
        self._parts = PurePath(real).parts

    def __repr__(self) -> str:
        return f"Root({self.path!r})"

    # -- checking ---------------------------------------------------------------------------

    def contains(self, real: str) -> bool:
        """Whether an absolute, resolved path is the root or below it (compared by component)."""
        return PurePath(real).parts[: len(self._parts)] == self._parts

    def relative(self, real: str) -> str:
        """How a real path inside the root is shown to the model (``"."`` for the root)."""
        rel = PurePath(real).parts[len(self._parts) :]
        return "/".join(rel) or "."

    def components(self, path: str) -> list[str]:
        """The components of a model's path, after refusing absolute paths, ``..`` and NULs."""
        if not isinstance(path, str):
            raise ToolError(f"path must be a string, got {type(path).__name__}")
        if "\x00" in path:
            raise ToolError("path contains a NUL byte")
        if len(path) > self.max_path_chars:
            raise ToolError(
                f"the path is {len(path):,} characters long; paths may have at most {self.max_path_chars:,} "
                "(max_path_chars): give a shorter one"
            )
        if path.startswith(("/", "\\")) or os.path.isabs(path):
            raise ToolError(
                f"absolute paths are not allowed ({path!r}): give a path relative to the root, "
                "for example 'src/app.py' or '.'"
            )
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ToolError(f"'..' is not allowed in paths ({path!r}): the tools only see inside the root")
        if len(parts) > self.max_path_depth:
            raise ToolError(
                f"the path is {len(parts):,} folders deep; paths may have at most {self.max_path_depth} levels "
                "(max_path_depth): give a shallower one"
            )
        return parts

    def resolve(self, path: str, *, must_exist: bool = True) -> Resolved:
        """Check a model's path and say where it really is.

        Symlinks are followed only when their target exists and is inside the root. A path
        that does not exist is refused unless ``must_exist`` is false (a file to create);
        then every existing parent on the way is checked the same way.
        """
        parts = self.components(path)
        shown = "/".join(parts) or "."
        current = self.path
        for index, name in enumerate(parts):
            candidate = os.path.join(current, name)
            try:
                st = os.lstat(candidate)
            except FileNotFoundError:
                if must_exist:
                    raise ToolError(f"{shown!r} does not exist") from None
                return Resolved(os.path.join(current, *parts[index:]), shown, exists=False)
            except NotADirectoryError:
                raise ToolError(f"{self.relative(current)!r} is not a directory (in {shown!r})") from None
            except OSError as exc:
                raise ToolError(f"cannot use {shown!r}: {exc.strerror}") from None
            if stat.S_ISLNK(st.st_mode):
                link = "/".join(parts[: index + 1])
                try:
                    target = os.path.realpath(candidate)
                except OSError as exc:  # the link changed while it was being read
                    raise ToolError(f"cannot use {link!r}: it changed while being checked ({exc.strerror})") from None
                if not self.contains(target):
                    raise ToolError(f"{link!r} is a symlink that points outside the root; it is not followed")
                if not os.path.lexists(target):
                    raise ToolError(f"{link!r} is a dangling symlink (its target does not exist)")
                candidate = target
            elif index < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                raise ToolError(f"{'/'.join(parts[: index + 1])!r} is not a directory (in {shown!r})")
            current = candidate
        if not self.contains(current):  # cannot happen after the checks above; belt and braces
            raise ToolError(f"{shown!r} is outside the root")
        try:
            st = os.stat(current)
        except OSError as exc:
            raise ToolError(f"cannot use {shown!r}: {exc.strerror}") from None
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise ToolError(
                f"{shown!r} is a {kind_of(st.st_mode)}: only regular files and directories can be used"
            )
        return Resolved(current, shown, True, stat.S_ISDIR(st.st_mode), st.st_size, st.st_mode)

    # -- opening without following symlinks ---------------------------------------------------

    def _walk_parts(self, real: str) -> tuple[str, ...]:
        if not self.contains(real):
            raise ToolError(f"{real!r} is outside the root")
        return PurePath(real).parts[len(self._parts) :]

    def _open_dir(self, parts: tuple[str, ...], *, create: bool = False) -> int:
        """A descriptor of the directory ``root/parts``, walked with O_NOFOLLOW at each step."""
        fd = os.open(self.path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            for name in parts:
                try:
                    nfd = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fd)
                    nfd = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except OSError as exc:
            os.close(fd)
            if isinstance(exc, FileNotFoundError):
                raise ToolError(f"{'/'.join(parts)!r} does not exist") from None
            raise ToolError(
                f"{'/'.join(parts)!r} changed while being opened, or is not a plain directory ({exc.strerror})"
            ) from None
        return fd

    @contextlib.contextmanager
    def open_dir(self, real: str, *, create: bool = False) -> Iterator[int]:
        """A descriptor of a directory inside the root (created, with its parents, if asked)."""
        fd = self._open_dir(self._walk_parts(real), create=create)
        try:
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def open_read(self, resolved: Resolved) -> Iterator[int]:
        """A read descriptor of a checked regular file; refuses anything swapped in meanwhile."""
        parts = self._walk_parts(resolved.real)
        if not parts:
            raise ToolError(f"{resolved.shown!r} is a directory")
        dfd = self._open_dir(parts[:-1])
        try:
            try:
                fd = os.open(parts[-1], os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC, dir_fd=dfd)
            except OSError as exc:
                raise ToolError(f"cannot open {resolved.shown!r}: {exc.strerror}") from None
        finally:
            os.close(dfd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ToolError(f"{resolved.shown!r} is a {kind_of(st.st_mode)}, not a regular file")
            yield fd
        finally:
            os.close(fd)

    def write_file(self, resolved: Resolved, data: bytes, *, replace: bool, mode: int | None = None) -> None:
        """Write ``data`` to a checked path.

        ``replace=False`` creates the file and fails if it exists (no silent overwrite, even
        in a race); missing parent folders are created. ``replace=True`` writes a temporary
        file beside it and renames it over the old one, so readers see the old or the new
        content, never half; ``mode`` (the old file's permissions) is kept.
        """
        parts = self._walk_parts(resolved.real)
        if not parts:
            raise ToolError("cannot write to the root directory itself")
        name = parts[-1]
        with self.open_dir(os.path.join(self.path, *parts[:-1]), create=not replace) as dfd:
            if not replace:
                try:
                    fd = os.open(
                        name,
                        os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC,
                        0o666,
                        dir_fd=dfd,
                    )
                except FileExistsError:
                    raise ToolError(f"{resolved.shown!r} already exists") from None
                except OSError as exc:
                    raise ToolError(f"cannot create {resolved.shown!r}: {exc.strerror}") from None
                try:
                    _write_all(fd, data)
                except BaseException as exc:
                    os.close(fd)
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dfd)
                    if isinstance(exc, OSError):
                        raise ToolError(f"cannot write {resolved.shown!r}: {exc.strerror}") from None
                    raise
                os.close(fd)
                return
            tmp = f".{name[:200]}.{secrets.token_hex(4)}.agentkit-tmp"
            try:
                fd = os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600, dir_fd=dfd
                )
            except OSError as exc:
                raise ToolError(f"cannot write {resolved.shown!r}: {exc.strerror}") from None
            try:
                try:
                    _write_all(fd, data)
                    if mode is not None:
                        os.fchmod(fd, stat.S_IMODE(mode))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dfd)
                if isinstance(exc, OSError):
                    raise ToolError(f"cannot write {resolved.shown!r}: {exc.strerror}") from None
                raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
