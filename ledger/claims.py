"""Claims answered by the ledger: "r3 says bigger is better" meets the numbers.

A claim is mail of kind `claim` that cites an experiment (`--exp ID`), runs
(`--run ID`), or both. The supervisor hands each to `Ledger.answer_claim`,
which judges it here and records the answer:

- a claim citing an experiment gets that experiment's verdict; runs it cites
  that are not attached to the experiment are checked against the arm they
  resemble (budget, knobs, seeds), and the claim is refused as confounded when
  they do not fit: a bigger model trained longer is not evidence about the arm;
- a claim citing bare runs gets `Ledger.compare`'s analysis (config keys that
  differ, budget ratios on every axis, seeds per side) and a ready
  `missionctl exp new` command for the experiment that would settle it;
- a run id that does not exist, or an experiment this workspace's ledger does
  not hold (another workspace's), gets an answer that says so.

The claim's text is an agent's words: it is never parsed, and never put in the
command the answer suggests.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from missionctl.errors import UserError
from missionctl.ledger import facts as run_facts
from missionctl.ledger import rules
from missionctl.ledger.facts import RunFacts
from missionctl.ledger.spec import BASELINE, ExperimentSpec, format_value, normalise
from missionctl.ledger.verdict import DECIDED, Verdict
from missionctl.train.runs.record import check_run_id

if TYPE_CHECKING:
    from missionctl.ledger.compare import Comparison, KeyDifference
    from missionctl.ledger.ledger import Ledger

# What a claim's answer can be, besides an experiment's own decision.
UNKNOWN = "unknown"  # it cites a run or an experiment this workspace does not have
UNSETTLED = "unsettled"  # no controlled evidence either way: bare runs, or nothing cited
CONFOUNDED = "confounded"
# Keywords of the reasons that make a comparison confounded (not merely too small).
_CONFOUND_KEYS = ("budget:", "config:", "code:", "env:", "data:", "eval:", "nan:")
# Without a measured spread on the preset, the suggested experiment declares this many.
DEFAULT_SEEDS = 10
DEFAULT_EFFECT = 0.01


class ClaimRequest(msgspec.Struct, kw_only=True, frozen=True):
    """A claim as mailed: who, when, what it says, and what it cites."""

    id: str  # the claim's mail id
    claimant: str
    sent: float  # Unix time the claim was sent
    text: str  # its subject, or the start of its body (for people; never parsed)
    experiment: str | None = None
    runs: list[str] = []


class ClaimAnswer(msgspec.Struct, kw_only=True, frozen=True):
    """The ledger's answer to one claim, as recorded and mailed."""

    claim: ClaimRequest
    answered: float
    decision: str  # an experiment decision, or unknown / unsettled / confounded
    accepted: bool  # True only when the claim rests on a decided experiment
    reasons: list[str]
    verdict: Verdict | None = None  # the cited experiment's verdict at the time
    command: str | None = None  # `missionctl exp new ...` that would settle bare runs

    @property
    def subject(self) -> str:
        what = "accepted" if self.accepted else "refused"
        return f"the ledger on your claim: {what} ({self.decision})"

    def body(self) -> str:
        """The reply the claimant (and the chief or the human) reads."""
        claim = self.claim
        cited = []
        if claim.experiment:
            cited.append(f"experiment {claim.experiment}")
        if claim.runs:
            cited.append(f"run{'s' if len(claim.runs) > 1 else ''} {', '.join(claim.runs)}")
        lines = [
            f"Claim by {claim.claimant}: {claim.text!r}",
            f"It cites {' and '.join(cited) or 'nothing'}.",
            "",
        ]
        if self.accepted:
            lines.append(
                f"ACCEPTED: experiment {claim.experiment} is decided: {self.decision}."
                f" Report it as `missionctl exp verdict {claim.experiment}` says, citing the"
                " experiment id."
            )
        else:
            lines.append(f"REFUSED ({self.decision}): no conclusion follows from what it cites.")
        if self.reasons:
            lines += ["", "Why:", *[f"- {r}" for r in self.reasons]]
        if self.verdict is not None and (not self.accepted or self.reasons != self.verdict.reasons):
            v = self.verdict
            lines += [
                "",
                f"Experiment {v.experiment} stands at: {v.decision}"
                f" ({v.runs_done}/{v.runs_declared} declared runs done);"
                f" `missionctl exp verdict {v.experiment}` has the details.",
            ]
        if self.command:
            lines += [
                "",
                "An experiment that would settle it (preregister it, run `missionctl exp plan ID`,"
                " then claim with --exp ID):",
                f"  {self.command}",
            ]
        return "\n".join(lines)


