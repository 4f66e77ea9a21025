"""An agent's run as a Slurm job: submitted, followed in its terminal, ended as Slurm ended it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from missionctl.agents.org.hub import Hub
from missionctl.train.runs.reader import load_run_dir
from tests.helpers import run_missionctl, shell_agents, wait_for
from tests.integration.slurm import cluster

HubFactory = Callable[..., Hub]


def _follower(root: Path, argv: list[str]) -> subprocess.Popen[str]:
    """The command as an agent in `root` types it, with its output captured."""
    env = {**os.environ, "MISSIONCTL_WORKSPACE": str(root), "MISSIONCTL_AGENT": "a1"}
    return subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_an_agents_training_run_becomes_a_job_and_comes_back(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1), cluster.slurm_org())  # a1 has gpu = 1 on its own machine
    hub.up()
    cluster.type_line(hub, "a1", f"{cluster.TRAIN} --seed 1")
    final = wait_for(
        lambda: re.search(r"^run (\S+) ok val_bpb=\d\.\d{4}$", cluster.screen(hub, "a1"), re.M),
        timeout=cluster.JOB_TIMEOUT, message="the run's final line",
    )  # fmt: skip
    text = cluster.screen(hub, "a1")
    run_dir = hub.ws.runs_dir / final.group(1)
    job = cluster.job_id(run_dir)
    node = cluster.node_name()
    # The terminal reads as a local run does, with the job's id and where it ran first.
    order = [f"submitted as Slurm job {job}", f"job {job} running on {node}",
             "cpu-tiny seed=1", "step 1/", "final step", " ok val_bpb="]  # fmt: skip
    places = [text.find(marker) for marker in order]
    assert -1 not in places and places == sorted(places), text
    assert cluster.exit_status(hub, "a1") == 0

    # Its metrics came back through the workspace: every step, the job and node recorded.
    (start,) = cluster.of_kind(run_dir, "start")
    assert (start["slurm_job_id"], start["slurm_node"]) == (job, node)
    assert start["threads"] == 1  # the job's one CPU, not the machine's
    assert start["cuda_visible_devices"] is None  # the agent's GPU stays on its machine
    assert len(cluster.of_kind(run_dir, "step")) == cluster.the_end(run_dir).steps > 0
    assert cluster.the_end(run_dir).status == "ok"
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["executor"], config["slurm_job_id"], config["agent"]) == ("slurm", job, "a1")
    assert json.loads((run_dir / "job.json").read_text())["state"] == "COMPLETED"
    assert cluster.squeue_of(hub.ws) == []

    listed = run_missionctl(["runs"], cwd=hub.ws.root)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{final.group(1)} .* ok .* {job} +{node} +completed ", listed.stdout)


def test_ctrl_c_in_the_agents_terminal_cancels_its_job(hub_factory: HubFactory) -> None:
    hub, run_dir = cluster.long_run(hub_factory)
    job = cluster.job_id(run_dir)
    hub.tmux.run("send-keys", "-t", "=hub:a1", "C-c")
    wait_for(lambda: re.search(r"^run \S+ crash val_bpb=none$", cluster.screen(hub, "a1"), re.M),
             timeout=60, message="the run's final line")  # fmt: skip
    assert f"Ctrl-C: cancelling Slurm job {job}" in cluster.screen(hub, "a1")
    assert cluster.exit_status(hub, "a1") == 130
    end = cluster.the_end(run_dir)
    assert end.status == "crash"
    assert end.error == f"Slurm job {job} was cancelled by Ctrl-C"
    assert end.steps is not None and end.steps > 0
    assert cluster.squeue_of(hub.ws) == []


def test_scancel_from_outside_ends_the_run_crash_with_the_reason(workspace: Path) -> None:
    ws = cluster.write_slurm_org(workspace, shell_agents(1))
    follower = _follower(workspace, cluster.LONG_RUN)
    run_dir = cluster.training_run(ws)
    job = cluster.job_id(run_dir)
    subprocess.run(["scancel", job], check=True, timeout=30)
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 128 + signal.SIGTERM, err
    end = cluster.the_end(run_dir)
    reason = f"Slurm job {job} was cancelled (scancel, or an administrator)"
    assert (end.status, end.error) == ("crash", reason)
    assert end.steps is not None and end.steps > 0 and end.final_val_bpb is None
    assert out.splitlines()[-2:] == [f"error: {reason}", f"run {run_dir.name} crash val_bpb=none"]
    info = load_run_dir(run_dir)
    assert (info.status, info.job_id, info.job_state) == ("crash", job, "cancelled")
    assert cluster.squeue_of(ws) == []


def test_a_job_whose_follower_was_killed_is_settled_from_slurm(workspace: Path) -> None:
    ws = cluster.write_slurm_org(workspace, shell_agents(1))
    follower = _follower(workspace, cluster.LONG_RUN)
    run_dir = cluster.training_run(ws)
    follower.kill()  # SIGKILL: nothing of the follower's own is left to clean up
    follower.wait(timeout=30)
    assert load_run_dir(run_dir).status == "running"  # the job trains on, on its own
    subprocess.run(["scancel", cluster.job_id(run_dir)], check=True, timeout=30)
    wait_for(lambda: cluster.squeue_of(ws) == [], timeout=60, message="the job to end")
    assert not cluster.of_kind(run_dir, "end") and load_run_dir(run_dir).status == "unknown"

    listed = run_missionctl(["runs", "list", "--json"], cwd=workspace)  # asks Slurm how it ended
    assert listed.returncode == 0, listed.stderr
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "crash" and "was cancelled" in run["error"]


def test_a_bad_partition_is_one_clear_line_and_exit_2(workspace: Path) -> None:
    ws = cluster.write_slurm_org(workspace, shell_agents(1), 'partition = "nope"')
    proc = _follower(workspace, cluster.TRAIN.split())
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.splitlines() == [
        "missionctl: Slurm refused the job: Batch job submission failed: Invalid partition name"
        " specified; check [runs.slurm] in org/org.toml (`sinfo` lists the partitions)"
    ]
    assert out == ""
    assert cluster.run_dirs(ws) == []  # nothing reserved stays behind, live or not
    assert cluster.squeue_of(ws) == []


def test_any_command_runs_as_a_job_with_its_metrics(workspace: Path) -> None:
    ws = cluster.write_slurm_org(workspace, shell_agents(1))
    script = (
        "import json, os; print('seed', os.environ['MISSIONCTL_SEED'], flush=True);"
        " open(os.environ['MISSIONCTL_METRICS'], 'a').write(json.dumps({'val_bpb': 1.25}) + '\\n')"
    )
    proc = _follower(workspace, [sys.executable, "-m", "missionctl", "run", "--seed", "3", "--",
                                 sys.executable, "-c", script])  # fmt: skip
    out, err = proc.communicate(timeout=cluster.JOB_TIMEOUT)
    assert proc.returncode == 0, err
    (run_dir,) = cluster.run_dirs(ws)
    assert "seed 3" in out.splitlines()
    assert out.splitlines()[-1] == f"run {run_dir.name} ok val_bpb=1.2500"
    (start,) = cluster.of_kind(run_dir, "start")
    assert (
        start["slurm_job_id"] == cluster.job_id(run_dir) and start["command"][0] == sys.executable
    )
    end = cluster.the_end(run_dir)
    assert (end.status, end.final_val_bpb, end.exit_code) == ("ok", 1.25, 0)


@pytest.mark.slow
def test_slurms_time_limit_ends_the_run_timeout(workspace: Path) -> None:
    # Slurm counts time limits in minutes and checks them every 30 s: this waits ~1-1.5 min.
    ws = cluster.write_slurm_org(workspace, shell_agents(1), 'time_limit = "1m"')
    follower = _follower(workspace, cluster.LONG_RUN)
    out, err = follower.communicate(timeout=240)
    assert follower.returncode == 4, err  # what a local run's own time limit returns
    (run_dir,) = cluster.run_dirs(ws)
    end = cluster.the_end(run_dir)
    assert (end.status, end.error) == (
        "timeout",
        f"Slurm job {cluster.job_id(run_dir)} reached its time limit of 1:00",
    )
    assert end.steps is not None and end.steps > 0
    assert "DUE TO TIME LIMIT" in out  # Slurm's own line, from the job's output
    assert not psutil.pid_exists(cluster.trainer_pid(run_dir))
