"""bash: run a shell command in the root. Off unless named. NOT a sandbox.

The command runs with the user's rights and can read, change or send anything the user can;
starting in the root is a convenience, not confinement. What this module does promise:

- the child environment carries no variable whose name looks like a key, token, secret or
  password (:func:`scrubbed_environment`), so a model cannot simply ``echo $OPENAI_API_KEY``;
- the command runs in its own process group, and a timeout (or the run being cancelled)
  kills the whole group; when the command ends, what it left running in its group is killed;
- its output (stdout and stderr together) is capped while it is read: the beginning and the
  end are kept, the middle is cut with a marker;
- an approval callback can refuse each command before it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import signal
from collections.abc import Mapping

from agentkit.errors import ToolError

from .paths import Root
from .settings import FilesSettings

__all__ = ["is_secret_name", "run_command", "scrubbed_environment"]

_SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|COOKIE|SESSION|PRIVATE|SIGNATURE|SALT|AUTH(?!OR)|"
    r"(?:^|_)PASS(?:$|_)|(?:^|_)PWD$|(?:^|_)PW(?:$|_)|(?:^|_)DSN$|(?:^|_)OTP(?:$|_)",
    re.IGNORECASE,
)
#: Names that match the pattern above but are known to hold no secret.
_HARMLESS = frozenset({"PWD", "OLDPWD", "KEYTIMEOUT", "KEYMAP"})
#: What a command gets with ``bash_inherit_env=False`` (plus ``LC_*``).
_MINIMAL = ("PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TMPDIR", "USER", "LOGNAME", "SHELL", "TZ")


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name looks like it holds a key, token, secret or password."""
    return name.upper() not in _HARMLESS and _SECRET_NAME.search(name) is not None


def scrubbed_environment(
    environ: Mapping[str, str], *, inherit: bool = True, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment a command gets: ``environ`` without secret-looking names, plus ``extra``."""
    if inherit:
        env = {k: v for k, v in environ.items() if not is_secret_name(k)}
    else:
        env = {
            k: v
            for k, v in environ.items()
            if (k in _MINIMAL or k.startswith("LC_")) and not is_secret_name(k)
        }
    env.update(extra or {})
    return env


class _CappedOutput:
    """Keeps the first and the last part of a stream, counting what falls in between."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit * 2 // 3
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        extra = len(self.tail) - self.tail_limit
        if extra > 0:
            del self.tail[:extra]
            self.dropped += extra

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.dropped:
            return head + self.tail.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        return f"{head}\n[... {self.dropped} bytes of output cut ...]\n{tail}"


async def _approved(settings: FilesSettings, command: str) -> bool:
    if settings.bash_approve is None:
        return True
    verdict = settings.bash_approve(command)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class _Protocol(asyncio.SubprocessProtocol):
    """Feeds output into the cap as it arrives; says when the shell exits and when pipes close."""

    def __init__(self, output: _CappedOutput, loop: asyncio.AbstractEventLoop) -> None:
        self.output = output
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self.output.feed(data.encode() if isinstance(data, str) else data)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def run_command(
    root: Root,
    settings: FilesSettings,
    command: str,
    timeout: float | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Run ``command`` with ``shell -c`` in the root; returns its capped output and exit code."""
    if not isinstance(command, str) or not command.strip():
        raise ToolError("command must be a non-empty shell command")
    if "\x00" in command:
        raise ToolError("command contains a NUL byte")
    if timeout is None:
        timeout = settings.bash_timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ToolError(f"timeout must be a positive number of seconds, got {timeout!r}")
    timeout = min(float(timeout), settings.bash_max_timeout)
    if not await _approved(settings, command):
        raise ToolError("the command was not approved by the user; do not run it again without asking")
    env = scrubbed_environment(
        os.environ if environ is None else environ, inherit=settings.bash_inherit_env, extra=settings.bash_env
    )
    output = _CappedOutput(settings.bash_output_chars)
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(output, loop),
            settings.bash_shell,
            "-c",
            "--",
            command,
            cwd=root.path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise ToolError(f"cannot start the shell {settings.bash_shell!r}: {exc.strerror}") from None
    pid = transport.get_pid()
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(protocol.exited)
        except TimeoutError:
            timed_out = True
        _kill_group(pid)  # the timeout, or what the command left running in the background
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(protocol.exited), 5.0)
        # Output still in the pipe arrives at once; a process that escaped the group (setsid)
        # and keeps the pipe open must not hold the tool: give it a moment, then stop reading.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(protocol.closed), 2.0)
    finally:
        _kill_group(pid)
        if not protocol.exited.done():
            # Cancelled (a tool timeout, abort()): the group is killed; wait for the shell to be
            # reaped so that no process outlives the tool, then let the cancellation go on.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(protocol.exited), 5.0)
        transport.close()
    text = output.text().rstrip("\n")
    if timed_out:
        raise ToolError(
            f"command timed out after {timeout:g} s and was killed with its process group; output so far:\n{text}"
            if text
            else f"command timed out after {timeout:g} s and was killed with its process group (no output)"
        )
    code = transport.get_returncode()
    status = f"[exit code {code}]" if code is not None and code >= 0 else f"[killed by signal {-(code or 0)}]"
    return f"{text}\n{status}" if text else f"(no output)\n{status}"
