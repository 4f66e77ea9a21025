"""kill, pause, resume and down reach the org's jobs on the real cluster."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import psutil

from missionctl.agents.org.hub import Hub
from missionctl.train.runs.jobfile import mark_paused, paused_by
from missionctl.train.runs.reader import MetricsTail, list_runs
from missionctl.train.slurm import org as slurm_jobs
from missionctl.tui.widgets.metrics_strip import run_text
from tests.helpers import never, run_missionctl, shell_agents, wait_for
from tests.integration.slurm import cluster

HubFactory = Callable[..., Hub]


def _live(hub: Hub) -> list[str]:
    return [r.run_id for r in list_runs(hub.ws) if r.status in ("queued", "running")]


def test_kill_cancels_a_pending_job_and_leaves_no_run(hub_factory: HubFactory) -> None:
    # Held at submission: the job waits in the queue (JobHeldUser) until someone acts.
    hub = hub_factory(shell_agents(1), cluster.slurm_org('sbatch_options = ["--hold"]'))
    hub.up()
    cluster.type_line(hub, "a1", cluster.TRAIN)
    run_dir = cluster.the_run(hub.ws)
    job = cluster.job_id(run_dir)
    wait_for(lambda: f"job {job} pending (JobHeldUser)" in cluster.screen(hub, "a1"),
             message="the terminal to say the job waits, and why")  # fmt: skip
    assert cluster.squeue_of(hub.ws) == [(job, "PENDING")]
    assert _live(hub) == [run_dir.name]

    killed = run_missionctl(["kill", "a1"], cwd=hub.ws.root)
    assert killed.returncode == 0, killed.stderr
    assert "1 Slurm job cancelled" in killed.stdout
    assert cluster.squeue_of(hub.ws) == []
    # It never ran: like a local run stopped while queued, it leaves nothing behind.
    wait_for(lambda: not run_dir.exists(), message="the never-run run to be removed")
    assert _live(hub) == []


def test_pause_suspends_a_running_job_and_resume_resumes_it(hub_factory: HubFactory) -> None:
    hub, run_dir = cluster.long_run(hub_factory)
    job = cluster.job_id(run_dir)
    trainer = psutil.Process(cluster.trainer_pid(run_dir))

    def cpu() -> float:
        times = trainer.cpu_times()
        return times.user + times.system

    paused = run_missionctl(["pause", "a1"], cwd=hub.ws.root)
    assert paused.returncode == 0, paused.stderr
    assert cluster.squeue_of(hub.ws) == [(job, "SUSPENDED")]
    frozen, steps = cpu(), len(cluster.of_kind(run_dir, "step"))
    never(lambda: cpu() != frozen or len(cluster.of_kind(run_dir, "step")) != steps, seconds=2.0)
    # The app's strip says where the job is.
    progress = MetricsTail(run_dir / "metrics.jsonl").poll()
    assert progress.job is not None and progress.job.paused
    assert f"job {job} suspended (paused)" in run_text(progress).plain

    resumed = run_missionctl(["resume", "a1"], cwd=hub.ws.root)
    assert resumed.returncode == 0, resumed.stderr
    assert cluster.squeue_of(hub.ws) == [(job, "RUNNING")]
    wait_for(lambda: cpu() > frozen + 0.5, message="the job to use the CPU again")
    wait_for(lambda: len(cluster.of_kind(run_dir, "step")) > steps, message="new steps")
    progress = MetricsTail(run_dir / "metrics.jsonl").poll()
    assert re.match(rf"run …\w{{4}} job {job} on \S+ \d+/\d+ ", run_text(progress).plain)


def test_a_job_stopped_by_signal_is_continued_by_resume(hub_factory: HubFactory) -> None:
    # Where only operators may suspend jobs (most clusters), pause stops the job's
    # processes with SIGSTOP through scancel, as their owner may; resume continues them.
    hub, run_dir = cluster.long_run(hub_factory)
    job = cluster.job_id(run_dir)
    trainer = psutil.Process(cluster.trainer_pid(run_dir))
    subprocess.run(["scancel", "--signal=STOP", "--full", job], check=True, timeout=30)
    mark_paused(run_dir, "signal")
    wait_for(lambda: trainer.status() == psutil.STATUS_STOPPED, message="the trainer stopped")
    assert cluster.squeue_of(hub.ws) == [(job, "STOPPED")]  # Slurm's word for it: it keeps its node
    steps = len(cluster.of_kind(run_dir, "step"))
    progress = MetricsTail(run_dir / "metrics.jsonl").poll()
    assert f"job {job} suspended (paused)" in run_text(progress).plain

    assert [j.job_id for j in slurm_jobs.resume(hub.ws, "a1")] == [job]
    wait_for(lambda: trainer.status() != psutil.STATUS_STOPPED, message="the trainer going on")
    wait_for(lambda: len(cluster.of_kind(run_dir, "step")) > steps, message="new steps")
    assert cluster.squeue_of(hub.ws) == [(job, "RUNNING")]
    assert paused_by(run_dir) is None


def test_pause_holds_a_pending_job_and_resume_releases_it(hub_factory: HubFactory) -> None:
    # Each job takes the whole node: a2's waits for a1's (Resources).
    hub = hub_factory(shell_agents(2), cluster.slurm_org('sbatch_options = ["--exclusive"]'))
    hub.up()
    cluster.type_line(hub, "a1", " ".join(cluster.LONG_RUN))
    wait_for(lambda: [s for _, s in cluster.squeue_of(hub.ws)] == ["RUNNING"],
             timeout=cluster.JOB_TIMEOUT, message="a1's job to run")  # fmt: skip
    cluster.type_line(hub, "a2", " ".join(cluster.LONG_RUN))
    pending = wait_for(lambda: [j for j, s in cluster.squeue_of(hub.ws) if s == "PENDING"],
                       timeout=60, message="a2's job to wait")  # fmt: skip

    def reason() -> str:
        out = subprocess.run(["squeue", "-h", "-j", pending[0], "-o", "%r"], capture_output=True,
                             text=True, timeout=30, check=True).stdout  # fmt: skip
        return out.strip()

    paused = run_missionctl(["pause", "a2"], cwd=hub.ws.root)
    assert paused.returncode == 0, paused.stderr
    assert reason() == "JobHeldUser"
    (run_dir,) = [p for p in cluster.run_dirs(hub.ws) if cluster.job_id(p) == pending[0]]
    assert paused_by(run_dir) == "hold"

    resumed = run_missionctl(["resume", "a2"], cwd=hub.ws.root)
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: reason() != "JobHeldUser", message="a2's job released")
    assert paused_by(run_dir) is None and (pending[0], "PENDING") in cluster.squeue_of(hub.ws)


def test_down_cancels_every_job_of_the_org_and_says_how_many(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(2), cluster.slurm_org())
    hub.up()
    for agent in ("a1", "a2"):
        cluster.type_line(hub, agent, " ".join(cluster.LONG_RUN))
    wait_for(
        lambda: len(cluster.squeue_of(hub.ws)) == 2, timeout=60, message="two jobs in the queue"
    )
    down = run_missionctl(["down"], cwd=hub.ws.root, timeout=120)
    assert down.returncode == 0, down.stderr
    assert "2 Slurm jobs (cancelled)" in down.stdout
    assert cluster.squeue_of(hub.ws) == []
    assert _live(hub) == []
    for run_dir in cluster.run_dirs(hub.ws):  # those that had started: ended by down, and say so
        end = cluster.the_end(run_dir)
        assert end.status == "crash" and end.error is not None
        assert end.error.endswith("was cancelled by `missionctl down`")
