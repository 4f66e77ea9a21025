"""What the ledger says changed over a span of time: the second half of a standup digest.

Experiments opened, verdicts reached, claims answered (refused ones first),
runs that crashed or diverged, and the compute every run spent. Verdicts are
compared with the decisions remembered at the last digest (the ledger keeps
only each experiment's latest verdict), so a verdict that flips shows too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

from missionctl.ledger.progress import all_runs, compute_hours, compute_unit
from missionctl.ledger.verdict import DECIDED

if TYPE_CHECKING:
    from missionctl.ledger.ledger import Ledger

_CRASHED = ("crash", "timeout", "unknown", "nan")


class ClaimLine(msgspec.Struct, kw_only=True, frozen=True):
    claimant: str
    text: str
    experiment: str | None
    decision: str
    accepted: bool


class LedgerChanges(msgspec.Struct, kw_only=True, frozen=True):
    """The ledger between `since` and `until`."""

    since: float
    until: float
    opened: list[str]  # experiments registered in the span
    decided: dict[str, str]  # experiment -> the decided verdict it reached (or changed to)
    claims: list[ClaimLine]
    crashed: dict[str, str]  # run -> its status: crash, timeout, unknown (died), nan
    compute_hours: float
    compute_unit: str
    decisions: dict[str, str]  # every experiment's decision now: remember for the next span

    def lines(self) -> list[str]:
        """The changes as the digest shows them, one line each ("none" when nothing moved)."""
        refused = [c for c in self.claims if not c.accepted]
        accepted = [c for c in self.claims if c.accepted]
        out = [
            "experiments opened: " + (", ".join(self.opened) or "none"),
            "verdicts reached: "
            + (", ".join(f"{e} {d}" for e, d in self.decided.items()) or "none"),
            f"claims refused: {len(refused) or 'none'}",
            *[
                f"  - {c.claimant}: {c.text!r} -> {c.decision}"
                + (f" (experiment {c.experiment})" if c.experiment else "")
                for c in refused
            ],
            f"claims accepted: {len(accepted) or 'none'}",
            *[f"  - {c.claimant}: {c.text!r} -> {c.decision}" for c in accepted],
            "runs crashed: " + (", ".join(f"{r} ({s})" for r, s in self.crashed.items()) or "none"),
            f"compute spent: {self.compute_hours:.3g} {self.compute_unit}",
        ]
        return out


def changes(
    ledger: Ledger, since: float, until: float, previous: Mapping[str, str] | None = None
) -> LedgerChanges:
    """What changed in `ledger` between `since` and `until`; `previous` are the decisions
    at `since` (from the last digest; without them, verdicts whose last run ended in the
    span count as reached in it)."""
    experiments = ledger.experiments()
    summaries = {s.id: s for s in ledger.summaries()}
    decisions = {e.id: summaries[e.id].decision for e in experiments}
    runs = all_runs(ledger)
    ended = {r.run_id: r.ended for r in runs}
    decided: dict[str, str] = {}
    for e in experiments:
        now = decisions[e.id]
        if now not in DECIDED:
            continue
        if previous is not None:
            if previous.get(e.id) != now:
                decided[e.id] = now
            continue
        used = ledger.verdict(e.id).used_runs
        last = max((ended.get(r) or 0.0 for r in used), default=0.0)
        if since < last <= until:
            decided[e.id] = now
    claims = [
        ClaimLine(
            claimant=a.claim.claimant,
            text=a.claim.text,
            experiment=a.claim.experiment,
            decision=a.decision,
            accepted=a.accepted,
        )
        for a in ledger.claims(since)
        if a.answered <= until
    ]
    crashed = {
        r.run_id: r.status
        for r in runs
        if r.status in _CRASHED and since < (r.ended or r.started or r.created or 0.0) <= until
    }
    return LedgerChanges(
        since=since,
        until=until,
        opened=[e.id for e in experiments if since < e.created <= until],
        decided=decided,
        claims=claims,
        crashed=crashed,
        compute_hours=compute_hours(runs, until) - compute_hours(runs, since),
        compute_unit=compute_unit(runs),
        decisions=decisions,
    )
