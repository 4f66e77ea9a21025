"""Slurm's own command-line tools, each call with a timeout, their output parsed.

Why `sbatch`/`squeue`/`scancel`/`scontrol`/`sacct` and not submitit (measured on
this project's one-node Slurm 22.05 cluster): each call costs about 5 ms, and
`squeue` alone says what an agent's terminal must show — pending and why
(Priority, Resources, a hold), running on which node, and, for MinJobAge after
the end, how the job ended with Slurm's reason (TimeLimit) and exit status.
submitit (123 ms to import) runs pickled Python callables rather than the
command line an agent typed, and reads job states only from `sacct`: on a cluster
without the accounting daemon (this one, and many small ones) every state it
reported was UNKNOWN, and `sacct` never has a pending job's reason.

The parsers are pure (text in, jobs out) and tested on real output.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from missionctl import proc
from missionctl.errors import UserError

# Slurm's commands answer in milliseconds; a controller that takes this long is
# down or overloaded, and the caller says so rather than hanging an agent.
TIMEOUT_S = 30.0
# `squeue -O`: one field per job, `|` between them; the comment (free text) last.
_FIELDS = ("JobID", "State", "Reason", "NodeList", "TimeLimit", "exit_code", "Comment")
SQUEUE_FORMAT = ",".join(f"{field}:|" for field in _FIELDS)
SACCT_FIELDS = "JobID,State,ExitCode,NodeList,Timelimit"
# A job in one of these states is still Slurm's business: it may yet run or is ending.
ACTIVE_STATES = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "COMPLETING", "STOPPED",
        "SIGNALING", "STAGE_OUT", "RESIZING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
    }
)  # fmt: skip
_NONE = ("", "None", "(null)", "n/a")


@dataclass(frozen=True)
class Job:
    """A Slurm job as `squeue` or `sacct` reports it."""

    job_id: str
    state: str
    reason: str | None = None
    node: str | None = None
    time_limit: str | None = None
    exit_code: int | None = None  # the batch script's exit code, when it exited
    signal: int | None = None  # the signal that ended it, when one did
    comment: str | None = None

    @property
    def active(self) -> bool:
        """Pending, running, suspended or ending: not finished yet."""
        return self.state in ACTIVE_STATES

    @property
    def pending(self) -> bool:
        return self.state == "PENDING"


def _value(text: str) -> str | None:
    text = text.strip()
    return None if text in _NONE else text


def _wait_status(raw: str) -> tuple[int | None, int | None]:
    """(exit code, signal) from squeue's `exit_code`: a wait(2) status, 36608 = exit 143."""
    if not raw.strip().isdigit():
        return None, None
    status = int(raw)
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def _job(
    job_id: str,
    state: str,
    node: str,
    limit: str,
    exit_code: int | None,
    signal: int | None,
    reason: str | None = None,
    comment: str | None = None,
) -> Job:
    """A job from the columns squeue and sacct share (a state `CANCELLED by 0` is CANCELLED)."""
    return Job(
        job_id=job_id.strip(),
        state=state.strip().split(" ")[0],
        reason=reason,
        node=_value(node),
        time_limit=_value(limit),
        exit_code=exit_code,
        signal=signal or None,
        comment=comment,
    )


def parse_squeue(text: str) -> list[Job]:
    """Jobs from `squeue -h -O <SQUEUE_FORMAT>` output; lines that do not parse are skipped."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|", len(_FIELDS) - 1)
        if len(parts) < len(_FIELDS) or not parts[0].strip():
            continue
        job_id, state, reason, node, limit, status, comment = parts
        code, sig = _wait_status(status)
        jobs.append(
            _job(
                job_id, state, node, limit, code, sig, _value(reason), _value(comment.rstrip("|\n"))
            )
        )
    return jobs


def parse_sacct(text: str) -> list[Job]:
    """Jobs from `sacct -n -X -P -o <SACCT_FIELDS>` output (`CANCELLED by 0` is CANCELLED)."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].strip():
            continue
        job_id, state, exit_code, node, limit = parts[:5]
        code, _, sig = exit_code.partition(":")
        exit_ = int(code) if code.isdigit() else None
        jobs.append(_job(job_id, state, node, limit, exit_, int(sig) if sig.isdigit() else None))
    return jobs


