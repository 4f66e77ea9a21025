"""An org's jobs on Slurm: found by their tag, cancelled, paused and resumed, settled.

Slurm is asked, not the runs dir: each job carries its org, agent and run in its
comment (`submit.job_tag`), so `missionctl kill`, `pause` and `down` reach every
job the org submitted, even one whose run directory is gone.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from missionctl.errors import UserError
from missionctl.train.runs.jobfile import mark_paused, read_job, write_job
from missionctl.train.runs.reader import read_run_events
from missionctl.train.runs.record import JOB_FILE, is_live, runs_root
from missionctl.train.slurm import client
from missionctl.train.slurm.follow import settle
from missionctl.train.slurm.submit import read_tag
from missionctl.workspace import Workspace

# How long `down` waits for cancelled jobs to leave the queue (Slurm's KillWait,
# then the kill): after that it reports those still ending.
GONE_TIMEOUT_S = 60.0
HELD = ("JobHeldUser", "JobHeldAdmin")


@dataclass(frozen=True)
class OrgJob:
    """One of the org's jobs: Slurm's view of it, and whose run it is."""

    job: client.Job
    agent: str | None
    run_id: str

    @property
    def job_id(self) -> str:
        return self.job.job_id


def jobs(ws: Workspace, agent: str | None = None) -> list[OrgJob]:
    """The org's jobs still in Slurm's queue (one agent's, or every one)."""
    found = []
    for job in client.queue():
        tag = read_tag(job.comment)
        if tag is None or tag[0] != ws.socket_name or (agent is not None and tag[1] != agent):
            continue
        found.append(OrgJob(job, tag[1], tag[2]))
    return found


def _run_dir(ws: Workspace, job: OrgJob) -> Path | None:
    path = runs_root(ws) / job.run_id
    return path if (path / JOB_FILE).is_file() and not path.is_symlink() else None


def cancel(ws: Workspace, agent: str | None, who: str) -> list[OrgJob]:
    """Cancel the org's jobs (one agent's, or all); each run's end will say `who` did."""
    found = jobs(ws, agent)
    for job in found:
        run_dir = _run_dir(ws, job)
        seen = read_job(run_dir) if run_dir else None
        if run_dir is not None and seen is not None and seen.cancelled_by is None:
            write_job(run_dir, msgspec.structs.replace(seen, cancelled_by=who))
    client.cancel([job.job_id for job in found])
    return found


def wait_gone(
    ws: Workspace, agent: str | None = None, timeout: float = GONE_TIMEOUT_S
) -> list[OrgJob]:
    """Wait until none of the org's jobs is left in the queue; those still there after
    `timeout` seconds (Slurm is still ending them)."""
    deadline = time.monotonic() + timeout
    while True:
        left = jobs(ws, agent)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)  # asking Slurm again: it sends no word when a job has gone


def pause(ws: Workspace, agent: str) -> list[OrgJob]:
    """Suspend the agent's running jobs and hold its pending ones (so none starts while
    it is paused); mark each so `resume` undoes exactly that. The jobs acted on."""
    # A job held already (an sbatch --hold in the org's options) stays as it was.
    found = [
        j for j in jobs(ws, agent)
        if j.job.state == "RUNNING" or (j.job.state == "PENDING" and j.job.reason not in HELD)
    ]  # fmt: skip
    running = [j.job_id for j in found if j.job.state == "RUNNING"]
    pending = [j.job_id for j in found if j.job.state == "PENDING"]
    try:
        client.control("suspend", running)
        client.control("hold", pending)
    except UserError as exc:
        raise UserError(
            f"Slurm would not pause {agent}'s jobs: {exc}. Many clusters let only operators"
            " suspend jobs: ask an administrator, or `missionctl kill` the agent"
        ) from None
    for job in found:
        run_dir = _run_dir(ws, job)
        if run_dir is not None:
            mark_paused(run_dir, True)
    return found


def resume(ws: Workspace, agent: str) -> list[OrgJob]:
    """Resume the jobs `pause` suspended and release those it held."""
    found: list[tuple[OrgJob, Path]] = []
    for job in jobs(ws, agent):
        run_dir = _run_dir(ws, job)
        seen = read_job(run_dir) if run_dir else None
        if run_dir is not None and seen is not None and seen.paused:
            found.append((job, run_dir))
    client.control("resume", [j.job_id for j, _ in found if j.job.state == "SUSPENDED"])
    client.control("release", [j.job_id for j, _ in found if j.job.state == "PENDING"])
    for _, run_dir in found:
        mark_paused(run_dir, False)
    return [j for j, _ in found]


def settle_runs(ws: Workspace) -> list[str]:
    """Record the end of every run on Slurm whose follower is gone and whose job has
    ended (the follower was killed, or the machine rebooted); the runs settled."""
    root = runs_root(ws)
    unsettled: list[tuple[Path, str]] = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        seen = read_job(path)
        if seen is None or is_live(path) or read_run_events(path).end is not None:
            continue
        unsettled.append((path, seen.job_id))
    if not unsettled:
        return []
    ids = [job_id for _, job_id in unsettled]
    settled = []
    try:
        known = {j.job_id: j for j in client.queue(job_ids=ids, finished_too=True)}
        for path, job_id in unsettled:
            job = known.get(job_id) or client.accounting(job_id)
            if job is not None and job.active:
                continue  # pending or running without its follower: it ends on its own
            settle(path, job_id, job)
            settled.append(path.name)
    except UserError:
        pass  # Slurm does not answer now: the runs stay `unknown` until it does
    return settled