def judge(ledger: Ledger, claim: ClaimRequest, now: float) -> ClaimAnswer:
    """The ledger's answer to `claim` (not recorded: `Ledger.answer_claim` records it)."""
    problems: list[str] = []
    runs: list[str] = []
    for run_id in dict.fromkeys(claim.runs):
        try:
            check_run_id(run_id)
        except UserError:
            problems.append(f"runs: {run_id!r} is not a run id; `missionctl runs` lists the runs")
            continue
        if run_facts.signature(ledger.runs_dir / run_id) is None:
            problems.append(
                f"runs: there is no run {run_id} in this workspace ({ledger.runs_dir});"
                " `missionctl runs` lists the runs"
            )
        else:
            runs.append(run_id)
    spec: ExperimentSpec | None = None
    if claim.experiment is not None:
        try:
            spec = ledger.experiment(claim.experiment).spec
        except UserError:
            problems.append(
                f"experiment: there is no experiment {claim.experiment!r} in this workspace's"
                f" ledger ({ledger.root}); an experiment of another workspace cannot settle a"
                " claim here (`missionctl exp list` shows this one's)"
            )

    def answer(
        decision: str,
        reasons: Sequence[str],
        verdict: Verdict | None = None,
        command: str | None = None,
    ) -> ClaimAnswer:
        return ClaimAnswer(
            claim=claim,
            answered=now,
            decision=decision,
            accepted=decision in DECIDED,
            reasons=list(dict.fromkeys(reasons)),
            verdict=verdict,
            command=command,
        )

    if problems:
        return answer(UNKNOWN, problems)
    if spec is not None:
        return answer(*_against_experiment(ledger, spec, runs))
    if runs:
        return answer(*_bare_runs(ledger, runs))
    return answer(
        UNSETTLED,
        [
            "evidence: the claim cites no experiment and no run; cite the preregistered"
            ' experiment that settles it: `missionctl claim --exp ID "..."`'
        ],
    )


# (decision, reasons, the experiment's verdict, a suggested `exp new` command)
_Judged = tuple[str, list[str], Verdict | None, str | None]


def _against_experiment(ledger: Ledger, spec: ExperimentSpec, runs: list[str]) -> _Judged:
    verdict = ledger.verdict(spec.id)
    attached = {a.run_id: a for a in ledger.attachments(spec.id)}
    outside = [r for r in runs if r not in attached]
    if not outside:
        notes = [
            f"runs: run {r} is attached to {spec.id} but not counted (the first complete run of"
            " each arm and seed counts, never a later or a better one)"
            for r in runs
            if r not in verdict.used_runs
        ]
        return verdict.decision, [*verdict.reasons, *notes], verdict, None
    found = ledger.run_facts(outside)
    reasons: list[str] = []
    attach_hint: list[str] = []
    for run_id in outside:
        run = found[run_id]
        arm = closest_arm(spec, run)
        seed = run.init_seed if run.init_seed is not None else spec.seeds[0]
        why = rules.against_arm(spec, arm, seed, run)
        reasons.append(
            f"prereg: run {run_id} is not part of experiment {spec.id}: it was never attached to"
            f" an arm, so the experiment's verdict says nothing about it"
        )
        reasons += why
        if not why:
            attach_hint.append(f"`missionctl exp attach {spec.id} --arm {arm} {run_id}`")
    seeds = sorted({s for r in outside if (s := found[r].init_seed) is not None})
    if len(seeds) < 2:
        shown = f"seed {seeds[0]}" if seeds else "no seed"
        reasons.append(
            f"seeds: the claim rests on {len(outside)} run{'s' if len(outside) > 1 else ''} of"
            f" {shown} outside the experiment; one seed cannot tell an effect from seed-to-seed"
            f" noise (experiment {spec.id} pairs {len(spec.seeds)} seeds)"
        )
    baseline = [a.run_id for a in attached.values() if a.arm == BASELINE and a.facts.complete]
    if baseline:
        comparison = ledger.compare(baseline, outside, spec.metric)
        reasons += [
            f"{r} against experiment {spec.id}'s baseline runs"
            for r in comparison.reasons
            if r.startswith("budget:")
        ]
    confounded = any(r.startswith(_CONFOUND_KEYS) for r in reasons)
    if not confounded and attach_hint:
        reasons.append(
            "prereg: the runs fit the experiment; attach them and claim again: "
            + "; ".join(attach_hint)
        )
    return (CONFOUNDED if confounded else UNSETTLED), reasons, verdict, None


def closest_arm(spec: ExperimentSpec, run: RunFacts) -> str:
    """The arm whose declared knobs `run` matches best (the baseline on a tie)."""

    def misses(arm: str) -> int:
        expected = spec.arms[arm].overrides
        return sum(normalise(run.config.get(k)) != normalise(v) for k, v in expected.items())

    return min(spec.arms, key=lambda arm: (misses(arm), arm != BASELINE))


