"""The confounds, caught from run metadata: each rule returns sentences, empty when clean.

Every sentence starts with a keyword that names the kind of confound:

- `budget:` the run's declared budget differs from the experiment's, or two
  paired runs spent more than 1% apart on the declared axis;
- `config:` a knob outside the declared set differs, a declared knob has the
  wrong value for the arm, another preset or another kind of run;
- `code:` another commit, or uncommitted changes that differ (or any, where
  the arm names a commit);
- `env:` the baseline ran on another device, GPU type, dtype, torch version or
  thread count;
- `data:` a pair trained on different data, or with different data seeds;
- `eval:` the evaluation code or validation bytes changed (the eval hash);
- `seeds:` a seed the experiment did not declare, or a second complete run of
  the same arm and seed (cherry-picking);
- `early stop:` a run that ended before its planned steps;
- `shared device:` a wall-clock budget with runs that overlapped on one device;
- `metric:` a run that ended without reporting the experiment's metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from missionctl.ledger.facts import RunFacts
from missionctl.ledger.spec import BASELINE, EMPTY_DIFF_HASH, ExperimentSpec, normalise

BUDGET_TOLERANCE = 0.01  # runs more than 1% apart on the budget's axis did not match
_ENV_FACTS = (
    ("device", "device"),
    ("gpu_type", "GPU type"),
    ("dtype", "dtype"),
    ("torch_version", "torch"),
    ("threads", "threads"),
    ("compiled", "torch.compile"),
)


def fmt(value: Any) -> str:
    """A value as a reason shows it: 4 significant digits for numbers, `unset` for None."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_name(run: RunFacts) -> str:
    """How a reason names a run: by its id, or "this run" before it exists."""
    return "this run" if run.status == "planned" else f"run {run.run_id}"


def short(commit: str | None) -> str:
    return commit[:10] if commit else "no commit"


def _same_budget(run: Mapping[str, Any] | None, spec: ExperimentSpec) -> bool:
    if not run:
        return False
    declared = spec.parsed_budget
    amount = run.get("amount")
    if run.get("kind") != declared.kind or not isinstance(amount, int | float):
        return False
    return bool(abs(float(amount) - declared.amount) <= 1e-9 * declared.amount)


def _budget_text(budget: Mapping[str, Any] | None) -> str:
    if not budget or "kind" not in budget:
        return "no budget"
    return f"{budget['kind']}={budget.get('amount', 0):g}"


def against_arm(
    spec: ExperimentSpec,
    arm: str,
    seed: int,
    run: RunFacts,
    expected: Mapping[str, Any] | None = None,
) -> list[str]:
    """What makes `run` unfit for `arm` with `seed`, from its own metadata alone.

    `expected` is the arm's config for `seed` when the caller has it already.
    """
    who = run_name(run)
    reasons: list[str] = []
    if run.runner != spec.runner:
        kind = "the trainer" if spec.runner == "train" else "`missionctl run`"
        reasons.append(f"config: {who} is not a run of {kind}, as experiment {spec.id} declares")
        return reasons
    if spec.preset is not None and run.preset != spec.preset:
        reasons.append(
            f"config: {who} has preset {run.preset}, but experiment {spec.id} declares"
            f" {spec.preset}"
        )
    if spec.runner == "train" and not _same_budget(run.budget, spec):
        reasons.append(
            f"budget: {who} has budget {_budget_text(run.budget)}, but experiment {spec.id}"
            f" declares {spec.budget}"
        )
    # The trainer enforces its budget; a command only reports what it spent.
    budget = spec.parsed_budget
    spent = run.spent(budget.kind)
    off = spent is not None and abs(spent - budget.amount) > BUDGET_TOLERANCE * budget.amount
    if spec.runner == "command" and off:
        reasons.append(
            f"budget: {who} spent {fmt(spent)} {budget.kind}, but experiment {spec.id}"
            f" declares {spec.budget} (more than 1% apart)"
        )
    if run.init_seed not in spec.seeds:
        declared = ", ".join(str(s) for s in spec.seeds)
        reasons.append(
            f"seeds: {who} has seed {fmt(run.init_seed)}, which is not one of experiment"
            f" {spec.id}'s seeds ({declared})"
        )
    elif run.init_seed != seed:
        reasons.append(f"seeds: {who} has seed {run.init_seed}, but is attached as seed {seed}")
    if run.data_seed is not None and run.data_seed != run.init_seed:
        reasons.append(
            f"seeds: {who} has data_seed {run.data_seed} but seed {fmt(run.init_seed)};"
            " an experiment's runs use one seed for both"
        )
    if expected is None:
        expected = spec.expected_config(arm, seed)
    reasons += _config(spec, arm, expected, run)
    reasons += _code_of_arm(spec, arm, run)
    return reasons


