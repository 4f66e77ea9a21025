"""A run submitted as a Slurm job, from the login node where the agent types.

With `[runs] executor = "slurm"`, `python -m missionctl.train ...` and
`missionctl run -- ...` reserve the run's directory here, on the shared
filesystem, record what they know, attach the run to its experiment, write a
batch script that runs the same command on a compute node, submit it, and
follow the job in the agent's terminal until it ends (`follow.py`). In the job,
`MISSIONCTL_SLURM_RUN` names the run: the trainer adopts the reserved directory
instead of making one, and trains as it would locally.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from missionctl.errors import UserError
from missionctl.files import write_private
from missionctl.orgfile import SlurmSettings
from missionctl.train.runs import envfacts
from missionctl.train.runs.jobfile import JobSeen, write_job
from missionctl.train.runs.record import (
    JOB_SCRIPT_FILE,
    OUTPUT_FILE,
    RunRecord,
    new_run_id,
    runs_root,
)
from missionctl.train.slurm import ENV_JOB_RUN, EXECUTOR, client
from missionctl.train.slurm.follow import Follower
from missionctl.workspace import Workspace


def job_tag(ws: Workspace, agent: str | None, run_id: str) -> str:
    """What a job carries in its Slurm comment: whose org, agent and run it is.

    `squeue` shows the comment, so the org finds its jobs (to kill, pause, stop)
    from Slurm itself, even those whose run directory is gone.
    """
    return f"{ws.socket_name} {agent or '-'} {run_id}"


def read_tag(comment: str | None) -> tuple[str, str | None, str] | None:
    """(org tag, agent or None, run id) from a job's comment; None for other jobs."""
    parts = (comment or "").split(" ")
    if len(parts) != 3 or not parts[0].startswith("missionctl-"):
        return None
    return parts[0], None if parts[1] == "-" else parts[1], parts[2]


def sbatch_options(
    settings: SlurmSettings, run_dir: Path, cwd: Path, agent: str | None, tag: str
) -> list[str]:
    """The sbatch options for one run: its files and tag, then the org's settings."""
    options = [
        f"--job-name=missionctl-{agent or 'run'}",
        f"--comment={tag}",
        f"--output={run_dir / OUTPUT_FILE}",
        f"--chdir={cwd}",
        # A requeued job would train again into the same run: the run ends instead,
        # and whoever asked for it decides whether to run it again.
        "--no-requeue",
    ]
    for flag, value in (
        ("--partition", settings.partition),
        ("--account", settings.account),
        ("--qos", settings.qos),
        ("--gres", settings.gres),
        ("--mem", settings.mem),
    ):
        if value is not None:
            options.append(f"{flag}={value}")
    if settings.cpus is not None:
        options.append(f"--cpus-per-task={settings.cpus}")
    if settings.time_limit is not None:
        options.append(f"--time={math.ceil(settings.time_limit / 60)}")  # Slurm's minutes
    return [*options, *settings.sbatch_options]


def job_script(python: str, args: Sequence[str], run_id: str, agent: str | None) -> str:
    """The batch script: the same command the agent typed, run on the node."""
    return (
        "#!/bin/bash\n"
        f"# missionctl run {run_id} of {agent or 'a user'}, submitted from"
        f" {socket.gethostname()}\n"
        f"export {ENV_JOB_RUN}={shlex.quote(run_id)}\n"
        "export PYTHONUNBUFFERED=1\n"
        # exec: the trainer is the job's process, and Slurm's signals reach it directly.
        f"exec {shlex.join([python, *args])}\n"
    )


@dataclass(frozen=True)
class Submission:
    """A run about to go to Slurm: what the login node knows of it.

    `args` follow the python on the node (`-m missionctl.train ...`); `record` is
    the run's `config.json` as known before it trains (the job adds the rest);
    `attach` and `finished` are the experiment gate's, when the run has one.
    """

    ws: Workspace
    settings: SlurmSettings
    run_id: str | None
    agent: str | None
    args: tuple[str, ...]
    record: dict[str, Any]
    diff: str
    attach: Callable[[str], None] | None = None
    finished: Callable[[str], None] | None = None


def submit_and_follow(sub: Submission, out: TextIO) -> int:
    """Reserve the run, submit its job, follow it to its end; return the exit code
    the same command would have returned had it trained here."""
    root = runs_root(sub.ws)
    run_id = sub.run_id or new_run_id(sub.agent)
    record = RunRecord(root, run_id)
    job_id: str | None = None
    try:
        record.write_diff(sub.diff)
        record.write_config(
            {
                **sub.record,
                "run_id": run_id,
                "agent": sub.agent,
                "cwd": str(Path.cwd()),
                "created": time.time(),
                "host": socket.gethostname(),
                "executor": EXECUTOR,
            }
        )
        if sub.attach is not None:
            sub.attach(run_id)
        script = record.path / JOB_SCRIPT_FILE
        # This interpreter by its venv path, not where the link leads: a venv on the
        # shared filesystem is how the nodes get missionctl.
        python = sub.settings.python or sys.executable
        write_private(script, job_script(python, sub.args, run_id, sub.agent))
        tag = job_tag(sub.ws, sub.agent, run_id)
        options = sbatch_options(sub.settings, record.path, Path.cwd(), sub.agent, tag)
        # The agent's GPU is its own machine's: Slurm gives the job its GPUs (gres).
        env = {k: v for k, v in os.environ.items() if k != envfacts.ENV_CUDA_DEVICES}
        job_id = client.submit(options, script, env)
        write_job(record.path, JobSeen(job_id=job_id, submitted=time.time()))
        print(f"run {run_id}: submitted as Slurm job {job_id} -> {record.path}", file=out)
        out.flush()
        code = Follower(record, job_id, sub.settings.poll, out).follow()
    except BaseException:
        if job_id is None:
            record.discard()  # never submitted: nothing left behind, the id is free again
        else:
            with contextlib.suppress(UserError):
                client.cancel([job_id])  # the follower failed: no job trains unwatched
        raise
    finally:
        record.close()
    if sub.finished is not None:
        sub.finished(run_id)
    return code
