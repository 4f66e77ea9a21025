"""`missionctl runs`: list and show the runs the trainer recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from missionctl.errors import UserError
from missionctl.train import cli
from missionctl.train.runs.cli import main
from tests.integration.train.conftest import Trainer


def test_list_and_show_the_runs_under_the_cwd(
    run_tiny: Trainer, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = run_tiny("steps=2", run_id="a-run", init_seed=1)
    run_tiny("steps=50", knobs={"lr": 1e6, "logit_softcap": 0.0, "grad_clip": 0.0}, run_id="b-run")
    assert main([]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "RUN",
        "AGENT",
        "PRESET",
        "STATUS",
        "BUDGET",
        "SEED",
        "STEPS",
        "VAL_BPB",
        "BEST",
        "CREATED",
    ]
    assert table[1].split()[:7] == ["a-run", "-", "cpu-tiny", "ok", "steps=2", "1", "2"]
    assert table[2].split()[:4] == ["b-run", "-", "cpu-tiny", "nan"]
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == ["a-run", "b-run"]
    assert main(["show", "a-run"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "ok" and shown["final_val_bpb"] == first.final_val_bpb
    assert shown["path"] == str(first.path)
    with pytest.raises(UserError, match="no run 'c-run'"):
        main(["show", "c-run"])


def test_cpu_runtime_defaults_leave_a_users_choice_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_DYNAMIC"):
        monkeypatch.delenv(var, raising=False)
    cli.cpu_runtime_defaults()
    assert os.environ["GOMP_SPINCOUNT"] == "10000" and os.environ["MKL_DYNAMIC"] == "FALSE"
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("MKL_DYNAMIC", "TRUE")
    cli.cpu_runtime_defaults()
    assert "GOMP_SPINCOUNT" not in os.environ and os.environ["MKL_DYNAMIC"] == "TRUE"


def test_runs_outside_any_workspace_list_nothing_when_there_are_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
