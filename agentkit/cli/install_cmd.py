"""``agentkit install`` and ``agentkit uninstall``: hand over to the installer that owns the
environment agentkit runs in.

- uv, when agentkit runs under it: ``uv run`` and ``uvx`` set ``UV`` (the uv binary) in
  the environment, uv-made virtual environments say ``uv = ...`` in ``pyvenv.cfg``, and
  packages uv installed carry ``uv`` in their ``INSTALLER`` record. uv venvs have no pip.
  The command is ``uv pip install --python <this interpreter> ...``.
- pip otherwise: ``<this interpreter> -m pip install ...``.

Either way packages land in the environment of the interpreter running agentkit, so the new
plugin's entry point is seen by the next ``agentkit`` command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ._common import say

__all__ = ["detect_installer", "installer_command", "run"]


def _installed_by() -> str | None:
    from importlib import metadata

    try:
        text = metadata.distribution("agentkit").read_text("INSTALLER")
    except metadata.PackageNotFoundError:
        return None
    return text.strip().lower() if text else None


def _venv_made_by_uv(prefix: str) -> bool:
    try:
        cfg = (Path(prefix) / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.split("=", 1)[0].strip().lower() == "uv" for line in cfg.splitlines() if "=" in line)


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def detect_installer(environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """``("uv", path_to_uv)`` or ``("pip", None)``: who owns this environment."""
    env = os.environ if environ is None else environ
    uv = env.get("UV") or shutil.which("uv")
    under_uv = bool(env.get("UV")) or _venv_made_by_uv(sys.prefix) or _installed_by() == "uv"
    if uv and (under_uv or not _has_pip()):
        return "uv", uv
    return "pip", None


def installer_command(
    action: str,
    packages: list[str],
    *,
    upgrade: bool = False,
    editable: bool = False,
    yes: bool = False,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The command line that installs or uninstalls ``packages`` for this interpreter."""
    tool, uv = detect_installer(environ)
    if tool == "uv":
        assert uv is not None
        cmd = [uv, "pip", action, "--python", sys.executable]
    else:
        cmd = [sys.executable, "-m", "pip", action]
        if action == "uninstall" and yes:
            cmd.append("-y")
    if action == "install":
        if upgrade:
            cmd.append("--upgrade")
        if editable:
            for package in packages:
                cmd += ["-e", package]
            return cmd
    return [*cmd, *packages]


def refuse_removing_agentkit(packages: list[str]) -> None:
    """``agentkit uninstall`` removes plugins; removing agentkit itself is not its job."""
    import re

    for package in packages:
        name = re.split(r"[\s\[<>=!~;@]", package.strip(), maxsplit=1)[0]
        if re.sub(r"[-_.]+", "-", name).lower() == "agentkit":
            from ._exit import UsageFailure

            installer = "uv pip" if detect_installer()[0] == "uv" else f"{sys.executable} -m pip"
            raise UsageFailure(
                f"{package!r} is agentkit itself, not a plugin: `agentkit uninstall` removes plugins, and "
                "would leave this command without the program it runs",
                hint=f"to remove agentkit itself, ask the installer: {installer} uninstall agentkit",
            )


def run(args: argparse.Namespace) -> int:
    action = "install" if args.command == "install" else "uninstall"
    if action == "uninstall":
        refuse_removing_agentkit(list(args.packages))
    tool, _uv = detect_installer()
    cmd = installer_command(
        action,
        list(args.packages),
        upgrade=getattr(args, "upgrade", False),
        editable=getattr(args, "editable", False),
        yes=getattr(args, "yes", False),
    )
    if args.dry_run:
        sys.stdout.write(" ".join(_quote(c) for c in cmd) + "\n")
        return 0
    if tool == "pip" and not _has_pip():
        from ..errors import PluginError

        raise PluginError(
            f"this environment ({sys.prefix}) has neither pip nor uv",
            hint="install pip (python -m ensurepip) or uv, then try again",
        )
    say("agentkit: " + " ".join(_quote(c) for c in cmd))
    completed = subprocess.run(cmd, check=False)
    if completed.returncode != 0:
        from ..errors import PluginError

        raise PluginError(
            f"{tool} {action} failed (exit code {completed.returncode})",
            hint="see the installer's output above",
        )
    return 0


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
