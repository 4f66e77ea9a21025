"""What the tests on the real one-node Slurm cluster (`tests/slurm/cluster.sh up`) share:
commands as an agent types them, and the cluster's and the runs' own view of its jobs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from missionctl.agents.org.hub import Hub
from missionctl.train.runs import metrics
from missionctl.workspace import Workspace
from tests.helpers import shell_agents, wait_for, write_org

# Jobs wait for a CPU on a 2-core machine that other tests and engineers share.
JOB_TIMEOUT = 180.0
TRAIN = f"{sys.executable} -m missionctl.train --preset cpu-tiny"
# Long enough to be stopped halfway by whatever a test does to it.
LONG_RUN = [sys.executable, "-m", "missionctl.train", "--preset", "cpu-tiny",
            "--budget", "steps=1000000"]  # fmt: skip


def slurm_org(extra: str = "") -> str:
    """org.toml lines that send the org's runs to the cluster (1 CPU a run)."""
    return f'[runs]\nexecutor = "slurm"\n\n[runs.slurm]\ncpus = 1\npoll = "1s"\n{extra}\n'


def write_slurm_org(root: Path, agents: str, extra: str = "") -> Workspace:
    write_org(root, agents, slurm_org(extra))
    return Workspace(root)


def squeue_of(ws: Workspace) -> list[tuple[str, str]]:
    """(job id, state) of the workspace's jobs in Slurm's queue, read with squeue itself."""
    out = subprocess.run(
        ["squeue", "-h", "--me", "-O", "JobID:|,State:|,Comment:"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("|", 2) for line in out.splitlines() if line.count("|") >= 2]
    return [
        (job, state) for job, state, comment in rows if comment.startswith(f"{ws.socket_name} ")
    ]


def run_dirs(ws: Workspace) -> list[Path]:
    if not ws.runs_dir.is_dir():
        return []
    return sorted(p for p in ws.runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def the_run(ws: Workspace) -> Path:
    """The workspace's one run on Slurm, once its job is submitted."""
    dirs: list[Path] = wait_for(
        lambda: [p for p in run_dirs(ws) if (p / "job.json").exists()],
        timeout=60, message="a run with a Slurm job",
    )  # fmt: skip
    assert len(dirs) == 1, dirs
    return dirs[0]


def training_run(ws: Workspace) -> Path:
    """The workspace's one run on Slurm, once its job has trained a step."""
    run_dir = the_run(ws)
    wait_for(lambda: training(run_dir), timeout=JOB_TIMEOUT, message="the job to train")
    return run_dir


def job_id(run_dir: Path) -> str:
    return str(json.loads((run_dir / "job.json").read_text())["job_id"])


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if line.strip()
    ]


def of_kind(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    if not (run_dir / "metrics.jsonl").exists():
        return []
    return [e for e in events(run_dir) if e["event"] == kind]


def training(run_dir: Path) -> bool:
    """The job's trainer has written a step."""
    return bool(of_kind(run_dir, "step"))


def trainer_pid(run_dir: Path) -> int:
    """The job's trainer process (on the job's node: here)."""
    return int(of_kind(run_dir, "start")[0]["pid"])


def the_end(run_dir: Path) -> metrics.EndEvent:
    (end,) = [e for e in metrics.read_events(run_dir / "metrics.jsonl")
              if isinstance(e, metrics.EndEvent)]  # fmt: skip
    return end


def screen(hub: Hub, agent: str) -> str:
    """The agent's terminal and what scrolled off it, wrapped lines joined."""
    return hub.tmux.run("capture-pane", "-p", "-J", "-S", "-500", "-t", f"=hub:{agent}")


def type_line(hub: Hub, agent: str, line: str) -> None:
    wait_for(lambda: f"{agent}$" in screen(hub, agent), timeout=30, message=f"{agent}'s prompt")
    hub.tmux.run("send-keys", "-t", f"=hub:{agent}", line, "Enter")


def long_run(hub_factory: Callable[..., Hub]) -> tuple[Hub, Path]:
    """An org of one shell agent, a1, that has typed LONG_RUN; and its run, once it trains."""
    hub = hub_factory(shell_agents(1), slurm_org())
    hub.up()
    type_line(hub, "a1", " ".join(LONG_RUN))
    return hub, training_run(hub.ws)


def exit_status(hub: Hub, agent: str) -> int:
    """The exit code of the last command the agent's shell ran."""
    hub.tmux.run("send-keys", "-t", f"=hub:{agent}", "echo EXIT=$?", "Enter")
    found = wait_for(lambda: re.findall(r"^EXIT=(\d+)", screen(hub, agent), re.M))
    return int(found[-1])


def node_name() -> str:
    """The cluster's one node, as Slurm names it."""
    return subprocess.run(
        ["sinfo", "-h", "-o", "%N"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
