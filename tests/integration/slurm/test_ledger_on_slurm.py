"""An experiment's runs as Slurm jobs: gated on the login node, recorded with their node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomli_w

from missionctl.ledger import Ledger
from tests.helpers import run_missionctl, shell_agents
from tests.integration.ledger.conftest import clean_spec
from tests.integration.slurm import cluster

# The ledger tests' experiment, on two seeds: a plan of four runs.
EXPERIMENT = tomli_w.dumps(clean_spec(seeds=[1, 2]))


def _agent_runs(root: Path, command: str) -> subprocess.Popen[str]:
    argv = command.split()
    assert argv[:3] == ["python", "-m", "missionctl.train"]
    env = {**os.environ, "MISSIONCTL_WORKSPACE": str(root), "MISSIONCTL_AGENT": "a1"}
    return subprocess.Popen([sys.executable, *argv[1:]], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def test_an_experiments_runs_are_gated_here_and_train_as_jobs(workspace: Path) -> None:
    ws = cluster.write_slurm_org(workspace, shell_agents(1))
    (workspace / "exp.toml").write_text(EXPERIMENT)
    made = run_missionctl(["exp", "new", "--file", "exp.toml"], cwd=workspace)
    assert made.returncode == 0, made.stderr
    planned = run_missionctl(["exp", "plan", "softcap"], cwd=workspace).stdout.splitlines()
    plan = [command for command in planned if "--seed 1 " in command]
    assert len(planned) == 4 and len(plan) == 2
    runs = [_agent_runs(workspace, command) for command in plan]  # both arms at once
    for proc in runs:
        _, err = proc.communicate(timeout=cluster.JOB_TIMEOUT)
        assert proc.returncode == 0, err

    node = cluster.node_name()
    with Ledger.open(ws) as ledger:
        attached = ledger.attachments("softcap")
        assert sorted(a.arm for a in attached) == ["baseline", "nocap"]
        for a in attached:
            assert a.facts.status == "ok"
            # The environment the ledger compares arms by: where each job ran.
            assert a.facts.slurm_job_id == cluster.job_id(ws.runs_dir / a.run_id)
            assert (a.facts.slurm_node, a.facts.node) == (node, node)
        assert ledger.verdict("softcap").decision == "pending"  # seed 2 is still to run

    # A second run of a seed already done is refused here, before any job is submitted.
    before = cluster.run_dirs(ws)
    again = _agent_runs(workspace, plan[0])
    _, err = again.communicate(timeout=60)
    assert again.returncode == 2 and "seeds:" in err, err
    assert cluster.run_dirs(ws) == before and cluster.squeue_of(ws) == []
