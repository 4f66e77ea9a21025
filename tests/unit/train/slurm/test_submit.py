"""What a run sends to sbatch: its options from [runs.slurm], its tag, its batch script."""

from __future__ import annotations

import subprocess
from pathlib import Path

from missionctl.orgfile import SlurmSettings
from missionctl.train.slurm.submit import job_script, job_tag, read_tag, sbatch_options
from missionctl.workspace import Workspace


def test_the_orgs_settings_become_sbatch_options(tmp_path: Path) -> None:
    settings = SlurmSettings(
        partition="gpu", account="lab", qos="normal", time_limit=5430.0, gres="gpu:a100:1",
        cpus=8, mem="64G", sbatch_options=("--constraint=a100", "--exclusive"),
    )  # fmt: skip
    run_dir = tmp_path / "runs" / "r1-x"
    options = sbatch_options(settings, run_dir, tmp_path / "wt", "r1", "tag")
    assert options == [
        "--job-name=missionctl-r1", "--comment=tag", f"--output={run_dir}/output.log",
        f"--chdir={tmp_path}/wt", "--no-requeue", "--partition=gpu", "--account=lab",
        "--qos=normal", "--gres=gpu:a100:1", "--mem=64G", "--cpus-per-task=8",
        "--time=91",  # 1h30m30s in Slurm's whole minutes, rounded up
        "--constraint=a100", "--exclusive",
    ]  # fmt: skip
    # Nothing set: the cluster's defaults.
    assert len(sbatch_options(SlurmSettings(), run_dir, tmp_path, None, "tag")) == 5


def test_a_jobs_tag_names_its_org_agent_and_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    tag = job_tag(ws, "r1", "r1-20261205T120000-beef")
    assert read_tag(tag) == (ws.socket_name, "r1", "r1-20261205T120000-beef")
    assert read_tag(job_tag(ws, None, "local-x")) == (ws.socket_name, None, "local-x")
    for other in (None, "", "a colleague's job", "missionctl-abc r1", "x y z"):
        assert read_tag(other) is None


def test_the_batch_script_runs_the_command_as_typed(tmp_path: Path) -> None:
    args = ["-m", "missionctl.train", "--set", "lr=1e-3", "it's", "$HOME", "two words", "`x`"]
    script = tmp_path / "job.sh"
    script.write_text(job_script("/bin/echo", args, "r1-x", "r1"))
    out = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=10)
    assert out.stdout == " ".join(args) + "\n"
    # The job knows which reserved run it trains.
    script.write_text(job_script("/bin/sh", ["-c", "echo $MISSIONCTL_SLURM_RUN"], "r1-x", "r1"))
    out = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=10)
    assert out.stdout == "r1-x\n"
