"""`python -m missionctl.train` as users and agents run it: exit codes, signals, slots, workspaces."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from missionctl.train.cli import main
from missionctl.train.runs import metrics
from missionctl.train.runs.reader import MetricsTail, latest_run, list_runs, load_run, load_run_dir
from missionctl.train.runs.slots import take_slot
from missionctl.workspace import Workspace
from tests.helpers import git
from tests.integration.train.conftest import TINY_SETS, start_trainer, trainer_command

DEADLINE = 60.0


class Lines:
    """A process's stdout, line by line, with a deadline on each wait."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self.queue.put(line.rstrip("\n"))
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def next(self, timeout: float = DEADLINE) -> str | None:
        return self.queue.get(timeout=timeout)


def _wait_for_step(root: Path) -> None:
    """Wait until the one run under `root` has written a step."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for path in root.glob("*/metrics.jsonl"):
            if any(isinstance(e, metrics.StepEvent) for e in metrics.read_events(path)):
                return
        time.sleep(0.05)  # polling a file another process writes, with a deadline
    raise AssertionError(f"no step under {root} within {DEADLINE} s")


def _run_dir(root: Path) -> Path:
    (path,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    return path


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "depht=3"], "the valid keys are: depth, width"),
        (["--set", "mlp=swiglu"], "the valid values are: relu2, gelu"),
        (["--budget", "hours=1"], "KIND one of steps, tokens, flops, seconds"),
        (["--preset", "huge"], "the presets are: cpu-tiny"),
        (["--run-id", "../escape"], "run id '../escape' is not allowed"),
        (["--run-id", ".slots"], "not starting with '.'"),
        (["--seed", "-1"], "out of range"),
        (["--seed", str(2**63)], "out of range"),
        (["--data", "/no/such/corpus"], "no such file or folder"),
        (["--set", "device=cuda"], "sees no CUDA GPU"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = subprocess.run(
        trainer_command(*args), cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE
    )
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_show_config_resolves_preset_sets_and_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "--preset",
                "cpu-std",
                "--set",
                "depth=3",
                "data_seed=9",
                "--seed",
                "4",
                "--budget",
                "steps=10",
                "--show-config",
            ]
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["depth"] == 3 and shown["config"]["seq_len"] == 128
    assert (shown["init_seed"], shown["data_seed"], shown["total_steps"]) == (4, 9, 10)


def test_a_run_prints_its_first_and_last_lines_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run(
        trainer_command("--run-id", "first", "--seed", "2", "--budget", "steps=3", "--set", *TINY_SETS),
        cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"run first cpu-tiny seed=2 budget=steps=3 -> {tmp_path / 'runs' / 'first'}"
    assert lines[-1].startswith("run first ok val_bpb=")
    again = subprocess.run(
        trainer_command("--run-id", "first"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
def test_a_signal_writes_end_then_exits(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    proc = start_trainer(tmp_path, "--budget", "seconds=120", "--set", *TINY_SETS)
    try:
        _wait_for_step(tmp_path / "runs")
    except AssertionError:
        proc.kill()
        raise
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == code, err
    run_dir = _run_dir(tmp_path / "runs")
    end = metrics.read_events(run_dir / "metrics.jsonl")[-1]
    assert isinstance(end, metrics.EndEvent) and end.status == "crash"
    assert end.error is not None and sig.name in end.error
    assert out.splitlines()[-1].endswith("crash val_bpb=none")
    assert load_run_dir(run_dir).status == "crash"


def test_a_killed_run_reads_back_as_unknown(tmp_path: Path) -> None:
    proc = start_trainer(tmp_path, "--budget", "seconds=120", "--set", *TINY_SETS)
    try:
        _wait_for_step(tmp_path / "runs")
        assert load_run_dir(_run_dir(tmp_path / "runs")).status == "running"
    finally:
        proc.kill()
        proc.communicate(timeout=DEADLINE)
    assert load_run_dir(_run_dir(tmp_path / "runs")).status == "unknown"


def test_runs_queue_for_a_slot_then_train(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    held = take_slot(root, 1)  # another run holds the only slot
    proc = start_trainer(
        tmp_path, "--budget", "steps=3", "--set", *TINY_SETS, env={"MISSIONCTL_MAX_RUNS": "1"}
    )
    lines = Lines(proc)
    try:
        first = lines.next()
        assert first is not None and first.startswith("run local-")
        assert lines.next() == "waiting for a run slot (1 of 1 busy)"
        queued = load_run_dir(_run_dir(root))
        assert queued.status == "queued" and queued.budget == "steps=3"
        assert MetricsTail(queued.metrics_path).poll().status == "queued"
    finally:
        held.release()
    assert proc.wait(timeout=DEADLINE) == 0
    info = load_run_dir(_run_dir(root))
    assert info.status == "ok" and info.steps == 3


def test_a_run_in_a_workspace_is_recorded_there_for_its_agent(workspace: Path) -> None:
    (workspace / "org" / "org.toml").write_text(
        (workspace / "org" / "org.toml").read_text() + "\n[runs]\nmax_concurrent = 2\n"
    )
    (workspace / "README.md").write_text("# lab\nan uncommitted idea\n")
    env = {"MISSIONCTL_WORKSPACE": str(workspace), "MISSIONCTL_AGENT": "r1"}
    cmd = trainer_command("--budget", "steps=2", "--set", *TINY_SETS)
    cmd.remove("--threads")
    cmd.remove("1")
    proc = subprocess.run(
        cmd,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr
    ws = Workspace(workspace)
    (info,) = list_runs(ws)
    assert info.path.parent == workspace / ".missionctl" / "runs"
    assert info.run_id.startswith("r1-") and info.agent == "r1" and info.status == "ok"
    assert latest_run(ws, "r1") == info == load_run(ws, info.run_id)
    assert latest_run(ws, "r2") is None
    start = metrics.read_events(info.metrics_path)[0]
    assert isinstance(start, metrics.StartEvent)
    assert (
        start.git_commit == git(workspace, "rev-parse", "HEAD").strip()
        and start.git_branch == "main"
    )
    assert "+an uncommitted idea" in (info.path / "diff.patch").read_text()
    # Two slots on the org file: each run gets half the cores.
    assert start.threads == max(1, len(os.sched_getaffinity(0)) // 2)


def test_stopping_a_queued_run_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    held = take_slot(root, 1)
    proc = start_trainer(tmp_path, "--budget", "steps=3", env={"MISSIONCTL_MAX_RUNS": "1"})
    lines = Lines(proc)
    try:
        assert (lines.next() or "").startswith("run local-")
        assert lines.next() == "waiting for a run slot (1 of 1 busy)"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 143
    finally:
        held.release()
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None and "while waiting for a run slot" in proc.stderr.read()
    assert [p.name for p in root.iterdir()] == [".slots"]


def test_a_diverged_validation_loss_ends_the_run_as_nan(tmp_path: Path) -> None:
    # Training loss looks fine at the last step; the update after it ruins the weights.
    proc = subprocess.run(
        [sys.executable, "-m", "missionctl.train", "--preset", "cpu-tiny", "--budget", "steps=1",
         "--set", "lr=1e38", "logit_softcap=0", "--run-id", "bad-eval"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "MISSIONCTL_WORKSPACE"},
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "runs" / "bad-eval" / "metrics.jsonl").open()]
    assert lines[-1]["event"] == "end" and lines[-1]["status"] == "nan"
    assert "validation loss" in lines[-1]["error"]
