"""`python -m missionctl.train --exp ID --arm A`: refused before it trains, attached when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git
from tests.integration.ledger.conftest import BUDGET, Lab, clean_spec

TIMEOUT = 180


def _trainer(lab: Lab, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MISSIONCTL_WORKSPACE"}  # found from the cwd
    env.update(SLURM_JOB_ID="977", SLURMD_NODENAME="node3")  # as inside a Slurm job
    return subprocess.Popen(
        [sys.executable, "-m", "missionctl.train", "--threads", "1", *args],
        cwd=lab.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _plan_args(arm: str, seed: int, cap: int, budget: str = BUDGET) -> list[str]:
    return ["--preset", "cpu-tiny", "--budget", budget, "--seed", str(seed),
            "--set", f"logit_softcap={cap}", "--exp", "softcap", "--arm", arm]  # fmt: skip


def _state(lab: Lab) -> tuple[set[str], int]:
    with lab.ledger() as ledger:
        return {p.name for p in lab.runs.iterdir()}, len(ledger.attachments("softcap"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            _plan_args("nocap", 3, 0, budget="flops=2e10"),
            "budget: this run has budget flops=2e+10, but experiment softcap declares flops=3e+10",
        ),
        (
            _plan_args("nocap", 7, 0),
            "seeds: this run has seed 7, which is not one of experiment softcap's seeds (1, 2, 3)",
        ),
        (
            [*_plan_args("nocap", 3, 0), "--set", "lr=0.01"],
            "config: this run differs outside the declared knobs (logit_softcap): lr=0.01 (the arm has 0.006)",
        ),
        (
            _plan_args("nocap", 3, 15),
            "config: this run has logit_softcap=15, but arm nocap sets logit_softcap=0",
        ),
        (
            _plan_args("nocap", 1, 0),
            "seeds: arm nocap seed 1 already has complete run nocap1; the first complete run counts",
        ),
        (
            [*_plan_args("nocap", 3, 0), "--set", "data_seed=5"],
            "seeds: this run has data_seed 5 but seed 3",
        ),
        (["--preset", "cpu-tiny", "--exp", "softcap", "--arm", "nocap"], "--exp needs --seed N"),
        (
            ["--preset", "cpu-tiny", "--seed", "1", "--exp", "softcap"],
            "--exp and --arm go together",
        ),
        (
            [*_plan_args("nocap", 3, 0)[:-4], "--exp", "ghost", "--arm", "nocap"],
            "unknown experiment 'ghost'",
        ),
        (
            [*_plan_args("nocap", 3, 0)[:-2], "--arm", "fast"],
            "experiment 'softcap' has no arm 'fast'",
        ),
    ],
)
def test_a_confounded_run_is_refused_before_it_trains(
    lab: Lab, args: list[str], needle: str
) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "baseline", ["base1", "base2", "base3"])
        ledger.attach("softcap", "nocap", ["nocap1", "nocap2"])
    before = _state(lab)
    proc = _trainer(lab, *args)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2, err
    assert out == "" and err.count("\n") == 1 and needle in err, err
    assert _state(lab) == before  # no run directory, nothing attached


def test_runs_of_other_code_are_refused(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "baseline", ["base1", "base2", "base3"])
    (lab.root / "README.md").write_text("# lab\nan idea nobody committed\n")
    proc = _trainer(lab, *_plan_args("nocap", 1, 0))
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2 and "code: this run has uncommitted changes (diff " in err, err
    git(lab.root, "commit", "-qam", "the idea")
    proc = _trainer(lab, *_plan_args("nocap", 1, 0))
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2, err
    assert (
        f"but run base1 ran {lab.commit[:10]}; every arm without a ref must run the same code"
        in err
    )


def test_a_clean_run_is_attached_when_it_starts_and_the_verdict_follows(lab: Lab) -> None:
    with lab.ledger() as ledger:
        ledger.register(clean_spec())
        ledger.attach("softcap", "baseline", ["base1", "base2", "base3"])
        ledger.attach("softcap", "nocap", ["nocap1", "nocap2"])
        (last,) = ledger.plan("softcap")
    argv = last.split()
    assert argv[:3] == ["python", "-m", "missionctl.train"]
    before = {p.name for p in lab.runs.iterdir()}
    # Two agents start the same missing run at once: one trains, the other is refused.
    first, second = _trainer(lab, *argv[3:]), _trainer(lab, *argv[3:])
    results = [(p.wait(timeout=TIMEOUT), *p.communicate(timeout=TIMEOUT)) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, _, err in results if code == 2)
    assert "seeds: arm nocap seed 3" in refused and "nothing was attached" in refused
    with lab.ledger() as ledger:
        attached = [a for a in ledger.attachments("softcap") if a.seed == 3 and a.arm == "nocap"]
        assert len(attached) == 1 and attached[0].facts.status == "ok"
        assert (attached[0].facts.slurm_job_id, attached[0].facts.slurm_node) == ("977", "node3")
        new_run = attached[0].run_id
        assert (lab.runs / new_run / "config.json").exists()
        assert {p.name for p in lab.runs.iterdir()} - before == {new_run}  # the refused left none
        via = ledger.db.execute(
            "SELECT via FROM attachments WHERE run_id = ?", (new_run,)
        ).fetchone()
        assert via == ("train",)
        # The trainer brought the verdict up to date as it finished.
        stored = ledger.db.execute("SELECT verdict FROM verdicts").fetchone()
        assert stored is not None and b'"runs_done":6' in stored[0]
        assert ledger.verdict("softcap").decision != "pending"
    config = (lab.runs / new_run / "config.json").read_text()
    assert '"experiment": {\n    "arm": "nocap",\n    "id": "softcap"\n  }' in config


def test_the_gate_is_found_through_the_entry_point() -> None:
    from missionctl.train.gate import load_gate

    assert type(load_gate()).__name__ == "LedgerGate"
    assert Path(sys.modules[type(load_gate()).__module__].__file__ or "").name == "gate.py"
