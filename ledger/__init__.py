"""missionctl.ledger: preregistered experiments, runs attached to arms, computed verdicts.

Torch-free (an import contract keeps it so): it reads runs through
`missionctl.train`'s readers; `spend/` reads what the org spent on models.
Start with `Ledger.open(workspace)`; ad-hoc comparisons of bare runs are
`Ledger.compare` (`missionctl.ledger.compare.Comparison`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from missionctl.ledger.ledger import Experiment, ExperimentSummary, Ledger
    from missionctl.ledger.spec import ExperimentSpec
    from missionctl.ledger.verdict import ArmVerdict, Verdict

# Loaded on first use: `missionctl.ledger.spend` is read on status and app paths that
# must not pay for the ledger's SQLite and statistics.
_HOME = {
    "Experiment": "ledger", "ExperimentSummary": "ledger", "Ledger": "ledger",
    "ExperimentSpec": "spec", "ArmVerdict": "verdict", "Verdict": "verdict",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"missionctl.ledger.{_HOME[name]}"), name)
    raise AttributeError(f"module 'missionctl.ledger' has no attribute {name!r}")


__all__ = [
    "ArmVerdict",
    "Experiment",
    "ExperimentSpec",
    "ExperimentSummary",
    "Ledger",
    "Verdict",
]
