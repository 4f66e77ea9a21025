"""Running external commands: always with a timeout, and an error that says which
command failed and what to do about it."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from missionctl.errors import UserError

# What to install when a tool is missing, by executable name.
INSTALL_HINTS = {
    "git": "install git (e.g. `apt-get install git`)",
    "tmux": "install tmux 3.2 or newer (e.g. `apt-get install tmux`)",
    "claude": "install Claude Code: `npm install -g @anthropic-ai/claude-code`",
    "codex": "install the Codex CLI: `npm install -g @openai/codex`",
    **dict.fromkeys(
        ("sbatch", "squeue", "scancel", "scontrol", "sacct", "sinfo"),
        "runs on Slurm need Slurm's commands: work from a login node of the cluster, or set"
        ' `executor = "local"` under [runs] in org/org.toml',
    ),
}


class CommandError(UserError):
    """An external command failed; carries its output for callers that inspect it."""

    def __init__(self, message: str, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` and capture its output as text.

    A missing executable or a timeout is a `UserError`; a non-zero exit is a
    `CommandError` (when `check`), whose message holds the command and its stderr.
    """
    shown = shlex.join(cmd)
    try:
        result = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
        )
    except FileNotFoundError:
        hint = INSTALL_HINTS.get(cmd[0], f"install {cmd[0]!r} or put it on PATH")
        raise UserError(f"{cmd[0]!r} was not found on PATH; {hint}") from None
    except subprocess.TimeoutExpired:
        raise UserError(
            f"`{shown}` did not finish within {timeout:g} s; check what it is waiting for"
        ) from None
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {result.returncode}"
        raise CommandError(
            f"`{shown}` failed: {last}", result.returncode, result.stdout, result.stderr
        )
    return result
