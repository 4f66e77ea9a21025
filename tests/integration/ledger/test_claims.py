"""Claims answered by the ledger, from real runs: verdicts, the classic mistake, bare runs."""

from __future__ import annotations

import re
import shlex
import sqlite3
from pathlib import Path

from missionctl.ledger import Ledger
from missionctl.ledger.claims import ClaimRequest
from missionctl.workspace_cli import init
from tests.helpers import git, run_cli
from tests.integration.ledger.conftest import SEEDS, Lab, clean_spec


def _claim(ledger: Ledger, n: int, *, experiment: str | None = None, runs: tuple[str, ...] = (),
           text: str = "bigger is better") -> ClaimRequest:  # fmt: skip
    return ClaimRequest(
        id=f"01kclaim0000000000000000{n:02d}", claimant="r3", sent=1.0e9 + n, text=text,
        experiment=experiment, runs=list(runs),
    )  # fmt: skip


def _attach_clean(ledger: Ledger) -> None:
    ledger.attach("softcap", "baseline", [f"base{s}" for s in SEEDS])
    ledger.attach("softcap", "nocap", [f"nocap{s}" for s in SEEDS])


def _claim_rows(lab: Lab) -> list[tuple[str, str, int]]:
    db = sqlite3.connect(lab.root / ".missionctl" / "ledger.sqlite")
    try:
        return db.execute("SELECT id, decision, accepted FROM claims ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_claim_citing_its_experiment_gets_the_verdict_once(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        verdict = ledger.verdict("softcap")
        answer = ledger.answer_claim(_claim(ledger, 1, experiment="softcap", runs=("base1",)))
        again = ledger.answer_claim(_claim(ledger, 1, experiment="softcap"), now=5.0)
    assert answer.decision == verdict.decision and answer.verdict == verdict
    assert answer.accepted == (verdict.decision in ("non-inferior", "inferior"))
    assert again == answer  # answered once; a second look gets the recorded answer
    assert _claim_rows(lab) == [(answer.claim.id, verdict.decision, int(answer.accepted))]
    body = answer.body()
    assert "softcap" in body and verdict.decision in body


def test_the_classic_mistake_is_refused_as_confounded(lab: Lab) -> None:
    """A bigger model on twice the budget, one seed, set beside the experiment's baseline."""
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        _attach_clean(ledger)
        answer = ledger.answer_claim(
            _claim(ledger, 2, experiment="softcap", runs=("big1", "base1"))
        )
    assert answer.decision == "confounded" and not answer.accepted
    reasons = "\n".join(answer.reasons)
    assert "prereg: run big1 is not part of experiment softcap" in reasons
    assert "budget: run big1 has budget flops=6e+10, but experiment softcap declares" in reasons
    assert "outside the declared knobs (logit_softcap): width=192 (the arm has 0)" in reasons
    assert "seeds: the claim rests on 1 run of seed 1 outside the experiment" in reasons
    # The budget ratio on every axis, against the experiment's baseline runs.
    ratio = next(r for r in answer.reasons if r.startswith("budget: treatment/baseline spent"))
    assert "steps x" in ratio and "tokens x" in ratio
    assert 1.8 < float(re.search(r"flops x([0-9.]+)", ratio)[1]) < 2.1  # type: ignore[index]
    assert answer.body().startswith("Claim by r3: 'bigger is better'")
    assert "REFUSED (confounded)" in answer.body()


def test_bare_runs_get_the_analysis_and_a_ready_experiment(lab: Lab) -> None:
    with lab.ledger() as ledger:
        answer = ledger.answer_claim(_claim(ledger, 3, runs=("big1", "base1")))
    assert answer.decision == "confounded" and answer.verdict is None
    reasons = "\n".join(answer.reasons)
    # base1 ran first, so it is the baseline side: what differs, by how much, on how few seeds.
    assert (
        "config: width differs (0 -> 192), a knob no preregistered experiment declares" in reasons
    )
    assert re.search(r"budget: treatment/baseline spent .*flops x(1\.9|2)", reasons)
    assert "seeds: 1 baseline and 1 treatment run(s)" in reasons
    assert answer.command is not None
    argv = shlex.split(answer.command)
    assert argv[:3] == ["missionctl", "exp", "new"]
    # The command is ready: it registers an experiment whose arms differ only in width,
    # at the baseline's budget.
    code, out, err = run_cli(argv[1:], cwd=lab.root)
    assert code == 0, err
    with lab.ledger() as ledger:
        spec = ledger.experiment(argv[argv.index("--id") + 1]).spec
    assert spec.declared_knobs == ["width"] and spec.budget == "flops=3e+10"
    assert spec.arms["baseline"].overrides == {"width": 0}
    assert spec.arms["treatment"].overrides == {"width": 192}
    assert len(spec.seeds) >= 3 and "registered experiment width-192" in out


def test_a_missing_run_or_another_workspace_s_experiment_is_said_so(
    lab: Lab, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    init(other)
    with Ledger.open(other) as elsewhere:
        elsewhere.register(clean_spec(id="elsewhere"))
    with lab.ledger() as ledger:
        foreign = ledger.answer_claim(_claim(ledger, 4, experiment="elsewhere"))
        missing = ledger.answer_claim(_claim(ledger, 5, runs=("base1", "r9-20990101T000000-dead")))
        malformed = ledger.answer_claim(_claim(ledger, 6, runs=("../../etc",)))
        nothing = ledger.answer_claim(_claim(ledger, 7))
    assert (foreign.decision, foreign.accepted) == ("unknown", False)
    assert "there is no experiment 'elsewhere' in this workspace's ledger" in foreign.reasons[0]
    assert "another workspace" in foreign.reasons[0]
    assert missing.decision == "unknown"
    assert missing.reasons == [
        f"runs: there is no run r9-20990101T000000-dead in this workspace ({lab.runs});"
        " `missionctl runs` lists the runs"
    ]
    assert malformed.decision == "unknown" and "is not a run id" in malformed.reasons[0]
    assert nothing.decision == "unsettled" and nothing.reasons[0].startswith("evidence:")
    assert [row[1] for row in _claim_rows(lab)] == ["unknown", "unknown", "unknown", "unsettled"]


def test_ledger_claims_lists_the_answers(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.answer_claim(_claim(ledger, 8, runs=("big1", "base1")))
    code, out, err = run_cli(["ledger", "claims"], cwd=lab.root)
    assert code == 0, err
    assert "r3" in out and "refused" in out and "confounded" in out and "big1, base1" in out