def parse_job_id(text: str) -> str:
    """The job id in `sbatch --parsable` output (`42`, or `42;cluster`)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    job_id = first.split(";")[0].strip()
    if not job_id.isdigit():
        raise UserError(f"sbatch answered {first[:80]!r}, not a job id; check the Slurm setup")
    return job_id


def _run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    return proc.run(cmd, timeout=TIMEOUT_S, env=env).stdout


def submit(options: Sequence[str], script: Path, env: Mapping[str, str]) -> str:
    """Submit `script` with sbatch `options`; return the job id.

    A refusal (a bad partition, an account the user lacks) is a `UserError` that
    quotes Slurm's own sentence.
    """
    try:
        return parse_job_id(_run(["sbatch", "--parsable", *options, str(script)], env=env))
    except proc.CommandError as exc:
        said = (exc.stderr or exc.stdout).strip().splitlines()
        why = said[-1].removeprefix("sbatch: error: ") if said else f"exit code {exc.returncode}"
        raise UserError(
            f"Slurm refused the job: {why}; check [runs.slurm] in org/org.toml"
            " (`sinfo` lists the partitions)"
        ) from None


def queue(*, job_ids: Iterable[str] = (), finished_too: bool = False) -> list[Job]:
    """This user's jobs in the controller (or just `job_ids`), active ones unless
    `finished_too` (those ended within the cluster's MinJobAge are still there)."""
    cmd = ["squeue", "-h", "-O", SQUEUE_FORMAT]
    ids = ",".join(job_ids)
    cmd += ["-j", ids] if ids else ["--me"]
    if finished_too:
        cmd += ["-t", "all"]
    try:
        return parse_squeue(_run(cmd))
    except proc.CommandError as exc:
        if "Invalid job id" in exc.stderr:
            return []  # forgotten by the controller: only the accounting knows it now
        raise


def accounting(job_id: str) -> Job | None:
    """How a job the controller has forgotten ended: `sacct` (the accounting daemon),
    else `sacct -c` (the job completion log, on clusters without one)."""
    for extra in ([], ["-c"]):
        try:
            out = _run(["sacct", *extra, "-n", "-X", "-P", "-j", job_id, "-o", SACCT_FIELDS])
        except proc.CommandError:
            continue  # "accounting storage is disabled": try the completion log
        found = [job for job in parse_sacct(out) if job.job_id == job_id]
        if found:
            return found[-1]
    return None


def job(job_id: str) -> Job | None:
    """The job's state now, however long ago it ended; None when Slurm has no trace."""
    found = [j for j in queue(job_ids=[job_id], finished_too=True) if j.job_id == job_id]
    if found:
        return found[0]
    return accounting(job_id)


def check_cluster() -> str:
    """What the cluster offers (`debug: 1 node, 2 CPUs`); a `UserError` naming the fix
    when there is no Slurm here or its controller does not answer."""
    try:
        out = _run(["sinfo", "-h", "-o", "%P: %D node(s), %c CPUs, %T"])
    except UserError as exc:
        raise UserError(
            f"no Slurm cluster answers here ({exc}); run on a node of one, or make a one-node"
            " cluster with `sudo tests/slurm/cluster.sh up` from missionctl's checkout"
        ) from None
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise UserError("Slurm answers but has no partition; check `sinfo` and slurm.conf")
    return "; ".join(lines)


def cancel(job_ids: Sequence[str], *, sig: signal.Signals | None = None) -> None:
    """Cancel the jobs (or send them `sig`); jobs that already ended are no error."""
    if not job_ids:
        return
    cmd = ["scancel", *(["--signal", sig.name.removeprefix("SIG"), "--full"] if sig else [])]
    proc.run([*cmd, *job_ids], timeout=TIMEOUT_S, check=False)


def control(verb: str, job_ids: Sequence[str]) -> None:
    """`scontrol suspend|resume|hold|release` each job; a `UserError` when Slurm refuses
    one that is still there (a job that ended meanwhile needs nothing)."""
    for job_id in job_ids:
        try:
            _run(["scontrol", verb, job_id])
        except proc.CommandError:
            now = job(job_id)
            if now is not None and now.active:
                raise
