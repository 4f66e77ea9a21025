"""Every decision the verdict can reach, from run facts made up for each case.

The confounds are tested from real runs (tests/integration/ledger); here the
facts are clean and only the numbers change.
"""

from __future__ import annotations

from typing import Any

import pytest

from missionctl.ledger import spec
from missionctl.ledger.facts import RunFacts
from missionctl.ledger.verdict import Attached, decide

SEEDS = [1, 2, 3, 4]


NI = {"test": "noninferiority", "margin": 0.01}
SUP = {"test": "superiority", "min_effect": 0.01}


def _spec(**changes: Any) -> spec.ExperimentSpec:
    raw: dict[str, Any] = {
        "id": "x", "question": "q", "seeds": SEEDS, "command": "python t.py", "budget": "steps=100",
        "arms": {"baseline": {"set": {"lr": 1}}, "a": {"set": {"lr": 2}}}, **NI,
    }  # fmt: skip
    raw.update(changes)
    return spec.parse({k: v for k, v in raw.items() if v is not None})


def _run(exp: spec.ExperimentSpec, arm: str, seed: int, value: float | None, **kw: Any) -> Attached:
    facts = RunFacts(
        run_id=f"{arm}{seed}", status=kw.pop("status", "ok"), runner="command",
        config=exp.expected_config(arm, seed), init_seed=seed, data_seed=seed, steps=100,
        metrics={"val_bpb": value}, git_commit="c" * 40, diff_hash=spec.EMPTY_DIFF_HASH,
        started=1000.0 + seed, device="cpu", threads=2, **kw,
    )  # fmt: skip
    return Attached(arm, seed, facts.run_id, 1000.0 + seed, facts)


def _verdict(exp: spec.ExperimentSpec, values: dict[str, list[float | None]], **kw: Any) -> Any:
    runs = [
        _run(exp, arm, s, v, **kw)
        for arm, vs in values.items()
        for s, v in zip(SEEDS, vs, strict=True)
    ]
    return decide(exp, runs)


BASE = [2.000, 2.010, 1.990, 2.005]
SMALL = [0, 1e-3, -1e-3, 5e-4]  # seed-to-seed wobble of the paired differences


def _shifted(by: float, wobble: float = 1.0) -> list[float]:
    return [b + by + wobble * e for b, e in zip(BASE, SMALL, strict=True)]


@pytest.mark.parametrize(
    ("test", "goal", "treatment", "decision"),
    [
        (NI, "lower", _shifted(0.001), "non-inferior"),
        (NI, "lower", _shifted(0.05), "inferior"),
        (NI, "lower", _shifted(0.01, wobble=10), "inconclusive"),
        (SUP, "lower", _shifted(-0.05), "superior"),
        (SUP, "lower", _shifted(0.0), "not-superior"),
        (SUP, "lower", _shifted(-0.01, wobble=10), "inconclusive"),
        (NI, "higher", _shifted(-0.001), "non-inferior"),
        (NI, "higher", _shifted(-0.05), "inferior"),
        (SUP, "higher", _shifted(0.05), "superior"),
    ],
)
def test_each_decision(
    test: dict[str, Any], goal: str, treatment: list[float], decision: str
) -> None:
    exp = _spec(goal=goal, **{"margin": None, "min_effect": None, **test})
    verdict = _verdict(exp, {"baseline": list(BASE), "a": treatment})
    assert verdict.decision == verdict.arms["a"].decision == decision, verdict.reasons
    (reason,) = verdict.reasons
    assert reason.startswith(
        f"{decision}: " if decision != "inconclusive" else "seeds: inconclusive"
    )


def test_any_positive_treatment_decides_the_experiment_and_holm_adjusts() -> None:
    exp = _spec(
        arms={"baseline": {"set": {"lr": 1}}, "a": {"set": {"lr": 2}}, "b": {"set": {"lr": 3}}}
    )
    wobble = [0, 1e-3, -1e-3, 5e-4]
    verdict = _verdict(exp, {
        "baseline": list(BASE),
        "a": [b + 0.001 + e for b, e in zip(BASE, wobble, strict=True)],
        "b": [b + 0.01 + 10 * e for b, e in zip(BASE, wobble, strict=True)],
    })  # fmt: skip
    a, b = verdict.arms["a"], verdict.arms["b"]
    assert (a.decision, b.decision, verdict.decision) == (
        "non-inferior",
        "inconclusive",
        "non-inferior",
    )
    assert a.p is not None and b.p is not None and a.p < b.p
    assert a.p_holm == pytest.approx(2 * a.p) and b.p_holm == pytest.approx(max(2 * a.p, b.p))


def test_a_diverged_baseline_pair_is_left_out_and_said_so() -> None:
    exp = _spec()
    runs = [_run(exp, "baseline", s, v) for s, v in zip(SEEDS, BASE, strict=True)]
    runs[0] = _run(exp, "baseline", 1, None, status="nan")
    runs += [_run(exp, "a", s, v + 0.001 + 1e-4 * s) for s, v in zip(SEEDS, BASE, strict=True)]
    verdict = decide(exp, runs)
    assert verdict.arms["a"].n == 3
    assert verdict.reasons[0].startswith("nan: the baseline diverged on seed 1 (run baseline1)")


def test_a_run_that_reports_no_metric_is_a_confound_not_a_gap() -> None:
    exp = _spec()
    verdict = _verdict(exp, {"baseline": list(BASE), "a": [2.0, 2.0, 2.0, None]})
    assert verdict.decision == "confounded"
    assert verdict.reasons == ["metric: run a4 ended ok but reported no val_bpb"]
