"""`missionctl exp` and `missionctl ledger` as agents and people use them."""

from __future__ import annotations

import csv
import io
import json
import shlex
import sqlite3
from pathlib import Path

import pytest
import tomli_w

from tests.helpers import run_cli, run_missionctl
from tests.integration.ledger.conftest import BUDGET, Lab, clean_spec

# The experiment as an agent writes it to a file for `missionctl exp new --file`.
EXPERIMENT = tomli_w.dumps(clean_spec())


def _registered(lab: Lab) -> None:
    (lab.root / "exp.toml").write_text(EXPERIMENT)
    code, out, err = run_cli(["exp", "new", "--file", "exp.toml"], cwd=lab.root)
    assert code == 0, err
    assert out.startswith("registered experiment softcap: noninferiority on val_bpb")
    assert "--seed 3 --set logit_softcap=0 --exp softcap --arm nocap" in out


def _rows(lab: Lab) -> tuple[int, int]:
    db = sqlite3.connect(lab.root / ".missionctl" / "ledger.sqlite")
    try:
        return (
            db.execute("SELECT COUNT(*) FROM experiments").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0],
        )
    finally:
        db.close()


def test_register_attach_and_read_the_verdict(lab: Lab) -> None:
    _registered(lab)
    code, out, _ = run_cli(["exp", "plan", "softcap"], cwd=lab.root)
    assert code == 0 and len(out.splitlines()) == 6
    code, out, err = run_cli(
        ["exp", "attach", "softcap", "--arm", "baseline", "base1", "base2", "base3"], cwd=lab.root
    )
    assert code == 0, err
    assert (
        out == "attached to softcap arm baseline: base1 (seed 1), base2 (seed 2), base3 (seed 3)\n"
        "softcap: pending\n"
    )
    code, out, _ = run_cli(["exp", "list"], cwd=lab.root)
    assert out.splitlines()[1].split()[:5] == [
        "softcap",
        "human",
        "noninferiority",
        "3/6",
        "pending",
    ]
    run_cli(
        ["exp", "attach", "softcap", "--arm", "nocap", "nocap1", "nocap2", "nocap3"], cwd=lab.root
    )
    code, out, _ = run_cli(["exp", "plan", "softcap"], cwd=lab.root)
    assert (code, out) == (0, "")
    # As an agent calls it: a real process, JSON on stdout.
    proc = run_missionctl(["exp", "verdict", "softcap", "--json"], cwd=lab.root)
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["decision"] in ("non-inferior", "inferior", "inconclusive")
    assert verdict["arms"]["nocap"]["n"] == 3
    code, out, _ = run_cli(["exp", "show", "softcap"], cwd=lab.root)
    assert code == 0
    assert "SEED  ARM    BASELINE RUN  BASELINE  RUN     VAL_BPB  DIFF" in out
    assert f"softcap: {verdict['decision']}" in out
    code, out, _ = run_cli(["exp", "show", "softcap", "--json"], cwd=lab.root)
    shown = json.loads(out)
    assert shown["verdict"] == verdict and len(shown["runs"]) == 6


