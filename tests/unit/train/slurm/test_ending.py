"""How a run on Slurm ends: Slurm's account of its job, in the run's `end` terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from missionctl.train.runs import metrics
from missionctl.train.runs.jobfile import JobSeen, read_job, write_job
from missionctl.train.slurm.client import Job
from missionctl.train.slurm.follow import ending, settle


@pytest.mark.parametrize(
    ("job", "who", "status", "error"),
    [
        (Job("7", "TIMEOUT", reason="TimeLimit", time_limit="1:00"), None,
         "timeout", "Slurm job 7 reached its time limit of 1:00"),
        (Job("7", "CANCELLED"), None,
         "crash", "Slurm job 7 was cancelled (scancel, or an administrator)"),
        (Job("7", "CANCELLED"), "`missionctl kill r1`",
         "crash", "Slurm job 7 was cancelled by `missionctl kill r1`"),
        (Job("7", "PREEMPTED", node="gpu3"), None,
         "crash", "Slurm job 7 was preempted on gpu3 by a higher priority job"),
        (Job("7", "NODE_FAIL", node="gpu3"), None, "crash", "Slurm job 7's node failed on gpu3"),
        (Job("7", "OUT_OF_MEMORY", node="gpu3"), None, "crash",
         "Slurm job 7 ran out of memory on gpu3; ask for more with mem in [runs.slurm]"),
        (Job("7", "FAILED", exit_code=3, node="vm"), None,
         "crash", "Slurm job 7 failed with exit code 3 on vm"),
        (Job("7", "FAILED", signal=9, node="vm"), None,
         "crash", "Slurm job 7 was killed by signal 9 on vm"),
        (Job("7", "COMPLETED"), None,
         "crash", "Slurm job 7 completed, but the run recorded no end"),
        (Job("7", "DEADLINE"), None, "crash", "Slurm job 7 passed its deadline"),
        (Job("7", "BOOT_FAIL"), None, "crash", "Slurm job 7's node failed to boot"),
        (Job("7", "SPECIAL_EXIT"), None, "crash", "Slurm job 7 ended SPECIAL_EXIT"),
        (None, None, "crash", "Slurm has no record of job 7 (purged from its memory)"),
    ],
)  # fmt: skip
def test_each_way_slurm_ends_a_job_has_its_status_and_reason(
    job: Job | None, who: str | None, status: str, error: str
) -> None:
    how = ending("7", job, who)
    assert (how.status, how.error) == (status, error)


def _start(**fields: object) -> metrics.StartEvent:
    base: dict[str, object] = dict(
        t=1000.0, run_id="r1-x", agent="r1", preset="cpu-tiny", git_commit=None,
        git_branch=None, diff_hash=None, config={}, config_hash="h", init_seed=1, data_seed=1,
        budget={"kind": "steps", "amount": 10}, total_steps=10, tokens_per_step=8,
        device="cpu", device_name="cpu", dtype="float32", compiled=False, threads=1,
        torch_version="2", n_params=1, n_params_matmul=1, n_params_embedding=0,
        flops_per_token=6, peak_flops=None, data=None, data_hash="d", host="vm", pid=1,
    )  # fmt: skip
    return metrics.StartEvent(**{**base, **fields})  # type: ignore[arg-type]


def _step(step: int) -> metrics.StepEvent:
    return metrics.StepEvent(
        t=1000.0 + step, step=step, tokens=8 * step, flops=48.0 * step, train_time=0.5 * step,
        progress=step / 10, loss=2.0, loss_smooth=2.0, lr=0.01, grad_norm=1.0, dt=0.5,
        tok_s=16.0, mfu=None, mem_mb=None,
    )  # fmt: skip


def _run_dir(tmp_path: Path, *events: metrics.Event) -> Path:
    run_dir = tmp_path / "r1-x"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    with (run_dir / "metrics.jsonl").open("w") as f:
        f.writelines(metrics.to_line(e) for e in events)
    write_job(run_dir, JobSeen(job_id="7", submitted=999.0))
    return run_dir


def test_a_job_slurm_stopped_mid_run_ends_with_what_it_had_done(tmp_path: Path) -> None:
    evals = metrics.EvalEvent(t=1003.5, step=3, tokens=24, flops=144.0, progress=0.3,
                              train_time=1.5, val_loss=2.0, val_bpb=2.885)  # fmt: skip
    run_dir = _run_dir(tmp_path, _start(), _step(1), _step(2), _step(3), evals, _step(4))
    job = Job("7", "TIMEOUT", reason="TimeLimit", node="vm", time_limit="1:00", exit_code=143)
    done = settle(run_dir, "7", job)
    assert done.written and not done.never_ran
    end = done.end
    assert end is not None
    assert (end.status, end.error) == ("timeout", "Slurm job 7 reached its time limit of 1:00")
    assert (end.steps, end.tokens, end.flops, end.train_time) == (4, 32, 192.0, 2.0)
    assert (end.final_val_bpb, end.best_val_bpb, end.exit_code) == (2.885, 2.885, 143)
    # Written to the run's file: every reader now sees how it ended.
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["status"] == "timeout" and len(lines) == 7
    seen = read_job(run_dir)
    assert seen is not None and (seen.state, seen.reason, seen.submitted) == (
        "TIMEOUT",
        "TimeLimit",
        999.0,
    )
    # Settling again changes nothing: the end is there.
    again = settle(run_dir, "7", job)
    assert not again.written and len((run_dir / "metrics.jsonl").read_text().splitlines()) == 7


def test_the_runs_own_end_stands(tmp_path: Path) -> None:
    own = metrics.EndEvent(t=1010.0, status="nan", error="loss nan at step 2", steps=2,
                           tokens=16, flops=96.0, train_time=1.0, wall_time=10.0,
                           final_val_bpb=None, best_val_bpb=None)  # fmt: skip
    run_dir = _run_dir(tmp_path, _start(), _step(1), _step(2), own)
    done = settle(run_dir, "7", Job("7", "FAILED", exit_code=3))
    assert done.end == own and not done.written


def test_a_job_that_ended_before_its_run_started_leaves_no_run(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    done = settle(run_dir, "7", Job("7", "CANCELLED"))
    assert done.never_ran and done.end is None
    assert not run_dir.exists()
