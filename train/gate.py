"""The gate a run passes through when it claims a place in an experiment (`--exp ID --arm A`).

`train/` sits below the experiment ledger (an import contract keeps it so), yet
`python -m missionctl.train --exp ID --arm A` must ask the ledger whether the run
would be confounded *before* it trains. So this module defines what a gate is,
and the ledger provides one through the `missionctl.run_gates` entry point: the
trainer and `missionctl run` find it at run time without importing the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from missionctl.errors import UserError

ENTRY_POINT_GROUP = "missionctl.run_gates"
GATE_NAME = "ledger"


@dataclass(frozen=True)
class PlannedRun:
    """A run as it will be, known before it trains: what a gate judges.

    `runner` is "train" for `python -m missionctl.train` (then `preset` and a
    full `config` are known) or "command" for `missionctl run` (then `config` is
    what the command line sets, and `argv` the command).
    """

    experiment: str
    arm: str
    runner: str
    preset: str | None
    config: dict[str, Any]
    budget: dict[str, Any] | None
    init_seed: int
    data_seed: int
    git_commit: str | None
    diff_hash: str | None
    argv: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


class RunGate(Protocol):
    """Decides whether a run may join an experiment's arm, and records it when it does."""

    def check(self, run: PlannedRun) -> Path:
        """Raise `UserError` (one sentence) if `run` would be confounded; else return
        the workspace root whose runs dir the run must be recorded in."""
        ...

    def attach(self, run: PlannedRun, run_id: str) -> None:
        """Check again and attach `run_id` to the arm, atomically (another run of the
        same arm and seed may have started meanwhile); `UserError` when refused."""
        ...

    def finished(self, run: PlannedRun, run_id: str) -> None:
        """The run has ended: bring the experiment's verdict up to date (best effort)."""
        ...


def load_gate() -> RunGate:
    """The installed experiment gate; a `UserError` when missionctl's ledger is missing."""
    import importlib.metadata  # only runs with --exp pay for reading the installed metadata

    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == GATE_NAME:
            factory = entry.load()
            gate: RunGate = factory()
            return gate
    raise UserError(
        "--exp needs missionctl's experiment ledger, and this installation has none"
        " registered; reinstall missionctl (`pip install -e .` in its checkout)"
    )