def _bare_runs(ledger: Ledger, runs: list[str]) -> _Judged:
    found = ledger.run_facts(runs)
    groups: dict[str, list[RunFacts]] = {}
    for run in sorted(found.values(), key=lambda r: (r.started or r.created or 0.0, r.run_id)):
        groups.setdefault(_setup(run), []).append(run)
    sides = list(groups.values())
    if len(sides) < 2:
        only = sides[0]
        reasons = [
            f"baseline: the {len(only)} cited run{'s' if len(only) > 1 else ''} share one"
            " setup (config, preset and budget), so nothing is compared with anything; cite"
            " a preregistered experiment with a baseline arm",
            "prereg: only a preregistered experiment decides; register one with"
            " `missionctl exp new` and run its plan",
        ]
        return UNSETTLED, reasons, None, None
    baseline = sides[0]
    treatment = [r for side in sides[1:] for r in side]
    comparison = ledger.compare([r.run_id for r in baseline], [r.run_id for r in treatment])
    reasons = list(comparison.reasons)
    across = _across(comparison)
    if len(across) == 1 and not any(comparison.experiments.values()):
        d = across[0]
        reasons.insert(
            0,
            f"config: {d.key} differs ({format_value(d.baseline[0])} ->"
            f" {format_value(d.treatment[0])}), a knob no preregistered experiment declares",
        )
    confounded = any(r.startswith(_CONFOUND_KEYS) for r in reasons)
    command = suggest_experiment(ledger, comparison, baseline[0])
    return (CONFOUNDED if confounded else UNSETTLED), reasons, None, command


def _setup(run: RunFacts) -> str:
    """What makes runs the same arm: everything but the seed."""
    config = {k: normalise(v) for k, v in sorted(run.config.items())}
    budget = run.budget or {}
    return repr((run.runner, run.preset, config, budget.get("kind"), budget.get("amount")))


def _across(comparison: Comparison) -> list[KeyDifference]:
    return [
        d for d in comparison.config_differences if len(d.baseline) == 1 and len(d.treatment) == 1
    ]


def suggest_experiment(ledger: Ledger, comparison: Comparison, base: RunFacts) -> str | None:
    """`missionctl exp new ...` for the experiment that would test what the runs vary.

    The arms differ only in the config keys that differed between the runs; the
    budget is the baseline's; the seeds are sized from the spread the ledger has
    measured on the preset (see `seeds_for`).
    """
    across = _across(comparison)
    if not across or base.runner != "train" or base.preset is None or not base.budget:
        return None
    kind, amount = base.budget.get("kind"), base.budget.get("amount")
    if not isinstance(kind, str) or not isinstance(amount, int | float):
        return None
    base_id = "-".join(f"{d.key}-{format_value(d.treatment[0])}" for d in across)
    exp_id = _free_id(ledger, re.sub(r"[^a-z0-9._-]+", "-", base_id.lower()).strip("-._"))
    n, alpha = seeds_for(ledger, base.preset, DEFAULT_EFFECT), 0.05
    change = ", ".join(
        f"{d.key} {format_value(d.baseline[0])} -> {format_value(d.treatment[0])}" for d in across
    )
    argv = [
        "missionctl", "exp", "new", "--id", exp_id,
        "--question", f"Does {change} improve {comparison.metric} at matched compute?",
        "--test", "superiority", "--min-effect", f"{DEFAULT_EFFECT:g}", "--alpha", f"{alpha:g}",
        "--seeds", ",".join(str(s) for s in range(1, n + 1)),
        "--preset", base.preset, "--budget", f"{kind}={amount:g}",
        "--arm", BASELINE, *(f"{d.key}={format_value(d.baseline[0])}" for d in across),
        "--arm", "treatment", *(f"{d.key}={format_value(d.treatment[0])}" for d in across),
    ]  # fmt: skip
    return shlex.join(argv)


def _free_id(ledger: Ledger, stem: str) -> str:
    stem = (stem or "claim")[:56]
    taken = {e.id for e in ledger.experiments()}
    if stem not in taken:
        return stem
    return next(f"{stem}-{i}" for i in range(2, 10_000) if f"{stem}-{i}" not in taken)


def seeds_for(ledger: Ledger, preset: str, effect: float, alpha: float = 0.05) -> int:
    """Seeds that resolve `effect`: the smallest n whose 1-2α interval is ±`effect` wide at
    the spread of paired differences measured on `preset` (the largest the ledger has seen).

    Enough that a treatment no worse than its baseline is decided, and one worse by twice
    the effect is too; `DEFAULT_SEEDS` while the ledger has measured no spread on the preset.
    """
    from missionctl.ledger.stats import seeds_needed

    spreads = []
    for experiment in ledger.experiments():
        if experiment.spec.preset != preset:
            continue
        verdict = ledger.verdict(experiment.id)
        spreads += [a.sd_diff for a in verdict.arms.values() if a.sd_diff]
    if not spreads:
        return DEFAULT_SEEDS
    needed = seeds_needed(max(spreads), effect, alpha)
    return max(3, needed) if needed is not None else DEFAULT_SEEDS


def excerpt(subject: str, body: str, limit: int = 120) -> str:
    """One line saying what a claim claims: its subject, else its body's first line."""
    text = subject.strip() or next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
