"""Runs on the real one-node Slurm cluster (`tests/slurm/cluster.sh up`).

Every test here needs the cluster: without one they skip, and in CI (which starts
it and sets MISSIONCTL_TEST_SLURM=required) they fail. What the tests share is in
`cluster.py`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _needs_the_cluster(slurm_cluster: str) -> None:
    """Every test in this folder runs against the real cluster."""
