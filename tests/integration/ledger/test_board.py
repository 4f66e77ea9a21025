"""The ledger screen's data: built from the real ledger, again only when the ledger changed."""

from __future__ import annotations

from missionctl.ledger.board import BoardWatch
from missionctl.workspace import Workspace
from tests.integration.ledger.conftest import SEEDS, Lab, clean_spec


def test_the_board_is_rebuilt_when_a_run_of_the_experiment_ends_and_only_then(lab: Lab) -> None:
    watch = BoardWatch(Workspace(lab.root))
    first = watch.poll()
    assert first is not None and first.rows == [] and first.progress is not None
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "baseline", [f"base{s}" for s in SEEDS])
        ledger.attach("softcap", "nocap", ["nocap1", "nocap2"])
    pending = watch.poll()
    assert pending is not None
    row = pending.row("softcap")
    assert row is not None and (row.runs_done, row.runs_declared, row.decision) == (5, 6, "pending")
    card = pending.cards["softcap"]
    assert card.spec.id == "softcap" and card.verdict.missing[0].seed == 3
    # Reading may cache facts and verdicts once; after that, nothing changed: nothing to build.
    watch.poll()
    assert watch.poll() is None
    assert watch.poll(also=(("r1", "run-a", "running"),)) is not None  # a shown run moved
    assert watch.poll(also=(("r1", "run-a", "running"),)) is None
    # The last run ends and its gate attaches it and refreshes the verdict: the board follows.
    with lab.ledger() as ledger:
        ledger.attach("softcap", "nocap", ["nocap3"])
        ledger.verdict("softcap")
    decided = watch.poll(also=(("r1", "run-a", "running"),))
    assert decided is not None
    row = decided.row("softcap")
    assert row is not None and (row.runs_done, row.decision) == (
        6,
        decided.cards["softcap"].verdict.decision,
    )
    assert row.decision != "pending"