def _config(
    spec: ExperimentSpec, arm: str, expected: Mapping[str, Any], run: RunFacts
) -> list[str]:
    if run.config == expected:
        return []  # the common case, without comparing key by key (15 == 15.0 here too)
    knobs = spec.declared_knobs
    reasons = []
    outside = []
    for key in sorted(set(expected) | set(run.config)):
        have, want = run.config.get(key), expected.get(key)
        if normalise(have) == normalise(want):
            continue
        if key in knobs:
            reasons.append(
                f"config: {run_name(run)} has {key}={fmt(have)}, but arm {arm} sets"
                f" {key}={fmt(want)}"
            )
        else:
            outside.append(f"{key}={fmt(have)} (the arm has {fmt(want)})")
    if outside:
        declared = ", ".join(knobs) or "none"
        reasons.append(
            f"config: {run_name(run)} differs outside the declared knobs ({declared}): "
            + ", ".join(outside)
        )
    return reasons


def _code_of_arm(spec: ExperimentSpec, arm: str, run: RunFacts) -> list[str]:
    commit = spec.arms[arm].commit
    if commit is None:
        return []
    reasons = []
    if run.git_commit != commit:
        reasons.append(
            f"code: {run_name(run)} is at {short(run.git_commit)}, but arm {arm} names commit"
            f" {short(commit)} ({spec.arms[arm].ref})"
        )
    if run.diff_hash not in (None, EMPTY_DIFF_HASH):
        reasons.append(
            f"code: {run_name(run)} has uncommitted changes (diff {run.diff_hash}), but arm"
            f" {arm} names commit {short(commit)}; commit them in a new experiment, or stash them"
        )
    return reasons


def code_against(reference: RunFacts, run: RunFacts) -> list[str]:
    """Another commit or another uncommitted diff than the reference run's."""
    if run.git_commit != reference.git_commit:
        return [
            f"code: {run_name(run)} is at commit {short(run.git_commit)}, but run"
            f" {reference.run_id} ran {short(reference.git_commit)}; every arm without a ref"
            " must run the same code"
        ]
    if run.diff_hash != reference.diff_hash:
        dirty = run.diff_hash not in (None, EMPTY_DIFF_HASH)
        return [
            f"code: {run_name(run)} has {'uncommitted changes' if dirty else 'a clean tree'}"
            f" (diff {run.diff_hash}), but run {reference.run_id} ran with diff"
            f" {reference.diff_hash}; the same commit with other changes is other code"
        ]
    return []


def env_against(reference: RunFacts, run: RunFacts) -> list[str]:
    """Facts of the environment that differ from the reference (baseline) run's."""
    differs = [
        f"{label} {fmt(getattr(run, name))} vs {fmt(getattr(reference, name))}"
        for name, label in _ENV_FACTS
        if getattr(run, name) != getattr(reference, name)
    ]
    if (
        run.device == "cpu"
        and reference.device == "cpu"
        and run.device_name != reference.device_name
    ):
        differs.append(f"CPU {run.device_name} vs {reference.device_name}")
    if not differs:
        return []
    return [
        f"env: {run_name(run)} ran in another environment than baseline run"
        f" {reference.run_id}: " + ", ".join(differs)
    ]


def eval_against(reference: RunFacts, run: RunFacts) -> list[str]:
    if run.eval_hash == reference.eval_hash:
        return []
    return [
        f"eval: {run_name(run)} was scored by another evaluation (eval hash"
        f" {fmt(run.eval_hash)}) than run {reference.run_id} ({fmt(reference.eval_hash)})"
    ]


