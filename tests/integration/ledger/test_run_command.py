"""`missionctl run -- CMD`: any command recorded as a run, seen by `missionctl runs` and the ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from missionctl.errors import UserError
from missionctl.ledger import Ledger
from missionctl.train.runs import metrics
from missionctl.train.runs.reader import MetricsTail, load_run_dir
from tests.helpers import git, run_missionctl, wait_for

# A stand-in for a real training script (nanochat's base_train, say): it reads its
# flags, prints progress, reports through $MISSIONCTL_METRICS, and exits as told.
SCRIPT = textwrap.dedent(
    """\
    import json, os, sys, time
    args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    seed = int(os.environ.get("MISSIONCTL_SEED", "0"))
    print("ready", flush=True)
    if "sleep" in args:
        time.sleep(float(args["sleep"]))
    bpb = 2.0 + float(args.get("lr", "0.1")) + 0.001 * seed
    print(f"Validation bpb: {bpb:.4f}")
    if args.get("report") != "no":
        with open(os.environ["MISSIONCTL_METRICS"], "a") as f:
            f.write(json.dumps({"steps": 100, "flops": 3e12}) + "\\n")
            f.write(json.dumps({"core": float(args.get("core", "0.2"))}) + "\\n")
    sys.exit(int(args.get("exit", "0")))
    """
)


def _workspace(workspace: Path) -> Path:
    (workspace / "train.py").write_text(SCRIPT)
    org = workspace / "org" / "org.toml"
    org.write_text(org.read_text() + "\n[metrics]\nval_bpb = 'Validation bpb: ([0-9.]+)'\n")
    git(workspace, "add", "train.py", "org")
    git(workspace, "commit", "-q", "-m", "train.py")
    return workspace


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_missionctl(["run", *argv], cwd=root, timeout=120)


def test_a_command_is_recorded_like_a_trainer_run(workspace: Path) -> None:
    root = _workspace(workspace)
    slurm = {"SLURM_JOB_ID": "4242", "SLURMD_NODENAME": "gpu17"}
    proc = run_missionctl(
        ["run", "--seed", "4", "--run-id", "cmd-1", "--", sys.executable, "train.py", "--lr=0.5"],
        cwd=root, env=slurm, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ready\nValidation bpb: 2.5040\n"  # shown as it came
    assert proc.stderr.splitlines()[-1] == "run cmd-1 ok val_bpb=2.5040"
    run_dir = root / ".missionctl" / "runs" / "cmd-1"
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["event"] for m in lines] == ["start", "end"]
    assert all(metrics.validate(m) == [] for m in lines)
    start, end = lines
    assert start["preset"] is None and start["command"] == [sys.executable, "train.py", "--lr=0.5"]
    assert start["config"] == {"command": f"{sys.executable} train.py", "lr": "0.5"}
    assert start["init_seed"] == 4 and start["git_commit"] == git(root, "rev-parse", "HEAD").strip()
    assert start["device"] in ("cpu", "cuda") and start["host"] and start["threads"] >= 1
    assert (start["slurm_job_id"], start["slurm_node"]) == ("4242", "gpu17")
    assert (end["status"], end["exit_code"], end["steps"], end["flops"]) == ("ok", 0, 100, 3e12)
    assert end["final_val_bpb"] == 2.504 and end["metrics"] == {"val_bpb": 2.504, "core": 0.2}
    assert (run_dir / "stdout.log").read_text() == proc.stdout
    # The readers the app and `missionctl runs` use see it.
    info = load_run_dir(run_dir)
    assert (info.status, info.steps, info.final_val_bpb, info.init_seed) == ("ok", 100, 2.504, 4)
    assert MetricsTail(run_dir / "metrics.jsonl").poll().last_val_bpb == 2.504
    listed = json.loads(run_missionctl(["runs", "list", "--json"], cwd=root).stdout)
    assert [r["run_id"] for r in listed] == ["cmd-1"]


def test_exit_codes_failures_and_divergence(workspace: Path) -> None:
    root = _workspace(workspace)
    failed = _run(root, "--run-id", "bad", "--", sys.executable, "train.py", "--exit=3")
    assert failed.returncode == 3 and load_run_dir(root / ".missionctl/runs/bad").status == "crash"
    nan = _run(root, "--run-id", "nan", "--", sys.executable, "train.py", "--core=nan")
    assert nan.returncode == 0 and load_run_dir(root / ".missionctl/runs/nan").status == "nan"
    slow = _run(
        root,
        "--run-id",
        "slow",
        "--time-limit",
        "0.5",
        "--",
        sys.executable,
        "train.py",
        "--sleep=60",
    )
    assert slow.returncode == 4 and load_run_dir(root / ".missionctl/runs/slow").status == "timeout"
    missing = _run(root, "--", "no-such-program-anywhere")
    assert missing.returncode == 2 and "cannot start 'no-such-program-anywhere'" in missing.stderr
    for argv, needle in [
        ([], "needs a command after --"),
        (["--exp", "x", "--", "true"], "--exp and --arm go together"),
        (["--exp", "x", "--arm", "a", "--", "true"], "--exp needs --seed N"),
        (["--run-id", "../x", "--", "true"], "run id '../x' is not allowed"),
    ]:
        proc = _run(root, *argv)
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_a_signal_reaches_the_command_and_the_run_ends_crash(workspace: Path) -> None:
    root = _workspace(workspace)
    proc = subprocess.Popen(
        [sys.executable, "-m", "missionctl", "run", "--run-id", "stopped", "--", sys.executable,
         "train.py", "--sleep=60"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MISSIONCTL_WORKSPACE": str(root)},
    )  # fmt: skip
    log = root / ".missionctl" / "runs" / "stopped" / "stdout.log"
    wait_for(lambda: log.exists() and "ready" in log.read_text(), timeout=60, message="the command")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    info = load_run_dir(log.parent)
    assert info.status == "crash" and info.error == "interrupted by SIGTERM", err


def test_command_runs_feed_an_experiment_like_trainer_runs(workspace: Path) -> None:
    root = _workspace(workspace)
    code = run_missionctl(
        ["exp", "new", "--id", "lr", "--question", "Is a lower lr better?", "--test", "superiority",
         "--min-effect", "0.01", "--seeds", "1,2", "--command", f"{sys.executable} train.py",
         "--budget", "flops=3e12", "--arm", "baseline", "lr=0.1", "--arm", "low", "lr=0.05"],
        cwd=root,
    )  # fmt: skip
    assert code.returncode == 0, code.stderr
    refused = _run(
        root,
        "--exp",
        "lr",
        "--arm",
        "low",
        "--seed",
        "1",
        "--",
        sys.executable,
        "train.py",
        "--lr=0.07",
    )
    assert refused.returncode == 2
    assert "config: this run has lr=0.07, but arm low sets lr=0.05" in refused.stderr
    runs = root / ".missionctl" / "runs"
    assert not runs.exists() or not list(runs.iterdir())  # nothing recorded
    plan = run_missionctl(["exp", "plan", "lr"], cwd=root).stdout.splitlines()
    assert len(plan) == 4
    for line in plan:
        argv = line.split()
        assert argv[:2] == ["missionctl", "run"]
        proc = _run(root, *argv[2:])
        assert proc.returncode == 0, proc.stderr
    with Ledger.open(root) as ledger:
        verdict = ledger.verdict("lr")
    assert verdict.decision == "superior", verdict.reasons
    assert verdict.arms["low"].mean_diff is not None
    assert abs(verdict.arms["low"].mean_diff + 0.05) < 1e-9
    # A command that does not report its budget cannot show that the arms matched.
    run_missionctl(
        ["exp", "new", "--id", "lr2", "--question", "q", "--test", "superiority", "--min-effect",
         "0.01", "--seeds", "1,2", "--command", f"{sys.executable} train.py --report=no",
         "--budget", "flops=3e12", "--arm", "baseline", "lr=0.1", "--arm", "low", "lr=0.05"],
        cwd=root,
    )  # fmt: skip
    for line in run_missionctl(["exp", "plan", "lr2"], cwd=root).stdout.splitlines():
        assert _run(root, *line.split()[2:]).returncode == 0
    with Ledger.open(root) as ledger:
        verdict = ledger.verdict("lr2")
        # Attaching a command run that spent another budget than declared is refused.
        ledger.register(
            {
                **msgspec.to_builtins(ledger.experiment("lr").spec),
                "id": "lr3",
                "budget": "flops=4e12",
            }
        )
        first = ledger.attachments("lr")[0]
        with pytest.raises(UserError) as refused:
            ledger.attach("lr3", first.arm, [first.run_id])
        assert str(refused.value).startswith(
            f"budget: run {first.run_id} spent 3e+12 flops, but experiment lr3 declares flops=4e+12"
        )
    assert verdict.decision == "confounded"
    assert (
        verdict.reasons[0].startswith("budget: seed 1: run ")
        and "did not report its flops" in verdict.reasons[0]
    )
