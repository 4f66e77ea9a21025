"""Eight agents attaching runs and reading verdicts at once: no lost row, no "database is locked"."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.ledger.conftest import Lab, clean_spec

WORKER = Path(__file__).with_name("worker.py")
ARMS = ["baseline", *(f"a{i}" for i in range(1, 8))]
SEEDS_PER_ARM = 100  # 100 attaches + 100 verdicts = 200 operations per process


def _copies(lab: Lab) -> None:
    """One real run, copied per (arm, seed) with its seed edited to match."""
    source = lab.runs / "base1"
    lines = (source / "metrics.jsonl").read_text().splitlines()
    for arm in ARMS:
        for seed in range(1, SEEDS_PER_ARM + 1):
            target = lab.runs / f"{arm}-{seed}"
            shutil.copytree(source, target)
            start = json.loads(lines[0])
            start.update(init_seed=seed, data_seed=seed)
            (target / "metrics.jsonl").write_text("\n".join([json.dumps(start), *lines[1:]]) + "\n")


@pytest.mark.slow
def test_eight_processes_attach_and_read_without_losing_a_row(lab: Lab) -> None:
    _copies(lab)
    arms = {arm: {"set": {"logit_softcap": 15}} for arm in ARMS}
    with lab.ledger() as ledger:
        ledger.register(clean_spec(id="crowd", seeds=list(range(1, SEEDS_PER_ARM + 1)), arms=arms))
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(lab.root), arm, str(SEEDS_PER_ARM)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for arm in ARMS
    ]
    results = [(w.wait(timeout=600), *w.communicate(timeout=60)) for w in workers]
    for code, out, err in results:
        assert (code, out, err) == (0, f"ok {2 * SEEDS_PER_ARM}\n", ""), err[-2000:]
    with lab.ledger() as ledger:
        attached = ledger.attachments("crowd")
        verdict = ledger.verdict("crowd")
    assert len(attached) == len(ARMS) * SEEDS_PER_ARM
    assert {(a.arm, a.seed) for a in attached} == {
        (arm, seed) for arm in ARMS for seed in range(1, SEEDS_PER_ARM + 1)
    }
    assert verdict.runs_done == verdict.runs_declared == len(ARMS) * SEEDS_PER_ARM
