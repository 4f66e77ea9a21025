"""The experiment ledger: preregistered experiments, runs attached to arms, computed verdicts.

Torch-free (an import contract keeps it so): it reads runs through
`missionctl.train`'s readers. Start with `Ledger.open(workspace)`; ad-hoc
comparisons of bare runs are `Ledger.compare` (`missionctl.ledger.compare.Comparison`).
"""

from missionctl.ledger.ledger import Experiment, ExperimentSummary, Ledger
from missionctl.ledger.spec import ExperimentSpec
from missionctl.ledger.verdict import ArmVerdict, Verdict

__all__ = [
    "ArmVerdict",
    "Experiment",
    "ExperimentSpec",
    "ExperimentSummary",
    "Ledger",
    "Verdict",
]
