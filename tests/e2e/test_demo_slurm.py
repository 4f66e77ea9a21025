"""The offline demo org with its runs as jobs on the real one-node Slurm cluster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from missionctl.agents.demo.workspace import make_workspace, verdict
from missionctl.train.runs.reader import list_runs
from missionctl.workspace import Workspace
from tests.helpers import processes_of, run_missionctl, wait_for


def test_the_demo_trains_here_unless_told(tmp_path: Path) -> None:
    ws, _ = make_workspace(tmp_path / "demo", researchers=1)
    assert ws.load_org().executor == "local"


@pytest.mark.usefixtures("slurm_cluster")
def test_demo_with_the_slurm_executor_answers_with_jobs(tmp_path: Path, tmux_tmpdir: Path) -> None:
    root = tmp_path / "demo"
    proc = run_missionctl(
        ["demo", str(root), "--no-app", "--executor", "slurm", "--preset", "cpu-tiny",
         "--seeds", "1,2", "--researchers", "2", "--wait", "300"],
        cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("runs go to Slurm: ")
    ws = Workspace(root)
    try:
        assert ws.load_org().executor == "slurm"
        runs = list_runs(ws)
        # 2 seeds x 2 arms, and r2's classic mistake: a bigger run of its own.
        assert len(runs) == 5 and {r.status for r in runs} == {"ok"}
        # Every run was a job of its own, and recorded where it ran.
        assert len({r.job_id for r in runs}) == 5 and all(r.node for r in runs)
        for run in runs:
            config = json.loads((run.path / "config.json").read_text())
            assert config["executor"] == "slurm" and config["slurm_job_id"] == run.job_id
        summary = verdict(ws)
        (mistake,) = [r for r in runs if r.config["width"] == 192]
        assert mistake.agent == "r2" and summary is not None
        assert set(summary.runs) == {r.run_id for r in runs} - {mistake.run_id}
    finally:
        down = run_missionctl(["down"], cwd=root, timeout=120)
    assert down.returncode == 0, down.stderr
    assert wait_for(lambda: not processes_of(root), message="no process left behind")
    queue = subprocess.run(["squeue", "-h", "--me", "-o", "%k"], capture_output=True,
                           text=True, timeout=30, check=True).stdout  # fmt: skip
    assert ws.socket_name not in queue
