"""missionctl.train.slurm: runs as Slurm jobs, followed in the agent's terminal.

This module holds only what every run asks first (are runs going to Slurm? is this
process the job?), so the trainer's command line pays for the rest only when they are.
"""

from __future__ import annotations

import os

from missionctl.orgfile import OrgSpec, SlurmSettings
from missionctl.workspace import Workspace

ENV_JOB_RUN = "MISSIONCTL_SLURM_RUN"
EXECUTOR = "slurm"


def job_run() -> str | None:
    """The run this process trains inside a Slurm job, or None outside one."""
    return os.environ.get(ENV_JOB_RUN) or None


def settings_for(ws: Workspace | None, org: OrgSpec | None = None) -> SlurmSettings | None:
    """The org's Slurm settings when its runs go to Slurm and this process is not
    itself the job; None when runs train here. `org`: the workspace's, if already loaded."""
    if ws is None or job_run() is not None or not ws.org_file.is_file():
        return None
    org = org or ws.load_org()
    return org.slurm if org.executor == EXECUTOR else None
