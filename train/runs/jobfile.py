"""`job.json`: a Slurm run's job as last seen, for every reader of the run.

The process that submitted the job writes it whenever the job's state changes
(pending and why, running on which node, how it ended), so the app, `missionctl
runs` and the ledger show the job without asking Slurm. `job.paused` beside it
marks a job that `missionctl pause` suspended, stopped or held, and how. Torch-free.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal, get_args

import msgspec

from missionctl.files import NotAPlainFile, read_regular, write_private
from missionctl.train.runs.record import JOB_FILE, JOB_PAUSED_FILE

_MAX_BYTES = 64 << 10


class JobSeen(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The job of a run on Slurm: its id and Slurm's word on it when last asked."""

    job_id: str
    # Slurm's: PENDING, RUNNING, SUSPENDED, STOPPED (by SIGSTOP), COMPLETED, TIMEOUT, ...
    state: str = "PENDING"
    reason: str | None = None  # why it waits (Priority, Resources) or ended (TimeLimit)
    node: str | None = None
    submitted: float | None = None
    updated: float | None = None
    # Who cancelled it through missionctl (`missionctl kill r1`), for the run's end.
    cancelled_by: str | None = None
    paused: bool = False  # from `job.paused`, not stored in job.json

    def state_text(self) -> str:
        """`pending (Priority)`, `running on node7`, `suspended (paused)`, `timeout (TimeLimit)`."""
        if self.paused and self.state in ("PENDING", "RUNNING", "SUSPENDED", "STOPPED"):
            return f"{'held' if self.state == 'PENDING' else 'suspended'} (paused)"
        text = self.state.lower().replace("_", " ")
        if self.state == "RUNNING" and self.node:
            return f"{text} on {self.node}"
        return f"{text} ({self.reason})" if self.reason else text

    def describe(self) -> str:
        """`job 42 pending (Priority)`, `job 42 running on node7`."""
        return f"job {self.job_id} {self.state_text()}"


_DECODER = msgspec.json.Decoder(JobSeen)


def read_job(run_dir: Path) -> JobSeen | None:
    """The run's job, or None for a run that is not on Slurm (or a damaged file)."""
    try:
        job = _DECODER.decode(read_regular(run_dir / JOB_FILE, _MAX_BYTES))
    except (OSError, NotAPlainFile, msgspec.DecodeError):
        return None
    if os.path.lexists(run_dir / JOB_PAUSED_FILE):
        job = msgspec.structs.replace(job, paused=True)
    return job


def write_job(run_dir: Path, job: JobSeen) -> None:
    """Record `job` whole (readers never see half of it)."""
    stored = msgspec.structs.replace(job, paused=False, updated=time.time())
    write_private(run_dir / JOB_FILE, msgspec.json.encode(stored) + b"\n")


# How `missionctl pause` paused a job, so that `resume` undoes exactly that:
# `scontrol suspend`, SIGSTOP through `scancel --signal` (where only operators may
# suspend), or `scontrol uhold` (a pending job).
PausedBy = Literal["suspend", "signal", "hold"]
PAUSED_BY: tuple[PausedBy, ...] = get_args(PausedBy)


def mark_paused(run_dir: Path, how: PausedBy | None) -> None:
    """Mark the run's job as paused by `missionctl pause` and `how`; None unmarks it."""
    path = run_dir / JOB_PAUSED_FILE
    if how is not None:
        write_private(path, f"{how}\n")
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def paused_by(run_dir: Path) -> PausedBy | None:
    """How `missionctl pause` paused the run's job, or None when it did not.

    A mark that names no way (damaged) reads as `suspend`: resume then goes by the
    job's state, which is what a suspended or held job needs."""
    try:
        how = read_regular(run_dir / JOB_PAUSED_FILE, 64).decode("ascii", "replace").strip()
    except (OSError, NotAPlainFile):
        return None
    for known in PAUSED_BY:
        if how == known:
            return known
    return "suspend"
