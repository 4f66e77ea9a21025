"""A run's directory as the trainer writes it: its id, reservation, lock, config and diff.

Layout of `<runs dir>/<run_id>/`:

- `config.json`: who ran what: run id, agent, preset, every knob and its hash,
  seeds, budget, the command line, creation time. Written before the run
  waits for a slot, so a queued run is visible.
- `metrics.jsonl`: the events (see `missionctl.train.runs.metrics`).
- `diff.patch`: `git diff HEAD` of the directory the run started from.
- `run.lock`: held (`flock`, exclusive) by the trainer for its whole life; the
  kernel drops it when the process dies, so a reader tells a live run from a
  dead one without trusting pids.

The runs dir is `.missionctl/runs/` of the workspace in `MISSIONCTL_WORKSPACE`,
else `./runs/`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from missionctl import proc, workspace
from missionctl.errors import UserError
from missionctl.files import (
    PRIVATE_DIR_MODE,
    NotAPlainFile,
    make_private_dir,
    open_private,
    open_regular,
    write_private,
)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
DIFF_FILE = "diff.patch"
LOCK_FILE = "run.lock"


def runs_root(ws: workspace.Workspace | None) -> Path:
    """Where runs live: the workspace's `.missionctl/runs/`, else `./runs/`.

    In a workspace, the runtime folder is checked to be the user's alone first.
    """
    return ws.private_dir("runs") if ws is not None else Path.cwd() / "runs"


def current_workspace() -> workspace.Workspace | None:
    """The workspace named by `MISSIONCTL_WORKSPACE`, or None when it is not set."""
    if not os.environ.get(workspace.ENV_WORKSPACE):
        return None
    return workspace.find()


def check_run_id(run_id: str) -> str:
    """`run_id` if it is a safe directory name; a `UserError` says what is allowed."""
    # Leading dots would hide the run (and `.slots` lives beside the runs).
    if not RUN_ID_RE.match(run_id) or run_id.startswith("."):
        raise UserError(
            f"run id {run_id!r} is not allowed; use 1-64 characters of A-Z, a-z, 0-9, '.', '_'"
            " and '-', not starting with '.'"
        )
    return run_id


def new_run_id(agent: str | None, now: float | None = None) -> str:
    """A unique id that sorts by start time: `<agent|local>-<UTC yyyymmddThhmmss>-<4 hex>`."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{agent or 'local'}-{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class GitState:
    """The code a run trains: the commit, branch and uncommitted diff of its directory."""

    commit: str | None
    branch: str | None
    diff: str

    @property
    def diff_hash(self) -> str | None:
        if self.commit is None:
            return None
        return hashlib.sha256(self.diff.encode()).hexdigest()[:16]


def git_state(cwd: Path) -> GitState:
    """The git state of `cwd`; all None (and no diff) outside a repository or without git."""
    try:
        head = proc.run(["git", "rev-parse", "HEAD"], cwd=cwd, timeout=10, check=False)
        if head.returncode != 0:
            return GitState(None, None, "")
        branch = proc.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=cwd, timeout=10)
        # Bytes, not proc.run's text mode: a tracked file in another encoding must not stop
        # the run, and CRLF line ends must survive so the saved patch still applies.
        diff = subprocess.run(
            ["git", "diff", "HEAD"], cwd=cwd, capture_output=True, timeout=30, check=False
        ).stdout.decode("utf-8", "replace")
    except (UserError, subprocess.TimeoutExpired, OSError):
        # No git, or a wedged repository: the run still trains, its record says so.
        return GitState(None, None, "")
    return GitState(head.stdout.strip(), branch.stdout.strip(), diff)


class RunRecord:
    """A reserved run directory whose lock this process holds until `close()`."""

    def __init__(self, root: Path, run_id: str) -> None:
        check_run_id(run_id)
        self.run_id = run_id
        self.path = root / run_id
        try:
            make_private_dir(root)
            self.path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            raise UserError(
                f"a run called {run_id!r} already exists in {root}; choose another --run-id"
            ) from None
        except OSError as exc:
            raise UserError(
                f"cannot create the run directory {self.path}: {exc.strerror}"
            ) from None
        fd = open_private(self.path / LOCK_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self._lock: IO[bytes] | None = os.fdopen(fd, "wb")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    def write_config(self, record: dict[str, Any]) -> None:
        """Write `config.json` whole: readers poll for it and must never see half of it."""
        write_private(self.path / CONFIG_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")

    def write_diff(self, diff: str) -> None:
        write_private(self.path / DIFF_FILE, diff)

    def discard(self) -> None:
        """Remove the directory of a run that never started."""
        shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        """Release the lock: from now on readers see the run as finished (or dead)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def is_live(run_dir: Path) -> bool:
    """True while the process that owns `run_dir` is alive (it holds the run's lock)."""
    try:
        lock = open_regular(run_dir / LOCK_FILE)  # a FIFO put there must not block the reader
    except (NotAPlainFile, OSError):
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
