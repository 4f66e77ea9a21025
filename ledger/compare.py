"""An ad-hoc comparison of bare runs: what differs between two sets, and why no conclusion follows.

What the supervisor answers a claim with when it cites runs instead of an
experiment ("r3: depth 4 beats depth 2, see runs a and b"): which config keys
differ, the budget ratio on every axis, seeds per side, code, environment,
data and evaluation differences, and the reasons the runs cannot settle the
claim. A comparison never decides: only a preregistered experiment does.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from missionctl.ledger.facts import BUDGET_AXES, RunFacts
from missionctl.ledger.rules import fmt, short
from missionctl.ledger.spec import normalise

_ENV = ("device", "gpu_type", "dtype", "torch_version", "threads", "compiled")


class KeyDifference(msgspec.Struct, kw_only=True, frozen=True):
    """A config key whose values differ between (or within) the two sides."""

    key: str
    baseline: list[Any]
    treatment: list[Any]


class Comparison(msgspec.Struct, kw_only=True, frozen=True):
    """Two sets of runs side by side."""

    metric: str
    baseline_runs: list[str]
    treatment_runs: list[str]
    baseline_values: list[float | None]
    treatment_values: list[float | None]
    mean_diff: float | None  # mean(treatment) - mean(baseline), for information only
    config_differences: list[KeyDifference]
    budget_ratio: dict[str, float | None]  # axis -> mean(treatment) / mean(baseline)
    seeds: dict[str, list[int | None]]  # "baseline" / "treatment" -> the seeds
    differences: list[str]  # code, environment, data, evaluation, preset, status
    experiments: dict[str, list[str]]  # run -> the experiments it is attached to
    reasons: list[str]  # why no conclusion follows

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


def _distinct(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if all(normalise(v) != normalise(o) for o in out):
            out.append(v)
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.fmean(real) if real else None


def compare_runs(
    baseline: Sequence[RunFacts],
    treatment: Sequence[RunFacts],
    metric: str,
    experiments: Mapping[str, list[str]],
) -> Comparison:
    """Compare two sets of runs; `experiments` maps run ids to experiments they belong to."""
    if not baseline or not treatment:
        raise ValueError("a comparison needs runs on both sides")
    reasons: list[str] = []
    keys = sorted({k for r in (*baseline, *treatment) for k in r.config})
    config_diffs = []
    for key in keys:
        b = _distinct([r.config.get(key) for r in baseline])
        t = _distinct([r.config.get(key) for r in treatment])
        if len(b) > 1 or len(t) > 1 or normalise(b[0]) != normalise(t[0]):
            config_diffs.append(KeyDifference(key=key, baseline=b, treatment=t))
    across = [d for d in config_diffs if len(d.baseline) == 1 and len(d.treatment) == 1]
    within = [d for d in config_diffs if d not in across]
    if len(across) > 1:
        shown = ", ".join(f"{d.key} {fmt(d.baseline[0])}->{fmt(d.treatment[0])}" for d in across)
        reasons.append(
            f"config: {len(across)} keys differ ({shown}); a difference cannot be put down to"
            " any one of them"
        )
    if within:
        shown = ", ".join(d.key for d in within)
        reasons.append(f"config: the runs on one side differ among themselves ({shown})")

    ratios: dict[str, float | None] = {}
    for axis in BUDGET_AXES:
        b_mean = _mean([r.spent(axis) for r in baseline])
        t_mean = _mean([r.spent(axis) for r in treatment])
        ratios[axis] = t_mean / b_mean if b_mean and t_mean is not None else None
    budget_kinds = _distinct([f"{(r.budget or {}).get('kind')}" for r in (*baseline, *treatment)])
    if len(budget_kinds) > 1:
        reasons.append(
            f"budget: the runs were budgeted on different axes ({', '.join(budget_kinds)})"
        )
    off = [
        f"{axis} x{ratio:.3g}"
        for axis, ratio in ratios.items()
        if ratio is not None and abs(ratio - 1) > 0.01 and axis != "seconds"
    ]
    if off:
        reasons.append(f"budget: treatment/baseline spent {', '.join(off)} (more than 1% apart)")

    seeds = {
        "baseline": [r.init_seed for r in baseline],
        "treatment": [r.init_seed for r in treatment],
    }
    common = set(seeds["baseline"]) & set(seeds["treatment"]) - {None}
    if min(len(baseline), len(treatment)) < 2:
        reasons.append(
            f"seeds: {len(baseline)} baseline and {len(treatment)} treatment run(s): one run per"
            " side cannot tell an effect from seed-to-seed noise"
        )
    elif len(common) < 2:
        reasons.append("seeds: fewer than 2 seeds appear on both sides, so nothing can be paired")

    differences: list[str] = []
    first = baseline[0]
    for run in (*baseline[1:], *treatment):
        if (run.git_commit, run.diff_hash) != (first.git_commit, first.diff_hash):
            differences.append(
                f"code: run {run.run_id} ran {short(run.git_commit)} (diff {fmt(run.diff_hash)}),"
                f" run {first.run_id} {short(first.git_commit)} (diff {fmt(first.diff_hash)})"
            )
        env = [f"{name} {fmt(getattr(run, name))} vs {fmt(getattr(first, name))}"
               for name in _ENV if getattr(run, name) != getattr(first, name)]  # fmt: skip
        if env:
            differences.append(f"env: run {run.run_id} vs {first.run_id}: {', '.join(env)}")
        if run.data_hash != first.data_hash:
            differences.append(f"data: run {run.run_id} trained on other data than {first.run_id}")
        if run.eval_hash != first.eval_hash:
            differences.append(f"eval: run {run.run_id} was scored by another evaluation")
        if run.preset != first.preset:
            differences.append(
                f"config: run {run.run_id} used preset {run.preset}, not {first.preset}"
            )
    for run in (*baseline, *treatment):
        if run.status == "nan":
            differences.append(
                f"nan: run {run.run_id} diverged: evidence of instability, not a value to average"
            )
        elif not run.complete:
            differences.append(f"status: run {run.run_id} is {run.status}")
    reasons += differences
    b_values = [r.value(metric) for r in baseline]
    t_values = [r.value(metric) for r in treatment]
    b_mean, t_mean = _mean(b_values), _mean(t_values)
    attached = sorted({e for r in (*baseline, *treatment) for e in experiments.get(r.run_id, [])})
    where = (
        "see " + ", ".join(f"`missionctl exp verdict {e}`" for e in attached)
        if attached
        else "register one with `missionctl exp new` and run its plan"
    )
    reasons.append(
        f"prereg: a comparison of bare runs decides nothing; only a preregistered experiment"
        f" does ({where})"
    )
    return Comparison(
        metric=metric,
        baseline_runs=[r.run_id for r in baseline],
        treatment_runs=[r.run_id for r in treatment],
        baseline_values=b_values,
        treatment_values=t_values,
        mean_diff=t_mean - b_mean if t_mean is not None and b_mean is not None else None,
        config_differences=config_diffs,
        budget_ratio=ratios,
        seeds=seeds,
        differences=differences,
        experiments={r: list(e) for r, e in experiments.items()},
        reasons=reasons,
    )
