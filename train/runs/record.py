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

A run on Slurm (see `missionctl.train.slurm`) adds: `job.sh` (the batch script),
`job.json` (the job's id and its last state seen: pending and why, running on
which node, how it ended), `output.log` (what the job printed), `job.paused`
(while `missionctl pause` holds the job) and `job.lock`. There `run.lock` is
held by the process that submitted the job and follows it on the login node,
and `job.lock` by the trainer in the job: the run is live while either is.

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
    read_regular,
    write_private,
)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
DIFF_FILE = "diff.patch"
LOCK_FILE = "run.lock"
JOB_FILE = "job.json"
JOB_LOCK_FILE = "job.lock"
JOB_PAUSED_FILE = "job.paused"
JOB_SCRIPT_FILE = "job.sh"
OUTPUT_FILE = "output.log"


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


def enclosing_workspace() -> workspace.Workspace | None:
    """`MISSIONCTL_WORKSPACE`, else the workspace around the cwd; None outside any
    (runs are then read from and written to `./runs/`)."""
    try:
        return workspace.find()
    except UserError:
        return None


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
    """A reserved run directory whose lock this process holds until `close()`.

    `adopt=True` takes over a directory reserved by another process: the trainer
    in a Slurm job adopts the run its submitter reserved on the login node, and
    holds `job.lock` beside the submitter's `run.lock`.
    """

    def __init__(self, root: Path, run_id: str, *, adopt: bool = False) -> None:
        check_run_id(run_id)
        self.run_id = run_id
        self.path = root / run_id
        self.adopted = adopt
        if adopt:
            if not (self.path / CONFIG_FILE).is_file() or self.path.is_symlink():
                raise UserError(
                    f"run {run_id!r} was not reserved in {root}; a Slurm job adopts only the"
                    " run its submitter reserved"
                )
        else:
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
        lock = self.path / (JOB_LOCK_FILE if adopt else LOCK_FILE)
        fd = open_private(lock, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self._lock: IO[bytes] | None = os.fdopen(fd, "wb")
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    def write_config(self, record: dict[str, Any]) -> None:
        """Write `config.json` whole: readers poll for it and must never see half of it.

        An adopted run keeps what its submitter recorded that `record` does not say
        (the executor, the job) and when it was created; the rest is the job's.
        """
        if self.adopted:
            submitted = read_config_file(self.path)
            created = submitted.get("created", record.get("created"))
            record = {**submitted, **record, "created": created}
        write_private(self.path / CONFIG_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")

    def write_diff(self, diff: str) -> None:
        write_private(self.path / DIFF_FILE, diff)

    def discard(self) -> None:
        """Remove the directory of a run that never started (never an adopted one: the
        process that reserved it decides, once the job is over)."""
        if not self.adopted:
            shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        """Release the lock: from now on readers see the run as finished (or dead)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _held(path: Path) -> bool:
    try:
        lock = open_regular(path)  # a FIFO put there must not block the reader
    except (NotAPlainFile, OSError):
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def is_live(run_dir: Path) -> bool:
    """True while a process that owns `run_dir` is alive: the trainer (or, for a run on
    Slurm, the process following the job) holds `run.lock`, a job's trainer `job.lock`."""
    return _held(run_dir / LOCK_FILE) or _held(run_dir / JOB_LOCK_FILE)


def read_config_file(run_dir: Path, max_bytes: int = 1 << 20) -> dict[str, Any]:
    """The run's `config.json` as a dict; empty when it is missing, damaged, or not a
    plain file (an agent can leave a FIFO there, which a plain open waits on forever)."""
    try:
        record = json.loads(read_regular(run_dir / CONFIG_FILE, max_bytes))
    except (OSError, ValueError, RecursionError):  # NotAPlainFile is a ValueError
        return {}
    return record if isinstance(record, dict) else {}
