"""bash: off unless named, scrubbed environment, process-group kills, capped output, approval."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agentkit.errors import ToolError
from agentkit_files.paths import Root
from agentkit_files.settings import FilesSettings
from agentkit_files.shell import is_secret_name, run_command, scrubbed_environment

pytestmark = pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="needs /bin/bash")

SECRET_NAMES = [
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "HF_TOKEN",
    "NPM_TOKEN",
    "DB_PASSWORD",
    "PGPASSWORD",
    "MYSQL_PWD",
    "REDIS_PASS",
    "SMTP_PASSWD",
    "DJANGO_SECRET",
    "client_secret",
    "apikey",
    "SSH_AUTH_SOCK",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SENTRY_AUTH_TOKEN",
    "GPG_PASSPHRASE",
    "JWT_PRIVATE_KEY",
    "SESSION_COOKIE",
]
HARMLESS_NAMES = [
    "PATH",
    "HOME",
    "PWD",
    "OLDPWD",
    "LANG",
    "TERM",
    "USER",
    "GIT_AUTHOR_NAME",
    "EDITOR",
    "SHELL",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_ordinary_names_are_kept(name: str) -> None:
    assert not is_secret_name(name)


def test_minimal_environment_and_extras() -> None:
    environ = {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "EDITOR": "vi", "API_TOKEN": "t"}
    assert scrubbed_environment(environ, inherit=False, extra={"MY_TOKEN": "given"}) == {
        "PATH": "/bin",
        "HOME": "/h",
        "LC_ALL": "C",
        "MY_TOKEN": "given",
    }


async def test_child_environment_has_no_secrets(root: Root, settings: FilesSettings) -> None:
    environ = {**os.environ, **{name: f"value-of-{name}" for name in SECRET_NAMES}, "VISIBLE": "yes"}
    out = await run_command(root, settings, "env", environ=environ)
    assert "VISIBLE=yes" in out
    for name in SECRET_NAMES:
        assert f"value-of-{name}" not in out


async def test_real_process_environment_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch, root: Root, settings: FilesSettings
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-be-seen")
    out = await run_command(root, settings, 'echo "key=[$OPENAI_API_KEY]"')
    assert out == "key=[]\n[exit code 0]"


async def test_runs_in_the_root_with_exit_code(tree: Path, root: Root, settings: FilesSettings) -> None:
    assert await run_command(root, settings, "pwd") == f"{tree}\n[exit code 0]"
    assert await run_command(root, settings, "echo oops >&2; exit 3") == "oops\n[exit code 3]"
    assert await run_command(root, settings, "true") == "(no output)\n[exit code 0]"
    # a command that looks like an option is still the command
    assert "command not found" in await run_command(root, settings, "-x")


async def test_timeout_kills_the_whole_process_group(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree))
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"timed out after 0\.5 s and was killed") as exc:
        await run_command(root, settings, "sleep 60 & echo child=$!; sleep 60", timeout=0.5)
    assert time.monotonic() - started < 20
    child = int(str(exc.value).split("child=")[1].split()[0])
    await _gone(child)


async def test_background_processes_are_killed_when_the_command_ends(
    root: Root, settings: FilesSettings
) -> None:
    out = await run_command(root, settings, "sleep 60 & echo $!")
    await _gone(int(out.split()[0]))


async def test_cancellation_kills_the_group(tree: Path, root: Root, settings: FilesSettings) -> None:
    task = asyncio.ensure_future(run_command(root, settings, "echo $$ > pid.txt; sleep 60"))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if (tree / "pid.txt").exists() and (tree / "pid.txt").read_text().strip():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _gone(int((tree / "pid.txt").read_text()))


async def test_output_is_capped_while_reading(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), bash_output_chars=3000)
    out = await run_command(root, settings, "echo START; yes filler | head -c 50000000; echo; echo END")
    assert out.startswith("START\n")
    assert out.rstrip().endswith("END\n[exit code 0]")
    assert "bytes of output cut" in out
    assert len(out) < 3200


async def test_timeout_is_clamped_to_the_maximum(tree: Path, root: Root) -> None:
    settings = FilesSettings(root=str(tree), bash_max_timeout=0.3)
    with pytest.raises(ToolError, match=r"timed out after 0\.3 s"):
        await run_command(root, settings, "sleep 30", timeout=9999)


async def test_approval_callback_gates_each_command(tree: Path, root: Root) -> None:
    seen: list[str] = []

    def approve(command: str) -> bool:
        seen.append(command)
        return "rm" not in command

    settings = FilesSettings(root=str(tree), bash_approve=approve)
    assert "ok" in await run_command(root, settings, "echo ok")
    with pytest.raises(ToolError, match="not approved"):
        await run_command(root, settings, "rm -f notes.txt")
    assert (tree / "notes.txt").exists()
    assert seen == ["echo ok", "rm -f notes.txt"]

    async def deny(command: str) -> bool:
        return False

    with pytest.raises(ToolError, match="not approved"):
        await run_command(root, FilesSettings(root=str(tree), bash_approve=deny), "touch made.txt")
    assert not (tree / "made.txt").exists()


async def _gone(pid: int) -> None:
    """Wait (generously) until ``pid`` no longer exists (or is a zombie)."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[-1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        except OSError:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"process {pid} is still running")


def test_settings_repr_hides_bash_env(tree: Path) -> None:
    settings = FilesSettings(root=str(tree), bash_env={"DEPLOY_TOKEN": "SECRET-VALUE"})
    assert "SECRET-VALUE" not in repr(settings)