def pair(spec: ExperimentSpec, seed: int, base: RunFacts, treat: RunFacts) -> list[str]:
    """Data and budget of the two runs of one seed, which must match."""
    reasons = []
    if treat.data_hash != base.data_hash:
        reasons.append(
            f"data: seed {seed}: run {treat.run_id} trained on data {fmt(treat.data_hash)},"
            f" baseline run {base.run_id} on {fmt(base.data_hash)}"
        )
    if treat.data_seed != base.data_seed:
        reasons.append(
            f"data: seed {seed}: run {treat.run_id} drew batches with data seed"
            f" {fmt(treat.data_seed)}, baseline run {base.run_id} with {fmt(base.data_seed)}"
        )
    if "nan" not in (base.status, treat.status):
        # A run that diverged stopped early by definition: its outcome is the divergence.
        reasons += budget_spent(spec.parsed_budget.kind, base, treat, f"seed {seed}: ")
    return reasons


def budget_spent(axis: str, base: RunFacts, treat: RunFacts, prefix: str = "") -> list[str]:
    """Runs more than 1% apart on the budget's axis, with every axis shown."""
    a, b = base.spent(axis), treat.spent(axis)
    missing = [r.run_id for r, v in ((base, a), (treat, b)) if v is None]
    if missing:
        return [
            f"budget: {prefix}run {' and '.join(missing)} did not report its {axis}; a command"
            f' writes it to $MISSIONCTL_METRICS (e.g. {{"{axis}": ...}})'
        ]
    assert a is not None and b is not None
    if abs(a - b) <= BUDGET_TOLERANCE * max(abs(a), abs(b)):
        return []
    axes = []
    for name in ("steps", "tokens", "flops", "seconds"):
        x, y = treat.spent(name), base.spent(name)
        axes.append(f"{name} {fmt(x)}/{fmt(y)}")
    gap = (b - a) / a if a else float("inf")
    return [
        f"budget: {prefix}run {treat.run_id} spent {fmt(b)} {axis}, baseline run {base.run_id}"
        f" {fmt(a)} ({gap:+.1%}, more than 1% apart; {', '.join(axes)})"
    ]


def early_stop(run: RunFacts) -> list[str]:
    if run.status != "ok" or run.total_steps is None or run.steps is None:
        return []
    if run.steps == run.total_steps:
        return []
    return [
        f"early stop: {run_name(run)} stopped at step {run.steps} of the"
        f" {run.total_steps} its budget planned"
    ]


def metric_reported(metric: str, run: RunFacts) -> list[str]:
    if run.status == "ok" and run.value(metric) is None:
        return [f"metric: {run_name(run)} ended ok but reported no {metric}"]
    return []


def overlaps(spec: ExperimentSpec, runs: Sequence[RunFacts]) -> list[str]:
    """For a wall-clock budget: runs that trained at the same time on the same device."""
    if spec.parsed_budget.kind != "seconds":
        return []
    reasons = []
    timed = sorted((r for r in runs if r.started and r.ended), key=lambda r: r.started or 0)
    for i, a in enumerate(timed):
        for b in timed[i + 1 :]:
            assert a.ended is not None and b.started is not None
            if b.started >= a.ended:
                break
            same_device = (
                a.node == b.node
                and a.device == b.device
                and (a.device != "cuda" or a.cuda_visible_devices == b.cuda_visible_devices)
            )
            if same_device:
                reasons.append(
                    f"shared device: runs {a.run_id} and {b.run_id} trained at the same time on"
                    f" {a.node} ({a.device}), and the budget is wall-clock seconds: each slowed"
                    " the other"
                )
    return reasons


def duplicates(arm: str, seed: int, complete: Sequence[RunFacts]) -> list[str]:
    if len(complete) < 2:
        return []
    ids = ", ".join(r.run_id for r in complete)
    return [
        f"seeds: arm {arm} seed {seed} has {len(complete)} complete runs ({ids}); the first"
        " counts, and a second run of a seed is how cherry-picking starts"
    ]


def reference_runs(
    spec: ExperimentSpec, selected: Mapping[tuple[str, int], RunFacts]
) -> tuple[RunFacts | None, RunFacts | None]:
    """(the run others' code is compared with, the baseline run others' environment is).

    Code: the first run of an arm without a ref (the baseline's when it has none).
    Environment, data and evaluation: the first baseline run.
    """
    ordered = sorted(selected.items(), key=lambda kv: (kv[1].started or 0.0, kv[1].run_id))
    code_ref = next((r for (arm, _), r in ordered if spec.arms[arm].commit is None), None)
    base_ref = next((r for (arm, _), r in ordered if arm == BASELINE), None)
    return code_ref, base_ref
