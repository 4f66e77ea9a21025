"""Verdicts from real cpu-tiny runs: a clean experiment against scipy, and every confound."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from scipy import stats

from missionctl.errors import UserError
from missionctl.ledger import Ledger, Verdict
from tests.helpers import git
from tests.integration.ledger.conftest import SEEDS, Lab, clean_spec

KEYWORD = re.compile(r"^[a-z][a-z ]*: ")


def _attach_clean(ledger: Ledger, exp: str = "softcap", **swap: str) -> None:
    """Attach base1-3 and nocap1-3; `swap` replaces a label (e.g. nocap2="nocap2-otherdata")."""
    for arm, label in (("baseline", "base"), ("nocap", "nocap")):
        ledger.attach(exp, arm, [swap.get(f"{label}{s}", f"{label}{s}") for s in SEEDS])


def _final(lab: Lab, run_id: str) -> float:
    value = lab.event(run_id, "end")["final_val_bpb"]
    assert isinstance(value, float)
    return value


def _scipy_seeds_needed(sd: float, distance: float, alpha: float) -> int:
    n = 2
    while stats.t.ppf(1 - alpha, n - 1) * sd / math.sqrt(n) >= distance:
        n += 1
    return n


def _confounded(verdict: Verdict, keyword: str) -> list[str]:
    assert verdict.decision == "confounded", verdict.reasons
    found = [r for r in verdict.reasons if r.startswith(f"{keyword}: ")]
    assert found, verdict.reasons
    return found


def test_a_clean_experiment_is_decided_with_the_statistics_scipy_gives(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        verdict = ledger.verdict("softcap")
    assert verdict.decision in ("non-inferior", "inferior", "inconclusive"), verdict.reasons
    assert verdict.runs_done == verdict.runs_declared == 6
    assert all(KEYWORD.match(r) for r in verdict.reasons)
    # Recomputed from the run files with scipy.stats, independently of the ledger.
    diffs = [_final(lab, f"nocap{s}") - _final(lab, f"base{s}") for s in SEEDS]
    arm = verdict.to_json()["arms"]["nocap"]
    mean, sem = sum(diffs) / 3, stats.sem(diffs)
    assert arm["n"] == 3 and arm["mean_diff"] == pytest.approx(mean, abs=1e-12)
    assert arm["p"] == pytest.approx(stats.ttest_1samp(diffs, 0.01, alternative="less").pvalue)
    assert arm["ci"] == pytest.approx(list(stats.t.interval(0.90, 2, loc=mean, scale=sem)))
    sd = stats.tstd(diffs)
    assert arm["seeds_needed"] == _scipy_seeds_needed(sd, abs(mean - 0.01), 0.05)
    assert arm["p_holm"] == arm["p"]  # one treatment: Holm changes nothing
    expected = (
        "non-inferior"
        if arm["p"] < 0.05
        else ("inferior" if arm["ci"][0] > 0.01 else "inconclusive")
    )
    assert verdict.decision == arm["decision"] == expected


def test_too_few_seeds_for_the_effect_is_inconclusive_with_the_seeds_it_needs(lab: Lab) -> None:
    diffs = [_final(lab, f"nocap{s}") - _final(lab, f"base{s}") for s in SEEDS]
    mean = sum(diffs) / 3
    low, high = (float(x) for x in stats.t.interval(0.90, 2, loc=mean, scale=stats.sem(diffs)))
    # A threshold inside the interval, halfway from the mean to its edge: too close to call.
    if mean >= 0:
        spec, theta = clean_spec(margin=(mean + high) / 2), (mean + high) / 2
    else:
        theta = (mean + low) / 2
        spec = clean_spec(test="superiority", margin=None, min_effect=-theta)
        del spec["margin"]
    with lab.ledger() as ledger:
        ledger.register(spec)
        _attach_clean(ledger)
        verdict = ledger.verdict("softcap")
    assert verdict.decision == "inconclusive"
    arm = verdict.arms["nocap"]
    assert arm.seeds_needed == _scipy_seeds_needed(stats.tstd(diffs), abs(mean - theta), 0.05)
    assert arm.seeds_needed is not None and arm.seeds_needed > 3
    (reason,) = verdict.reasons
    assert reason.startswith("seeds: inconclusive: 3 seeds are fewer than this effect needs")
    assert f"about {arm.seeds_needed} seeds would settle it" in reason


def test_missing_runs_leave_it_pending_and_say_which(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "baseline", ["base1", "base2"])
        ledger.attach("softcap", "nocap", ["nocap1"])
        verdict = ledger.verdict("softcap")
        plan = ledger.plan("softcap")
    assert verdict.decision == "pending" and verdict.arms == {}
    assert (verdict.runs_done, verdict.runs_declared) == (3, 6)
    assert verdict.reasons[0].startswith("seeds: 3 declared runs missing: arm baseline seed 3")
    assert [(m.arm, m.seed) for m in verdict.missing] == [
        ("baseline", 3),
        ("nocap", 2),
        ("nocap", 3),
    ]
    assert plan == [
        "python -m missionctl.train --preset cpu-tiny --budget flops=3e+10 --seed 3 --set"
        " logit_softcap=15 --exp softcap --arm baseline",
        *(f"python -m missionctl.train --preset cpu-tiny --budget flops=3e+10 --seed {s} --set"
          f" logit_softcap=0 --exp softcap --arm nocap" for s in (2, 3)),
    ]  # fmt: skip


def test_budget_spent_more_than_1pc_apart_is_a_confound_with_every_axis(lab: Lab) -> None:
    lab.copy_run("nocap2", "nocap2-short")
    end = lab.event("nocap2", "end")
    lab.edit("nocap2-short", "end", flops=end["flops"] * 0.95)
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger, nocap2="nocap2-short")
        (reason,) = _confounded(ledger.verdict("softcap"), "budget")
    assert reason.startswith("budget: seed 2: run nocap2-short spent")
    assert "-5.0%" in reason and all(
        f"{axis} " in reason for axis in ("steps", "tokens", "flops", "seconds")
    )


def test_a_run_with_another_budget_is_refused_and_nothing_is_attached(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        with pytest.raises(
            UserError, match=r"^budget: run base1-seconds has budget seconds=1.5, but"
        ):
            ledger.attach("softcap", "baseline", ["base2", "base1-seconds"])
        assert ledger.attachments("softcap") == []  # base2 was fine, and is not attached either


def test_config_outside_the_declared_knobs_is_refused_then_caught_if_edited_in(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        with pytest.raises(UserError) as refused:
            ledger.attach("softcap", "nocap", ["hot1"])
        assert str(refused.value).startswith(
            "config: run hot1 differs outside the declared knobs (logit_softcap): grad_clip=0 (the arm has 1), lr=1e+06 (the arm has 0.006)"
        )
        _attach_clean(ledger)
        assert ledger.verdict("softcap").decision != "confounded"
        config = lab.event("nocap3", "start")["config"]
        lab.edit("nocap3", "start", config={**config, "lr": 0.01})
        (reason,) = _confounded(ledger.verdict("softcap"), "config")
    assert reason == (
        "config: run nocap3 differs outside the declared knobs (logit_softcap): lr=0.01"
        " (the arm has 0.006)"
    )


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("diff_hash", "0123456789abcdef", "has uncommitted changes (diff 0123456789abcdef)"),
        ("git_commit", "f" * 40, "is at commit ffffffffff"),
    ],
)
def test_other_code_within_the_experiment_is_a_confound(
    lab: Lab, field: str, value: str, needle: str
) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        lab.edit("nocap1", "start", **{field: value})
        (reason,) = _confounded(ledger.verdict("softcap"), "code")
    assert reason.startswith(f"code: run nocap1 {needle}")


def test_an_arm_that_names_a_commit_refuses_runs_of_other_code(lab: Lab) -> None:
    (lab.root / "idea.py").write_text("FAST = True\n")
    git(lab.root, "add", "idea.py")
    git(lab.root, "commit", "-q", "-m", "idea")
    new = git(lab.root, "rev-parse", "HEAD").strip()
    spec = clean_spec()
    spec["arms"]["nocap"]["ref"] = "HEAD"
    with lab.ledger() as ledger:
        experiment = ledger.register(spec)
        assert experiment.spec.arms["nocap"].commit == new
        with pytest.raises(
            UserError,
            match=rf"^code: run nocap1 is at {lab.commit[:10]}, but arm nocap names commit {new[:10]} \(HEAD\)",
        ):
            ledger.attach("softcap", "nocap", ["nocap1"])


def test_a_baseline_from_another_environment_is_a_confound(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger, base1="base1-threads2")
        (reason,) = _confounded(ledger.verdict("softcap"), "env")
    assert re.search(r"threads (2 vs 1|1 vs 2)", reason), reason


def test_a_run_on_another_gpu_type_is_a_confound(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        lab.edit(
            "nocap2", "start", device="cuda", gpu_type="NVIDIA H100 80GB HBM3", slurm_node="gpu17"
        )
        (reason,) = _confounded(ledger.verdict("softcap"), "env")
    assert "device cuda vs cpu, GPU type NVIDIA H100 80GB HBM3 vs unset" in reason


def test_a_pair_on_other_data_or_another_data_seed_is_a_confound(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger, nocap2="nocap2-otherdata")
        lab.edit("nocap3", "start", data_seed=9)
        verdict = ledger.verdict("softcap")
    data = _confounded(verdict, "data")
    assert any(r.startswith("data: seed 2: run nocap2-otherdata trained on data") for r in data)
    assert any(r.startswith("data: seed 3: run nocap3 drew batches with data seed 9") for r in data)
    assert any(
        r.startswith("seeds: run nocap3 has data_seed 9 but seed 3") for r in verdict.reasons
    )


def test_two_complete_runs_of_one_seed_are_cherry_picking(lab: Lab) -> None:
    # A run whose end is not there yet (its node's lock is invisible here) does not block a
    # second run of its seed; when both complete, the ledger has two results for one seed.
    lab.copy_run("nocap1", "nocap1-again")
    metrics = lab.runs / "nocap1" / "metrics.jsonl"
    whole = metrics.read_text()
    metrics.write_text("".join(whole.splitlines(keepends=True)[:-1]))
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        assert ledger.verdict("softcap").decision == "pending"
        ledger.attach("softcap", "nocap", ["nocap1-again"])
        metrics.write_text(whole)
        verdict = ledger.verdict("softcap")
    (reason,) = _confounded(verdict, "seeds")
    assert reason.startswith("seeds: arm nocap seed 1 has 2 complete runs (nocap1, nocap1-again)")
    assert "nocap1" in verdict.used_runs and "nocap1-again" not in verdict.used_runs


def test_the_first_complete_run_of_a_seed_counts_not_a_later_one(lab: Lab) -> None:
    lab.copy_run("nocap1", "nocap1-crashed")
    lab.edit("nocap1-crashed", "end", status="crash", error="interrupted by SIGTERM")
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "nocap", ["nocap1-crashed"])
        assert [m.why for m in ledger.verdict("softcap").missing][3] == (
            "did not complete: nocap1-crashed (crash)"
        )
        _attach_clean(ledger)
        lab.copy_run("nocap2", "nocap2-again")
        with pytest.raises(
            UserError, match=r"^seeds: arm nocap seed 2 already has complete run nocap2;"
        ):
            ledger.attach("softcap", "nocap", ["nocap2-again"])
        verdict = ledger.verdict("softcap")
    assert verdict.decision != "confounded" and "nocap1-crashed" not in verdict.used_runs


def test_a_run_that_stopped_before_its_planned_steps_is_an_early_stop(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        lab.edit("nocap3", "end", steps=15)
        reasons = _confounded(ledger.verdict("softcap"), "early stop")
    assert reasons == ["early stop: run nocap3 stopped at step 15 of the 21 its budget planned"]


def test_a_changed_evaluation_is_a_confound(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        assert lab.event("nocap2", "start")["eval_hash"] == lab.event("base1", "start")["eval_hash"]
        lab.edit("nocap2", "start", eval_hash="feedfacefeedface")
        (reason,) = _confounded(ledger.verdict("softcap"), "eval")
    assert reason.startswith(
        "eval: run nocap2 was scored by another evaluation (eval hash feedfacefeedface)"
    )


def test_runs_that_overlapped_on_one_device_under_a_wall_clock_budget(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec(budget="seconds=1.5", seeds=[1, 2]))
        ledger.attach("softcap", "baseline", ["base1-seconds"])
        ledger.attach("softcap", "nocap", ["nocap1-seconds"])
        verdict = ledger.verdict("softcap")
    reason = _confounded(verdict, "shared device")[0]
    assert "base1-seconds" in reason and "nocap1-seconds" in reason and "(cpu)" in reason


def test_a_treatment_that_diverges_is_inferior_not_missing(lab: Lab) -> None:
    knobs = {"lr": 0.006, "logit_softcap": 15, "grad_clip": 1}
    spec = clean_spec(seeds=[1, 2], arms={
        "baseline": {"set": knobs},
        "hot": {"set": {"lr": 1e6, "logit_softcap": 0, "grad_clip": 0}},
    })  # fmt: skip
    with lab.ledger() as ledger:
        ledger.register(spec)
        ledger.attach("softcap", "baseline", ["base1", "base2"])
        ledger.attach("softcap", "hot", ["hot1", "hot2"])
        verdict = ledger.verdict("softcap")
    assert lab.event("hot1", "end")["status"] == "nan"
    assert verdict.decision == "inferior" and verdict.arms["hot"].diverged_seeds == [1, 2]
    assert verdict.reasons == [
        "inferior: hot diverged (nan) on seeds 1, 2 where the baseline did not; instability"
        " counts against it"
    ]


def test_several_treatments_are_adjusted_with_holm(lab: Lab) -> None:
    for s in SEEDS:
        lab.copy_run(f"base{s}", f"same{s}")
    spec = clean_spec(arms={
        "baseline": {"set": {"logit_softcap": 15}},
        "nocap": {"set": {"logit_softcap": 0}},
        "same": {"set": {"logit_softcap": 15}},
    })  # fmt: skip
    with lab.ledger() as ledger:
        ledger.register(spec)
        _attach_clean(ledger)
        ledger.attach("softcap", "same", [f"same{s}" for s in SEEDS])
        verdict = ledger.verdict("softcap")
    nocap, same = verdict.arms["nocap"], verdict.arms["same"]
    assert same.mean_diff == 0 and same.p == 0.0  # identical runs: no doubt at all
    # Holm: the smaller p (0) is multiplied by 2, the larger by 1, and kept monotone.
    assert nocap.p is not None and nocap.p_holm == pytest.approx(nocap.p)
    assert same.p_holm == 0.0 and same.decision == "non-inferior"
    assert verdict.decision == "non-inferior"


def test_a_verdict_is_recomputed_when_a_run_changes_and_only_then(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        first = ledger.verdict("softcap")
        computed = ledger.db.execute("SELECT computed FROM verdicts").fetchone()[0]
        assert ledger.verdict("softcap") == first
        assert ledger.db.execute("SELECT computed FROM verdicts").fetchone()[0] == computed
        lab.edit("base2", "end", steps=20)
        assert ledger.verdict("softcap").decision == "confounded"


def test_the_verdict_json_interface(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        data: dict[str, Any] = json.loads(json.dumps(ledger.verdict("softcap").to_json()))
    assert data["decision"] in ("pending", "confounded", "inconclusive", "superior",
                                "not-superior", "non-inferior", "inferior")  # fmt: skip
    assert isinstance(data["reasons"], list) and list(data["arms"]) == ["nocap"]
    arm = data["arms"]["nocap"]
    assert {"n", "mean_diff", "ci", "p", "seeds_needed"} <= set(arm)
    assert len(arm["ci"]) == 2 and arm["ci"][0] < arm["mean_diff"] < arm["ci"][1]


def test_exp_list_marks_the_decisions_that_survive_benjamini_hochberg(lab: Lab) -> None:
    for s in SEEDS:
        lab.copy_run(f"base{s}", f"same{s}")
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        ledger.register(clean_spec(id="a-a", arms={
            "baseline": {"set": {"logit_softcap": 15}}, "same": {"set": {"logit_softcap": 15}},
        }))  # fmt: skip
        ledger.attach("a-a", "baseline", [f"base{s}" for s in SEEDS])
        ledger.attach("a-a", "same", [f"same{s}" for s in SEEDS])
        ledger.register(clean_spec(id="empty"))
        summaries = {s.id: s for s in ledger.summaries()}
    decided = [i for i in ("softcap", "a-a") if summaries[i].decision != "inconclusive"]
    ps = [summaries[i].p for i in decided]
    expected = stats.false_discovery_control(ps, method="bh")
    for i, q in zip(decided, expected, strict=True):
        assert summaries[i].p_bh == pytest.approx(q)
        positive = summaries[i].decision in ("non-inferior", "superior")
        assert summaries[i].survives_fdr == ((q < 0.05) if positive else None)
    assert summaries["a-a"].decision == "non-inferior" and summaries["a-a"].survives_fdr is True
    assert (summaries["empty"].decision, summaries["empty"].p_bh) == ("pending", None)
    assert (summaries["empty"].runs_done, summaries["empty"].runs_declared) == (0, 6)
