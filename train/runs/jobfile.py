"""`job.json`: a Slurm run's job as last seen, for every reader of the run.

The process that submitted the job writes it whenever the job's state changes
(pending and why, running on which node, how it ended), so the app, `missionctl
runs` and the ledger show the job without asking Slurm. `job.paused` beside it
marks a job that `missionctl pause` suspended or held. Torch-free.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import msgspec

from missionctl.files import NotAPlainFile, read_regular, write_private
from missionctl.train.runs.record import JOB_FILE, JOB_PAUSED_FILE

_MAX_BYTES = 64 << 10


class JobSeen(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The job of a run on Slurm: its id and Slurm's word on it when last asked."""

    job_id: str
    state: str = "PENDING"  # Slurm's: PENDING, RUNNING, SUSPENDED, COMPLETED, TIMEOUT, ...
    reason: str | None = None  # why it waits (Priority, Resources) or ended (TimeLimit)
    node: str | None = None
    submitted: float | None = None
    updated: float | None = None
    # Who cancelled it through missionctl (`missionctl kill r1`), for the run's end.
    cancelled_by: str | None = None
    paused: bool = False  # from `job.paused`, not stored in job.json

    def state_text(self) -> str:
        """`pending (Priority)`, `running on node7`, `suspended (paused)`, `timeout (TimeLimit)`."""
        if self.paused and self.state in ("PENDING", "RUNNING", "SUSPENDED"):
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


def mark_paused(run_dir: Path, paused: bool) -> None:
    """Mark (or unmark) the run's job as suspended or held by `missionctl pause`."""
    path = run_dir / JOB_PAUSED_FILE
    if paused:
        write_private(path, f"{time.time()}\n")
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
