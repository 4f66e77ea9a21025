"""The metrics JSONL: schema validation, a reader tolerant of half-written lines, the live tail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from missionctl.train.runs import metrics
from missionctl.train.runs.metrics import EndEvent, EvalEvent, StartEvent, StepEvent
from missionctl.train.runs.reader import MetricsTail, load_run_dir
from missionctl.train.runs.record import RunRecord

START = StartEvent(
    t=1000.0, run_id="r1-x", agent="r1", preset="cpu-tiny", git_commit="abc", git_branch="main",
    diff_hash="d1", config={"depth": 2}, config_hash="h", init_seed=1, data_seed=1,
    budget={"kind": "steps", "amount": 4}, total_steps=4, tokens_per_step=512, device="cpu",
    device_name="cpu", dtype="float32", compiled=False, threads=2, torch_version="2", n_params=10,
    n_params_matmul=8, n_params_embedding=2, flops_per_token=48, peak_flops=None,
    data={"hash": "dh"}, data_hash="dh", host="vm", pid=1,
)  # fmt: skip


def step(n: int, loss: float | None = 3.0) -> StepEvent:
    return StepEvent(
        t=1000.0 + 10 * n, step=n, tokens=512 * n, flops=1e6 * n, train_time=9.0 * n,
        progress=n / 4, loss=loss, loss_smooth=loss, lr=1e-3, grad_norm=1.0, dt=9.0,
        tok_s=56.9, mfu=None, mem_mb=100.0,
    )  # fmt: skip


def evaluation(n: int, bpb: float) -> EvalEvent:
    return EvalEvent(t=1000.0 + 10 * n + 1, step=n, tokens=512 * n, flops=1e6 * n, progress=n / 4,
                     train_time=9.0 * n, val_loss=bpb * 0.693, val_bpb=bpb)  # fmt: skip


END = EndEvent(t=1050.0, status="ok", error=None, steps=4, tokens=2048, flops=4e6,
               train_time=36.0, wall_time=50.0, final_val_bpb=2.5, best_val_bpb=2.4)  # fmt: skip


def test_every_event_round_trips_and_validates() -> None:
    for event in (START, step(1), evaluation(1, 2.0), END):
        line = metrics.to_line(event)
        assert line.endswith("\n") and "\n" not in line[:-1]
        obj = json.loads(line)
        assert obj["v"] == metrics.SCHEMA_VERSION and obj["event"] == event.kind
        assert metrics.validate(obj) == []
        assert metrics.parse_event(obj) == event


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"v": 99}, "v is 99"),
        ({"event": "stepp"}, "is not one of start, step, eval, end"),
        ({"loss": "3.0"}, "step: loss='3.0'"),
        ({"step": True}, "step: step=True"),
        ({"tokens": 1.5}, "step: tokens=1.5"),
        ({"dt": None}, "step: dt=None"),
    ],
)
def test_schema_violations_are_named(change: dict[str, object], needle: str) -> None:
    obj = {**json.loads(metrics.to_line(step(1))), **change}
    assert any(needle in p for p in metrics.validate(obj)), metrics.validate(obj)
    missing = json.loads(metrics.to_line(step(1)))
    del missing["lr"]
    assert metrics.validate(missing) == ["step: missing lr"]
    bad_end = {**json.loads(metrics.to_line(END)), "status": "done"}
    assert "end: status 'done'" in metrics.validate(bad_end)[0]


def test_non_finite_numbers_never_reach_the_file() -> None:
    assert metrics.finite(float("nan")) is None and metrics.finite(float("inf")) is None
    assert metrics.finite(2.0) == 2.0
    with pytest.raises(ValueError):
        metrics.to_line(step(1, loss=float("nan")))


def test_reader_skips_a_half_written_last_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    whole = metrics.to_line(START) + metrics.to_line(step(1))
    partial = metrics.to_line(step(2))[:-20]
    path.write_text(whole + partial)
    assert metrics.read_events(path) == [START, step(1)]
    path.write_text(whole + "not json\n" + metrics.to_line(step(2)))
    assert metrics.read_events(path) == [START, step(1), step(2)]
    assert metrics.read_events(tmp_path / "none.jsonl") == []


def test_tail_reads_only_new_bytes_and_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "run" / "metrics.jsonl"
    path.parent.mkdir()
    tail = MetricsTail(path, history=3)
    assert tail.poll().status == "unknown" and tail.poll().step == 0  # nothing there yet
    with path.open("a") as f:
        f.write(metrics.to_line(START))
        f.write(metrics.to_line(step(1))[:30])  # a line cut mid-write
        f.flush()
        first = tail.poll()
        assert first.run_id == "r1-x" and first.step == 0 and first.budget == "steps=4"
        f.write(metrics.to_line(step(1))[30:])
        for n in (2, 3):
            f.write(metrics.to_line(step(n, loss=3.0 - n)))
        f.write(metrics.to_line(evaluation(3, 2.6)))
        f.flush()
        live = tail.poll()
    assert live.step == 3 and live.fraction == 0.75 and live.total_steps == 4
    assert live.losses == (3.0, 1.0, 0.0)
    assert live.last_val_bpb == 2.6 and live.tok_s == 56.9 and live.mfu is None
    assert live.eta_s == pytest.approx(30 * 0.25 / 0.75)  # 30 s for 75%: 10 s to go
    assert live.as_of == 1031.0
    assert tail.offset == path.stat().st_size  # read each byte once
    with path.open("a") as f:
        f.write(metrics.to_line(step(4, loss=0.5)))
        f.write(metrics.to_line(evaluation(4, 2.7)))
        f.write(metrics.to_line(END))
    done = tail.poll()
    assert done.status == "ok" and done.eta_s == 0.0 and done.losses == (1.0, 0.0, 0.5)
    assert done.last_val_bpb == 2.7 and done.best_val_bpb == 2.6
    path.write_text(metrics.to_line(START))  # replaced by a new run: start over
    assert tail.poll().step == 0


def test_run_status_comes_from_end_or_the_lock(tmp_path: Path) -> None:
    record = RunRecord(tmp_path, "r1-x")
    record.write_config(
        {"agent": "r1", "preset": "cpu-tiny", "budget": {"kind": "steps", "amount": 4}}
    )
    assert load_run_dir(record.path).status == "queued"
    record.metrics_path.write_text(metrics.to_line(START) + metrics.to_line(step(1)))
    info = load_run_dir(record.path)
    assert (info.status, info.agent, info.steps, info.budget) == ("running", "r1", 1, "steps=4")
    assert MetricsTail(record.metrics_path).poll().status == "running"
    record.close()  # the process died without writing `end`
    assert load_run_dir(record.path).status == "unknown"
    assert MetricsTail(record.metrics_path).poll().status == "unknown"
    with record.metrics_path.open("a") as f:
        f.write(metrics.to_line(evaluation(1, 2.9)) + metrics.to_line(END))
    info = load_run_dir(record.path)
    assert (info.status, info.final_val_bpb, info.best_val_bpb, info.seed) == ("ok", 2.5, 2.4, 1)


def test_a_long_run_is_read_from_its_head_and_tail(tmp_path: Path) -> None:
    record = RunRecord(tmp_path, "long")
    record.write_config({})
    lines = [metrics.to_line(START)] + [metrics.to_line(step(n)) for n in range(1, 400)]
    lines.insert(50, metrics.to_line(evaluation(49, 1.9)))
    record.metrics_path.write_text("".join(lines))
    live = load_run_dir(record.path)
    assert (live.status, live.steps, live.best_val_bpb) == ("running", 399, 1.9)  # scanned it all
    with record.metrics_path.open("a") as f:
        f.write(metrics.to_line(END))
    record.close()
    done = load_run_dir(record.path)
    assert (done.status, done.started, done.best_val_bpb) == ("ok", 1000.0, 2.4)


def test_the_reader_api_does_not_import_torch() -> None:
    code = (
        "import sys, missionctl.train.runs.metrics, missionctl.train.runs.reader, missionctl.train.config,"
        " missionctl.train.model.flops, missionctl.train.cli;"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
