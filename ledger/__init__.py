"""The experiment ledger: preregistered experiments, runs attached to arms, computed verdicts.

Torch-free (an import contract keeps it so): it reads runs through
`missionctl.train`'s readers. Start with `Ledger.open(workspace)`.
"""

from missionctl.ledger.compare import Comparison
from missionctl.ledger.ledger import Experiment, ExperimentSummary, Ledger
from missionctl.ledger.spec import ExperimentSpec
from missionctl.ledger.verdict import ArmVerdict, Verdict

__all__ = [
    "ArmVerdict",
    "Comparison",
    "Experiment",
    "ExperimentSpec",
    "ExperimentSummary",
    "Ledger",
    "Verdict",
]
