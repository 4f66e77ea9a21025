"""An org's jobs on Slurm: found by their tag, cancelled, paused and resumed, settled.

Slurm is asked, not the runs dir: each job carries its org, agent and run in its
comment (`submit.job_tag`), so `missionctl kill`, `pause` and `down` reach every
job the org submitted, even one whose run directory is gone.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from missionctl import proc
from missionctl.errors import UserError
from missionctl.train.runs.jobfile import PausedBy, mark_paused, paused_by, read_job, write_job
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


def _suspend(job_ids: list[str]) -> PausedBy:
    """Suspend the running jobs; how it was done. Where only operators may suspend
    (most clusters), their processes are stopped instead, as the jobs' owner may:
    they keep their node and their time limit runs on, but they compute nothing."""
    try:
        client.control("suspend", job_ids)
        return "suspend"
    except proc.CommandError as exc:
        # Slurm 22.05, for a user who is no operator: "Access/permission denied for job 42".
        if "permission denied" not in exc.stderr.lower():
            raise UserError(f"Slurm would not suspend them: {exc}") from None
    client.cancel(job_ids, sig=signal.SIGSTOP)
    return "signal"


def pause(ws: Workspace, agent: str) -> list[OrgJob]:
    """Suspend the agent's running jobs and hold its pending ones (so none starts while
    it is paused); mark each so `resume` undoes exactly that. The jobs acted on."""
    # A job held already (an sbatch --hold in the org's options) stays as it was.
    found = [
        j for j in jobs(ws, agent)
        if j.job.state == "RUNNING" or (j.job.state == "PENDING" and j.job.reason not in HELD)
    ]  # fmt: skip
    running = [j for j in found if j.job.state == "RUNNING"]
    pending = [j for j in found if j.job.state == "PENDING"]
    # Each group is marked as soon as it is paused: a refusal for the pending ones
    # must not leave running ones stopped with nothing to tell resume so.
    for group, act in ((running, _suspend), (pending, _hold)):
        if not group:
            continue
        how = act([j.job_id for j in group])
        for job in group:
            run_dir = _run_dir(ws, job)
            if run_dir is not None:
                mark_paused(run_dir, how)
    return found


def _hold(job_ids: list[str]) -> PausedBy:
    try:
        # uhold, not hold: a hold by root (an operator) is one only an operator may release.
        client.control("uhold", job_ids)
    except proc.CommandError as exc:
        raise UserError(f"Slurm would not hold the pending ones: {exc}") from None
    return "hold"


def resume(ws: Workspace, agent: str) -> list[OrgJob]:
    """Undo what `pause` did to each job it marked: resume it, continue its stopped
    processes, or release it. The jobs acted on."""
    marked: list[tuple[OrgJob, Path, PausedBy]] = []
    for job in jobs(ws, agent):
        run_dir = _run_dir(ws, job)
        how = paused_by(run_dir) if run_dir else None
        if run_dir is not None and how is not None:
            marked.append((job, run_dir, how))
    # By the job's state as well as the mark: one resumed or released from outside
    # meanwhile needs nothing (and scontrol would refuse it).
    state = {j.job_id: j.job.state for j, _, _ in marked}
    client.control("resume", [j.job_id for j, _, _ in marked if state[j.job_id] == "SUSPENDED"])
    # Slurm shows a job whose processes were stopped as STOPPED; SIGCONT runs it again.
    client.cancel([j.job_id for j, _, how in marked if how == "signal"], sig=signal.SIGCONT)
    held = [j.job_id for j, _, how in marked if how == "hold" and state[j.job_id] == "PENDING"]
    client.control("release", held)
    for _, run_dir, _ in marked:
        mark_paused(run_dir, None)
    return [j for j, _, _ in marked]


def settle_runs(ws: Workspace, only: Iterable[Path] | None = None) -> list[str]:
    """Record the end of every run on Slurm (or of those in `only`) whose follower is
    gone and whose job has ended (the follower was killed, or the machine rebooted);
    the runs settled."""
    if only is None:
        try:
            entries = list(os.scandir(runs_root(ws)))
        except FileNotFoundError:
            return []
        only = (
            Path(e.path)
            for e in entries
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
        )
    unsettled: list[tuple[Path, str]] = []
    for path in only:
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
        return settled  # Slurm does not answer now: the rest stay `unknown` until it does
    return settled
