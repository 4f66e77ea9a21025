"""A run's facts before it starts: what its config.json records is what the rules compare."""

from __future__ import annotations

import json
from pathlib import Path

from missionctl.ledger.facts import read_facts


def test_a_queued_run_is_compared_by_the_code_its_record_names(tmp_path: Path) -> None:
    # Waiting for a run slot, or pending on Slurm: no start event yet. A run of another
    # arm checked meanwhile must see its commit, not "no commit".
    run_dir = tmp_path / "r1-x"
    run_dir.mkdir()
    record = {"run_id": "r1-x", "agent": "r1", "preset": "cpu-tiny", "init_seed": 1,
              "git_commit": "b44d1b594eda", "git_branch": "main", "diff_hash": "e3b0c442",
              "created": 1.0}  # fmt: skip
    (run_dir / "config.json").write_text(json.dumps(record))
    facts = read_facts(run_dir)
    assert (facts.git_commit, facts.git_branch, facts.diff_hash) == (
        "b44d1b594eda",
        "main",
        "e3b0c442",
    )
    assert facts.init_seed == 1 and facts.device is None  # the device is known once it runs
