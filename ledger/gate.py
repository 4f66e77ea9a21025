"""The ledger's run gate: what `--exp ID --arm A` on a run asks before it trains.

Registered as the `missionctl.run_gates` entry point `ledger` (see
`missionctl.train.gate`), so the trainer and `missionctl run`, which sit below
the ledger, find it without importing it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from missionctl import workspace
from missionctl.errors import UserError
from missionctl.ledger.facts import RunFacts
from missionctl.ledger.ledger import Ledger
from missionctl.train.gate import PlannedRun


def planned_facts(run: PlannedRun, run_id: str | None = None) -> RunFacts:
    """The facts a run will have, known before it starts ("this run" until it has an id)."""
    return RunFacts(
        run_id=run_id or "this run",
        status="planned" if run_id is None else "queued",
        runner=run.runner,
        preset=run.preset,
        command=list(run.argv) if run.runner == "command" else None,
        config=dict(run.config),
        budget=run.budget,
        init_seed=run.init_seed,
        data_seed=run.data_seed,
        git_commit=run.git_commit,
        diff_hash=run.diff_hash,
    )


def _workspace() -> workspace.Workspace:
    try:
        return workspace.find()
    except UserError as exc:
        raise UserError(f"--exp needs the experiment's workspace: {exc}") from None


class LedgerGate:
    """Checks runs against the ledger of the workspace they run in."""

    def check(self, run: PlannedRun) -> Path:
        ws = _workspace()
        with Ledger.open(ws) as ledger:
            ledger.check(run.experiment, run.arm, planned_facts(run))
        return ws.root

    def attach(self, run: PlannedRun, run_id: str) -> None:
        with Ledger.open(_workspace()) as ledger:
            ledger.attach(
                run.experiment,
                run.arm,
                [run_id],
                via=run.runner,
                planned={run_id: planned_facts(run, run_id)},
            )

    def finished(self, run: PlannedRun, run_id: str) -> None:
        # The run is over and recorded; a verdict that cannot be refreshed now will be
        # computed by the next `exp verdict`, so a failure here must not fail the run.
        try:
            with Ledger.open(_workspace()) as ledger:
                ledger.verdict(run.experiment)
        except (UserError, sqlite3.Error, OSError):
            pass


def gate() -> LedgerGate:
    """The entry point's factory."""
    return LedgerGate()
