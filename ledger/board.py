"""What the app's ledger screen shows, and when it must be rebuilt.

`board(ledger)` gathers every experiment (owner, arms, progress, decision,
confounds), each one's verdict and preregistration, the progress curve and the
latest claims, as plain data. `BoardWatch.poll()` rebuilds it only when the
ledger changed: every change the screen shows (an experiment registered, a run
attached, a run ending, whose gate refreshes the verdict; a claim answered) is
a write to the SQLite file, so two `stat` calls a poll say whether to look, and
the app's once-a-second snapshot worker can ask without a polling storm.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path

import msgspec

from missionctl.ledger.claims import ClaimAnswer
from missionctl.ledger.ledger import Ledger
from missionctl.ledger.progress import Progress, progress
from missionctl.ledger.spec import ExperimentSpec
from missionctl.ledger.verdict import Verdict
from missionctl.workspace import Workspace

RECENT_CLAIMS = 20


class BoardRow(msgspec.Struct, kw_only=True, frozen=True):
    """One experiment in the list."""

    id: str
    owner: str
    question: str
    arms: list[str]
    runs_done: int
    runs_declared: int
    decision: str
    confounds: list[str]  # the reasons, when the decision is confounded
    survives_fdr: bool | None = None


class ExperimentCard(msgspec.Struct, kw_only=True, frozen=True):
    """One experiment in full: its preregistration and its verdict."""

    spec: ExperimentSpec
    owner: str
    created: float
    verdict: Verdict


class LedgerBoard(msgspec.Struct, kw_only=True, frozen=True):
    rows: list[BoardRow]
    cards: dict[str, ExperimentCard]
    progress: Progress | None
    claims: list[ClaimAnswer]

    def row(self, exp_id: str) -> BoardRow | None:
        return next((r for r in self.rows if r.id == exp_id), None)


def board(ledger: Ledger) -> LedgerBoard:
    """The whole ledger as the app shows it."""
    summaries = {s.id: s for s in ledger.summaries()}
    rows: list[BoardRow] = []
    cards: dict[str, ExperimentCard] = {}
    for experiment in ledger.experiments():
        s = summaries[experiment.id]
        verdict = ledger.verdict(experiment.id)  # cached by summaries() just now
        rows.append(
            BoardRow(
                id=experiment.id,
                owner=experiment.owner,
                question=experiment.spec.question,
                arms=list(experiment.spec.arms),
                runs_done=s.runs_done,
                runs_declared=s.runs_declared,
                decision=s.decision,
                confounds=verdict.reasons if s.decision == "confounded" else [],
                survives_fdr=s.survives_fdr,
            )
        )
        cards[experiment.id] = ExperimentCard(
            spec=experiment.spec, owner=experiment.owner, created=experiment.created,
            verdict=verdict,
        )  # fmt: skip
    metrics = {e.spec.metric for e in ledger.experiments()}
    curve = progress(ledger, "val_bpb" if "val_bpb" in metrics or not metrics else min(metrics))
    return LedgerBoard(
        rows=rows, cards=cards, progress=curve, claims=ledger.claims()[-RECENT_CLAIMS:]
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class BoardWatch:
    """Builds the board of a workspace again only when its ledger (or `also`) changed."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._last: object = None

    def poll(self, also: Hashable = ()) -> LedgerBoard | None:
        """A fresh board if anything changed since the last poll, else None.

        `also` joins the check: the app passes its agents' run statuses, so a run
        that ended without touching the ledger (a bare run) still refreshes the
        compute the progress curve counts.
        """
        path = self.ws.ledger_path
        stamp = (_stamp(path), _stamp(path.with_name(path.name + "-wal")), also)
        if stamp == self._last:
            return None
        # Stamped before reading, so a change made meanwhile is seen next time; a read
        # that caches facts or verdicts writes too, and costs one more (cached) build.
        self._last = stamp
        with Ledger.open(self.ws) as ledger:
            return board(ledger)
