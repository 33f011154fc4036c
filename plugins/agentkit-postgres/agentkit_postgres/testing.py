"""A real, throwaway PostgreSQL server for tests and benchmarks.

:class:`PostgresServer` runs the server binaries already on the machine (Debian's
``postgresql`` package puts them in ``/usr/lib/postgresql/<version>/bin``; ``bin_dir`` or
``$AGENTKIT_TEST_PG_BIN`` points elsewhere) with a data directory of its own in a temporary
directory, listening on a Unix socket there and, with ``tcp=True``, on a free port of
127.0.0.1 where connections need a password. PostgreSQL refuses to run as root, so under
root it runs as the unprivileged ``postgres`` user (``runuser``). Nothing is installed and
nothing outside the temporary directory is touched::

    with PostgresServer() as server:
        store = PostgresStore(server.dsn())

:meth:`PostgresServer.kill` kills the server without warning (the postmaster and every
backend, SIGKILL), like a crash; :meth:`PostgresServer.start` then starts it again on the
same data, through crash recovery.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer", "find_binaries"]

#: The superuser's password for connections over TCP.
PASSWORD = "pg-test-secret"


def find_binaries(bin_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``.

    ``bin_dir``, else ``$AGENTKIT_TEST_PG_BIN``, else the newest
    ``/usr/lib/postgresql/*/bin``, else the directory of ``pg_ctl`` on the PATH.
    """
    candidates: list[Path] = []
    for given in (bin_dir, os.environ.get("AGENTKIT_TEST_PG_BIN")):
        if given:
            candidates.append(Path(given))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")],
        reverse=True,
    )
    candidates += [Path(p) for p in versions]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if all((candidate / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


class PostgresServer:
    """A PostgreSQL server of its own (see the module docstring). Stop it with :meth:`stop`
    (or use it as a context manager); :meth:`cleanup` also removes its directory."""

    def __init__(
        self,
        *,
        bin_dir: str | os.PathLike[str] | None = None,
        tcp: bool = False,
        settings: dict[str, Any] | None = None,
        run_as: str | None = None,
    ) -> None:
        found = find_binaries(bin_dir)
        if found is None:
            raise RuntimeError(
                "PostgreSQL's server binaries were not found (Debian/Ubuntu: apt-get install postgresql; "
                "or set AGENTKIT_TEST_PG_BIN to the directory holding initdb and pg_ctl)"
            )
        self.bin = found
        self.tcp = tcp
        self.settings = dict(settings or {})
        self.root = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port() if tcp else 5432
        self._user = self._pick_user(run_as)
        self._initialised = False
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @staticmethod
    def _pick_user(run_as: str | None) -> str | None:
        if os.geteuid() != 0:
            return None
        for name in (run_as, "postgres", "nobody"):
            if not name:
                continue
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            return name
        raise RuntimeError("PostgreSQL refuses to run as root, and there is no 'postgres' or 'nobody' user")

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}\n{log}")
        return done

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        """Create the data directory (first time), then start the server and wait until it answers."""
        if not self._initialised:
            self._run(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
            )
            with open(self.data / "pg_hba.conf", "w", encoding="utf-8") as hba:
                hba.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
            self._initialised = True
        options = [f"-k {self.root}", f"-p {self.port}"]
        options.append("-c listen_addresses=127.0.0.1" if self.tcp else "-c listen_addresses=''")
        for key, value in self.settings.items():
            options.append(f"-c {key}={value}")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "120",
            "-o",
            " ".join(options),
            "start",
        )
        if self.tcp:
            self.execute(f"ALTER ROLE postgres PASSWORD '{PASSWORD}'")
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) if it runs."""
        if self.pid() is not None:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop", check=False)

    def kill(self) -> None:
        """Kill the postmaster and every backend with SIGKILL, as a crash would; wait until gone."""
        pid = self.pid()
        if pid is None:
            return
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while any(_alive(v) for v in victims) and time.monotonic() < deadline:
            time.sleep(0.02)
        # A killed postmaster no one reaps (a container's init may not) stays a zombie, which
        # the next start would take for a running server: its lock files go with it.
        for stale in (self.data / "postmaster.pid", self.root / f".s.PGSQL.{self.port}.lock"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()

    def cleanup(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def pid(self) -> int | None:
        """The postmaster's pid while the server runs."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    # -- connecting ------------------------------------------------------------------------------

    def dsn(self, database: str = "postgres", *, user: str = "postgres", password: str | None = None) -> str:
        """A DSN for ``database``: over TCP when a ``password`` is given, else over the socket."""
        if password is not None:
            if not self.tcp:
                raise ValueError("a password is checked on TCP connections only: PostgresServer(tcp=True)")
            secret = urllib.parse.quote(password, safe="")
            return f"postgresql://{urllib.parse.quote(user)}:{secret}@127.0.0.1:{self.port}/{database}"
        return f"postgresql://{urllib.parse.quote(user)}@/{database}?host={self.root}&port={self.port}"

    def execute(
        self, statement: str, params: Any = None, *, database: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit); its rows, if any."""
        import psycopg

        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropped first if it exists); its DSN."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            continue
    return found
