"""Fixed ledger boards for the app's tests: a decided experiment, a confounded one, a
pending one, the progress curve and a refused claim; built from the ledger's own types."""

from __future__ import annotations

from typing import Any

import msgspec

from missionctl.ledger.board import BoardRow, ExperimentCard, LedgerBoard
from missionctl.ledger.claims import ClaimAnswer, ClaimRequest
from missionctl.ledger.progress import Progress, ProgressPoint
from missionctl.ledger.spec import ExperimentSpec
from missionctl.ledger.verdict import ArmVerdict, MissingRun, PairRow, Verdict

SOFTCAP_DIFFS = (-0.0008, -0.0071, -0.0204, -0.0030, +0.0087, +0.0064)


def spec(exp_id: str, seeds: int = 6, **changes: Any) -> ExperimentSpec:
    raw: dict[str, Any] = {
        "id": exp_id, "question": "Can the logit softcap be removed without a regression?",
        "test": "noninferiority", "margin": 0.01, "seeds": list(range(1, seeds + 1)),
        "preset": "cpu-tiny", "budget": "flops=1.5e+11", "knobs": ["logit_softcap"],
        "arms": {"baseline": {"set": {"logit_softcap": 15}},
                 "nocap": {"set": {"logit_softcap": 0}}},
    }  # fmt: skip
    raw.update(changes)
    return msgspec.convert(raw, ExperimentSpec)


def pairs(diffs: tuple[float, ...], done: int | None = None) -> list[PairRow]:
    rows = []
    for i, d in enumerate(diffs, start=1):
        ran = done is None or i <= done
        base = 3.19 + i / 1000
        rows.append(
            PairRow(
                seed=i, arm="nocap", baseline_run=f"r1-2026120{i}T0000-b{i:03d}",
                baseline_value=base, baseline_status="ok",
                run=f"r2-2026120{i}T0001-n{i:03d}" if ran else None,
                value=base + d if ran else None, status="ok" if ran else "missing",
                diff=d if ran else None,
            )
        )  # fmt: skip
    return rows


def softcap_verdict(done: int | None = None) -> Verdict:
    """Decided non-inferior with every run done; pending with only `done` treatment runs."""
    n = len(SOFTCAP_DIFFS)
    common = {"experiment": "softcap-off", "metric": "val_bpb", "goal": "lower",
              "test": "noninferiority", "threshold": 0.01, "alpha": 0.05,
              "runs_declared": 2 * n}  # fmt: skip
    if done is not None:
        missing = [MissingRun(arm="nocap", seed=s, why="not run") for s in range(done + 1, n + 1)]
        return Verdict(
            decision="pending", runs_done=n + done, pairs=pairs(SOFTCAP_DIFFS, done),
            missing=missing, arms={}, reasons=[
                f"seeds: {n - done} declared runs missing: arm nocap seed {done + 1} (not run);"
                " `missionctl exp plan softcap-off` prints the commands"
            ], **common,
        )  # fmt: skip
    arm = ArmVerdict(
        arm="nocap", decision="non-inferior", n=n, mean_diff=-0.0027, sd_diff=0.0105,
        ci=[-0.0113, 0.0059], ci_level=0.9, p=0.0021, p_holm=0.0021, seeds_needed=None,
        threshold=0.01,
    )  # fmt: skip
    return Verdict(
        decision="non-inferior", runs_done=2 * n, pairs=pairs(SOFTCAP_DIFFS), arms={"nocap": arm},
        reasons=["non-inferior: nocap - baseline = -0.0027 val_bpb over 6 seeds; its 90% interval"
                 " [-0.0113, +0.0059] lies below the margin +0.01 (p = 0.0021)"],
        used_runs=[r for p in pairs(SOFTCAP_DIFFS) for r in (p.baseline_run, p.run) if r],
        **common,
    )  # fmt: skip


WIDTH_REASONS = [
    "budget: run r7-20261205T0100-big1 has budget flops=3e+11, but experiment width declares"
    " flops=1.5e+11",
    "config: run r7-20261205T0100-big1 differs outside the declared knobs (logit_softcap):"
    " width=192 (the arm has 0)",
]


def board(softcap_done: int | None = None) -> LedgerBoard:
    softcap = softcap_verdict(softcap_done)
    width = Verdict(
        experiment="width", decision="confounded", reasons=WIDTH_REASONS, arms={},
        metric="val_bpb", goal="lower", test="superiority", threshold=-0.01, alpha=0.05,
        runs_done=1, runs_declared=6,
    )  # fmt: skip
    rows = [
        BoardRow(id="softcap-off", owner="chief", question=spec("x").question,
                 arms=["baseline", "nocap"], runs_done=softcap.runs_done,
                 runs_declared=softcap.runs_declared, decision=softcap.decision,
                 confounds=[], survives_fdr=True if softcap.decision == "non-inferior" else None),
        BoardRow(id="width", owner="r7", question="Is a wider model better?",
                 arms=["baseline", "wide"], runs_done=1, runs_declared=6,
                 decision="confounded", confounds=WIDTH_REASONS),
    ]  # fmt: skip
    cards = {
        "softcap-off": ExperimentCard(spec=spec("softcap-off"), owner="chief", created=0.0,
                                      verdict=softcap),
        "width": ExperimentCard(
            spec=spec("width", 3, test="superiority", margin=None, min_effect=0.01,
                      knobs=["width"], arms={"baseline": {"set": {"width": 0}},
                                             "wide": {"set": {"width": 192}}}),
            owner="r7", created=0.0, verdict=width,
        ),
    }  # fmt: skip
    points = []
    if softcap.decision == "non-inferior":
        points = [
            ProgressPoint(label="A", experiment="lr-warmup", decision="superior", arm="warm",
                          value=3.2010, at=0.0, hours=0.4, compute_hours=0.6,
                          org_commit="1a2b3c4", best=True),
            ProgressPoint(label="B", experiment="softcap-off", decision="non-inferior",
                          arm="nocap", value=3.1910, at=0.0, hours=1.1, compute_hours=1.9,
                          org_commit="5d6e7f8", best=True),
        ]  # fmt: skip
    curve = Progress(metric="val_bpb", goal="lower", started=0.0, compute_unit="CPU-hours",
                     compute_hours=2.2, points=points)  # fmt: skip
    claim = ClaimAnswer(
        claim=ClaimRequest(id="01kclaim00000000000000000a", claimant="r7", sent=0.0,
                           text="bigger hidden size lowers val loss", experiment="softcap-off",
                           runs=["r7-20261205T0100-big1"]),
        answered=0.0, decision="confounded", accepted=False, reasons=WIDTH_REASONS,
    )  # fmt: skip
    return LedgerBoard(rows=rows, cards=cards, progress=curve, claims=[claim])


def empty_board() -> LedgerBoard:
    curve = Progress(metric="val_bpb", goal="lower", started=0.0, compute_unit="CPU-hours",
                     compute_hours=0.0, points=[])  # fmt: skip
    return LedgerBoard(rows=[], cards={}, progress=curve, claims=[])