def test_an_experiment_from_flags_equals_the_file(lab: Lab) -> None:
    code, _, err = run_cli(
        ["exp", "new", "--id", "softcap", "--question", "Can the logit softcap go without a regression?",
         "--test", "noninferiority", "--margin", "0.01", "--seeds", "1,2,3", "--preset", "cpu-tiny",
         "--budget", BUDGET, "--arm", "baseline", "logit_softcap=15", "--arm", "nocap", "logit_softcap=0"],
        cwd=lab.root,
    )  # fmt: skip
    assert code == 0, err
    from_flags = lab.ledger().experiment("softcap").spec
    (lab.root / "exp.toml").write_text(tomli_w.dumps(clean_spec(id="softcap2")))
    run_cli(["exp", "new", "--file", "exp.toml"], cwd=lab.root)
    from_file = lab.ledger().experiment("softcap2").spec
    assert from_file.arms == from_flags.arms and from_file.threshold == from_flags.threshold
    assert from_file.spec_hash() != from_flags.spec_hash()  # only the id differs


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["exp", "verdict", "nope"], "unknown experiment 'nope'; `missionctl exp list` shows"),
        (["exp", "show", "nope"], "unknown experiment 'nope'"),
        (["exp", "plan", "nope"], "unknown experiment 'nope'"),
        (["exp", "attach", "nope", "--arm", "baseline", "base1"], "unknown experiment 'nope'"),
        (
            ["exp", "attach", "softcap", "--arm", "fast", "base1"],
            "experiment 'softcap' has no arm 'fast'; its arms are baseline, nocap",
        ),
        (["exp", "attach", "softcap", "--arm", "baseline", "no-such-run"], "no run 'no-such-run'"),
        (
            ["exp", "attach", "softcap", "--arm", "baseline", "../etc"],
            "run id '../etc' is not allowed",
        ),
        (
            ["exp", "attach", "softcap", "--arm", "baseline", "base1", "nocap2"],
            "config: run nocap2 has logit_softcap=0, but arm baseline sets logit_softcap=15",
        ),
        (["exp", "new", "--file", "missing.toml"], "missing.toml does not exist"),
        (["exp", "new", "--file", "bad.toml"], "bad.toml: not valid TOML"),
        (["exp", "new", "--file", "exp.toml"], "experiment 'softcap' already exists"),
        (
            shlex.split(
                "exp new --id x --question q --test noninferiority --margin 0 --seeds 1,2 --preset cpu-tiny --budget steps=4 --arm baseline --arm b lr=0.1"
            ),
            "--margin: must be greater than 0, not 0",
        ),
        (
            shlex.split(
                "exp new --id x --question q --test noninferiority --margin -0.01 --seeds 1,2 --preset cpu-tiny --budget steps=4 --arm baseline --arm b lr=0.1"
            ),
            "--margin: must be greater than 0",
        ),
        (
            shlex.split(
                "exp new --id x --question q --test noninferiority --margin 0.01 --seeds 1 --preset cpu-tiny --budget steps=4 --arm baseline --arm b lr=0.1"
            ),
            "--seeds: 1 seed cannot measure noise; declare at least 2",
        ),
        (
            shlex.split(
                "exp new --id x --question q --test noninferiority --margin 0.01 --seeds 1,x"
            ),
            "--seeds '1,x' is not a list of whole numbers",
        ),
        (
            shlex.split(
                "exp new --id x --question q --test superiority --min-effect 0.01 --seeds 1,2 --preset cpu-tiny --budget steps=4 --arm baseline --arm b lr=0.1 --supersedes ghost"
            ),
            "supersedes: there is no experiment 'ghost'",
        ),
        (["exp", "new", "--id", "x"], "exp new needs --question"),
        (
            ["exp", "new", "--file", "exp.toml", "--id", "y"],
            "give the experiment in --file or in flags, not both",
        ),
        (["exp", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["ledger", "export"], "one of the arguments --csv --json is required"),
        (["ledger", "compare", "base1", "--vs", "ghost"], "no run 'ghost'"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(
    lab: Lab, argv: list[str], needle: str
) -> None:
    _registered(lab)
    (lab.root / "bad.toml").write_text("id = \n")
    before = _rows(lab)
    code, out, err = run_cli(argv, cwd=lab.root)
    assert code == 2 and out == ""
    assert err.startswith("missionctl: ") and err.count("\n") == 1 and needle in err, err
    assert "Traceback" not in err
    assert _rows(lab) == before


def test_an_experiment_is_immutable_once_a_run_is_attached(lab: Lab) -> None:
    _registered(lab)
    (lab.root / "exp.toml").write_text(tomli_w.dumps(clean_spec(margin=0.02)))
    code, _, err = run_cli(["exp", "new", "--file", "exp.toml", "--replace"], cwd=lab.root)
    assert code == 0, err  # no run yet: a correction is allowed
    assert lab.ledger().experiment("softcap").spec.margin == 0.02
    run_cli(["exp", "attach", "softcap", "--arm", "baseline", "base1"], cwd=lab.root)
    code, _, err = run_cli(["exp", "new", "--file", "exp.toml", "--replace"], cwd=lab.root)
    assert code == 2 and "has 1 run attached and cannot change" in err
    assert 'supersedes = "softcap"' in err
    successor = clean_spec(id="softcap-v2", supersedes="softcap", margin=0.02)
    (lab.root / "exp.toml").write_text(tomli_w.dumps(successor))
    code, _, err = run_cli(["exp", "new", "--file", "exp.toml"], cwd=lab.root)
    assert code == 0, err
    code, out, _ = run_cli(["exp", "list", "--json"], cwd=lab.root)
    listed = {e["id"]: e for e in json.loads(out)}
    assert listed["softcap-v2"]["supersedes"] == "softcap"
    assert (listed["softcap"]["runs_done"], listed["softcap"]["runs_declared"]) == (1, 6)


def test_export_as_csv_and_json(lab: Lab, tmp_path: Path) -> None:
    _registered(lab)
    run_cli(
        ["exp", "attach", "softcap", "--arm", "baseline", "base1", "base2", "base3"], cwd=lab.root
    )
    run_cli(
        ["exp", "attach", "softcap", "--arm", "nocap", "nocap1", "nocap2", "nocap3"], cwd=lab.root
    )
    code, out, _ = run_cli(["ledger", "export", "--csv"], cwd=lab.root)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 6
    assert {r["run_id"] for r in rows} == {"base1", "base2", "base3", "nocap1", "nocap2", "nocap3"}
    nocap = [r for r in rows if r["arm"] == "nocap"]
    assert all(r["arm_mean_diff"] and r["arm_ci_low"] and r["arm_p"] for r in nocap)
    assert all(r["used"] == "True" and float(r["value"]) > 0 for r in rows)
    target = tmp_path / "ledger.json"
    code, out, _ = run_cli(["ledger", "export", "--json", "--out", str(target)], cwd=lab.root)
    assert code == 0 and out == f"wrote {target}\n"
    data = json.loads(target.read_text())
    (exp,) = data["experiments"]
    assert exp["spec"]["arms"]["nocap"]["set"] == {"logit_softcap": 0.0}
    assert len(exp["runs"]) == 6 and exp["verdict"]["decision"] == rows[0]["decision"]


def test_compare_bare_runs_says_why_no_conclusion_follows(lab: Lab) -> None:
    code, out, _ = run_cli(["ledger", "compare", "base1", "--vs", "hot1", "--json"], cwd=lab.root)
    assert code == 0
    result = json.loads(out)
    assert {d["key"] for d in result["config_differences"]} == {"grad_clip", "logit_softcap", "lr"}
    assert result["seeds"] == {"baseline": [1], "treatment": [1]}
    assert result["budget_ratio"]["flops"] < 0.99  # the diverged run stopped early
    kinds = [r.split(":")[0] for r in result["reasons"]]
    assert kinds[:3] == ["config", "budget", "seeds"] and kinds[-1] == "prereg"
    assert any(r.startswith("nan: run hot1 diverged") for r in result["reasons"])
    # Two clean sides of one knob: still no verdict without an experiment.
    code, out, _ = run_cli(
        ["ledger", "compare", "base1", "base2", "--vs", "nocap1", "nocap2"], cwd=lab.root
    )
    assert out.splitlines()[-1].startswith("- prereg: a comparison of bare runs decides nothing")
    assert "- config:" not in out
