"""Verdicts: computed from the attached runs, never typed.

Pairing is by seed, and each (arm, seed) counts its first complete run (by
start time), never the best. A diverged run (`nan`) is an outcome: a treatment
that diverged where its baseline did not counts against the treatment.

Decisions, in order of precedence:

- `confounded`: some rule in `missionctl.ledger.rules` caught a confound (each
  reason says which); more runs cannot fix it, a new experiment can;
- `pending`: declared runs are missing (the reasons say which);
- per treatment: the declared one-sided test at α after Holm across treatments
  gives `superior` / `non-inferior`; the interval lying wholly on the wrong
  side of the threshold gives `not-superior` / `inferior`; otherwise
  `inconclusive`, with the seeds that would settle it. The experiment's
  decision is positive if any treatment's is, else inconclusive if any is,
  else negative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from missionctl.ledger import rules
from missionctl.ledger.facts import RunFacts
from missionctl.ledger.spec import BASELINE, ExperimentSpec

DECISIONS = (
    "pending",
    "confounded",
    "inconclusive",
    "superior",
    "not-superior",
    "non-inferior",
    "inferior",
)
POSITIVE = ("superior", "non-inferior")
NEGATIVE = ("not-superior", "inferior")
DECIDED = POSITIVE + NEGATIVE


class ArmVerdict(msgspec.Struct, kw_only=True, frozen=True):
    """One treatment against the baseline."""

    arm: str
    decision: str
    n: int  # pairs used
    mean_diff: float | None  # treatment - baseline
    sd_diff: float | None
    ci: list[float] | None  # [low, high], the two-sided 1 - 2α interval
    ci_level: float
    p: float | None  # the declared one-sided test
    p_holm: float | None
    seeds_needed: int | None
    threshold: float
    diverged_seeds: list[int] = []


class PairRow(msgspec.Struct, kw_only=True, frozen=True):
    """One seed of one treatment, beside its baseline."""

    seed: int
    arm: str
    baseline_run: str | None
    baseline_value: float | None
    baseline_status: str
    run: str | None
    value: float | None
    status: str
    diff: float | None


class MissingRun(msgspec.Struct, kw_only=True, frozen=True):
    arm: str
    seed: int
    why: str  # "not run" | "running" | the status of the runs that did not complete


class Verdict(msgspec.Struct, kw_only=True, frozen=True):
    """An experiment's decision and everything it rests on."""

    experiment: str
    decision: str
    reasons: list[str]
    arms: dict[str, ArmVerdict]
    metric: str
    goal: str
    test: str
    threshold: float
    alpha: float
    runs_done: int
    runs_declared: int
    pairs: list[PairRow] = []
    missing: list[MissingRun] = []
    used_runs: list[str] = []

    @property
    def p_value(self) -> float | None:
        """The experiment's p-value: its strongest treatment's, after Holm."""
        ps = [a.p_holm for a in self.arms.values() if a.p_holm is not None]
        return min(ps) if ps else None

    def to_json(self) -> dict[str, Any]:
        """The verdict as the `--json` interface prints it."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


def encode(verdict: Verdict) -> bytes:
    return msgspec.json.encode(verdict)


def decode(data: bytes) -> Verdict:
    return msgspec.json.decode(data, type=Verdict)


@dataclass(frozen=True)
class Attached:
    """A run attached to an arm, with what its directory says."""

    arm: str
    seed: int
    run_id: str
    attached: float
    facts: RunFacts

    @property
    def order(self) -> tuple[float, float, str]:
        """When the run started: the first complete run of a seed is the one that counts."""
        when = self.facts.started or self.facts.created or self.attached
        return (when, self.attached, self.run_id)


def decide(spec: ExperimentSpec, attached: Sequence[Attached]) -> Verdict:
    """The verdict of `spec` given the runs attached to it."""
    reasons: list[str] = []
    by_cell: dict[tuple[str, int], list[Attached]] = {}
    for a in attached:
        if a.arm not in spec.arms:
            reasons.append(
                f"config: run {a.run_id} is attached to arm {a.arm}, which is not declared"
            )
        elif a.seed not in spec.seeds:
            reasons.append(
                f"seeds: run {a.run_id} is attached as seed {a.seed}, which experiment {spec.id}"
                " did not declare"
            )
        else:
            by_cell.setdefault((a.arm, a.seed), []).append(a)

    selected: dict[tuple[str, int], RunFacts] = {}
    missing: list[MissingRun] = []
    for arm in spec.arms:
        for seed in spec.seeds:
            cell = sorted(by_cell.get((arm, seed), []), key=lambda a: a.order)
            complete = [a.facts for a in cell if a.facts.complete]
            reasons += rules.duplicates(arm, seed, complete)
            if complete:
                selected[(arm, seed)] = complete[0]
            elif any(a.facts.live for a in cell):
                missing.append(MissingRun(arm=arm, seed=seed, why="running"))
            elif cell:
                ended = ", ".join(f"{a.run_id} ({a.facts.status})" for a in cell)
                missing.append(MissingRun(arm=arm, seed=seed, why=f"did not complete: {ended}"))
            else:
                missing.append(MissingRun(arm=arm, seed=seed, why="not run"))

    configs: dict[tuple[str, int], dict[str, Any]] = {}
    for (arm, seed), run in selected.items():
        # A trainer arm's config is the same for every seed: build it once per arm.
        key = (arm, seed if spec.runner == "command" else 0)
        if key not in configs:
            configs[key] = spec.expected_config(arm, seed)
        reasons += rules.against_arm(spec, arm, seed, run, configs[key])
        reasons += rules.early_stop(run)
        reasons += rules.metric_reported(spec.metric, run)
    code_ref, base_ref = rules.reference_runs(spec, selected)
    for (arm, _), run in sorted(selected.items()):
        if code_ref is not None and spec.arms[arm].commit is None and run is not code_ref:
            reasons += rules.code_against(code_ref, run)
        if base_ref is not None and run is not base_ref:
            reasons += rules.env_against(base_ref, run)
            reasons += rules.eval_against(base_ref, run)
    for treatment in spec.treatments:
        for seed in spec.seeds:
            base, treat = selected.get((BASELINE, seed)), selected.get((treatment, seed))
            if base is not None and treat is not None:
                reasons += rules.pair(spec, seed, base, treat)
    reasons += rules.overlaps(spec, list(selected.values()))
    reasons = list(dict.fromkeys(reasons))  # one rule can meet the same fact twice

    pairs = _pairs(spec, selected)
    empty = Verdict(
        experiment=spec.id,
        decision="pending",
        reasons=[],
        arms={},
        metric=spec.metric,
        goal=spec.goal,
        test=spec.test,
        threshold=spec.threshold,
        alpha=spec.alpha,
        runs_done=len(selected),
        runs_declared=len(spec.arms) * len(spec.seeds),
        pairs=pairs,
        missing=missing,
        used_runs=[r.run_id for _, r in sorted(selected.items())],
    )
    if reasons:
        return msgspec.structs.replace(empty, decision="confounded", reasons=reasons)
    if missing:
        return msgspec.structs.replace(empty, reasons=_missing_reasons(spec, missing))
    arms, arm_reasons = _test_arms(spec, pairs)
    decisions = [a.decision for a in arms.values()]
    positive, negative = _labels(spec)
    if positive in decisions:
        decision = positive
    elif "inconclusive" in decisions:
        decision = "inconclusive"
    else:
        decision = negative
    return msgspec.structs.replace(empty, decision=decision, reasons=arm_reasons, arms=arms)


def _labels(spec: ExperimentSpec) -> tuple[str, str]:
    if spec.test == "superiority":
        return "superior", "not-superior"
    return "non-inferior", "inferior"


def _pairs(spec: ExperimentSpec, selected: Mapping[tuple[str, int], RunFacts]) -> list[PairRow]:
    rows = []
    for treatment in spec.treatments:
        for seed in spec.seeds:
            base, treat = selected.get((BASELINE, seed)), selected.get((treatment, seed))
            bv = base.value(spec.metric) if base else None
            tv = treat.value(spec.metric) if treat else None
            rows.append(
                PairRow(
                    seed=seed,
                    arm=treatment,
                    baseline_run=base.run_id if base else None,
                    baseline_value=bv,
                    baseline_status=base.status if base else "missing",
                    run=treat.run_id if treat else None,
                    value=tv,
                    status=treat.status if treat else "missing",
                    diff=None if bv is None or tv is None else tv - bv,
                )
            )
    return rows


def _missing_reasons(spec: ExperimentSpec, missing: Sequence[MissingRun]) -> list[str]:
    reasons = []
    not_run = [m for m in missing if m.why != "running"]
    running = [m for m in missing if m.why == "running"]
    if not_run:
        cells = "; ".join(f"arm {m.arm} seed {m.seed} ({m.why})" for m in not_run)
        reasons.append(
            f"seeds: {len(not_run)} declared run{'s' if len(not_run) != 1 else ''} missing:"
            f" {cells}; `missionctl exp plan {spec.id}` prints the commands"
        )
    if running:
        cells = ", ".join(f"arm {m.arm} seed {m.seed}" for m in running)
        reasons.append(f"running: {cells}")
    return reasons


def _test_arms(
    spec: ExperimentSpec, pairs: Sequence[PairRow]
) -> tuple[dict[str, ArmVerdict], list[str]]:
    from missionctl.ledger import stats

    lower = spec.goal == "lower"
    theta = spec.threshold
    family = len(spec.treatments)
    positive, negative = _labels(spec)
    reasons: list[str] = []
    tests: dict[str, stats.PairedTest | None] = {}
    diverged: dict[str, list[int]] = {}
    for arm in spec.treatments:
        rows = [r for r in pairs if r.arm == arm]
        diverged[arm] = [r.seed for r in rows if r.status == "nan" and r.baseline_status != "nan"]
        for r in rows:
            if r.baseline_status == "nan":
                both = " and so did the treatment" if r.status == "nan" else ""
                reasons.append(
                    f"nan: the baseline diverged on seed {r.seed} (run {r.baseline_run}){both};"
                    " that pair is left out of the test"
                )
        diffs = [r.diff for r in rows if r.diff is not None]
        tests[arm] = (
            stats.paired_test(diffs, theta, lower, spec.alpha, family) if len(diffs) >= 2 else None
        )
    raw = {arm: t.p for arm, t in tests.items() if t is not None}
    adjusted = dict(zip(raw, stats.holm(list(raw.values())), strict=True))
    arms: dict[str, ArmVerdict] = {}
    level = 1 - 2 * spec.alpha
    bound = "margin" if spec.test == "noninferiority" else "minimum effect"
    for arm, test in tests.items():
        p_holm = adjusted.get(arm)
        if diverged[arm]:
            decision = negative
            seeds = ", ".join(str(s) for s in diverged[arm])
            reasons.append(
                f"{decision}: {arm} diverged (nan) on seed{'s' if len(diverged[arm]) > 1 else ''}"
                f" {seeds} where the baseline did not; instability counts against it"
            )
        elif test is None:
            decision = "inconclusive"
            reasons.append(
                f"seeds: {arm} has fewer than 2 usable pairs, too few to measure the noise"
            )
        else:
            assert p_holm is not None
            if p_holm < spec.alpha:
                decision = positive
            elif 1 - test.p < spec.alpha:
                decision = negative
            else:
                decision = "inconclusive"
            reasons.append(_explain(spec, arm, decision, test, p_holm, level, bound))
        arms[arm] = ArmVerdict(
            arm=arm,
            decision=decision,
            n=test.n if test else 0,
            mean_diff=test.mean if test else None,
            sd_diff=test.sd if test else None,
            ci=list(test.ci) if test else None,
            ci_level=level,
            p=test.p if test else None,
            p_holm=p_holm,
            seeds_needed=test.seeds_needed if test else None,
            threshold=theta,
            diverged_seeds=diverged[arm],
        )
    return arms, reasons


def _explain(
    spec: ExperimentSpec,
    arm: str,
    decision: str,
    test: Any,
    p_holm: float,
    level: float,
    bound: str,
) -> str:
    low, high = test.ci
    theta = spec.threshold
    where = (
        "straddles" if low <= theta <= high else ("lies below" if high < theta else "lies above")
    )
    holm = f", Holm {p_holm:.3g}" if len(spec.treatments) > 1 else ""
    text = (
        f"{arm} - baseline = {test.mean:+.4g} {spec.metric} over {test.n} seeds; its"
        f" {level:.0%} interval [{low:+.4g}, {high:+.4g}] {where} the {bound} {theta:+g}"
        f" (p = {test.p:.3g}{holm})"
    )
    if decision != "inconclusive":
        return f"{decision}: {text}"
    if test.seeds_needed is None:
        return f"seeds: inconclusive: {text}; at this mean and spread no number of seeds settles it"
    if test.seeds_needed > test.n:
        # The case agents get wrong most: a difference the seeds cannot resolve.
        return (
            f"seeds: inconclusive: {test.n} seeds are fewer than this effect needs: {text};"
            f" about {test.seeds_needed} seeds would settle it at this mean and spread"
        )
    return f"inconclusive: {text}"
