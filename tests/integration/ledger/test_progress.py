"""`missionctl progress`: the best verdict-backed metric against time and compute, labelled.

Three decided experiments built from copies of real runs whose end times and
values are edited on purpose, so the expected curve is known exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from missionctl.ledger.changes import changes
from missionctl.ledger.progress import chart, progress
from tests.helpers import run_cli
from tests.integration.ledger.conftest import GIT_IDENTITY, SEEDS, Lab, clean_spec

HOUR = 3600.0
# experiment -> (its runs' value, hours after the first run started that it ends)
PLAN = {"first": (3.30, 1.0), "better": (3.20, 2.0), "worse": (3.25, 3.0)}


def _decided(lab: Lab) -> float:
    """Register the three A/A experiments (decided non-inferior: identical arms); return
    the start time of the earliest run."""
    origin = min(lab.event(f"base{s}", "start")["t"] for s in SEEDS)
    with lab.ledger() as ledger:
        for exp_id, (value, hours) in PLAN.items():
            arms = {"baseline": {"set": {"logit_softcap": 15}},
                    "same": {"set": {"logit_softcap": 15}}}  # fmt: skip
            ledger.register(clean_spec(id=exp_id, arms=arms))
            for arm in arms:
                ids = []
                for s in SEEDS:
                    run = lab.copy_run(f"base{s}", f"{exp_id}-{arm}{s}")
                    end = origin + hours * HOUR + s  # the last seed ends last
                    lab.edit(run, "end", t=end, final_val_bpb=value + s / 1000)
                    ids.append(run)
                ledger.attach(exp_id, arm, ids)
    return float(origin)


def _commit_org(lab: Lab, when: float) -> str:
    (lab.root / "org" / "program.md").write_text("# the program, version 2\n")
    env = {**os.environ, "GIT_COMMITTER_DATE": f"@{int(when)} +0000",
           "GIT_AUTHOR_DATE": f"@{int(when)} +0000"}  # fmt: skip
    for args in (["add", "org"], ["commit", "-q", "-m", "org v2"]):
        subprocess.run(["git", *GIT_IDENTITY, "-C", str(lab.root), *args], env=env, check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    return subprocess.run(["git", "-C", str(lab.root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()  # fmt: skip


def test_three_decided_experiments_draw_the_right_steps(lab: Lab, tmp_path: Path) -> None:
    origin = _decided(lab)
    old_org = subprocess.run(["git", "-C", str(lab.root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    new_org = _commit_org(lab, origin + 1.5 * HOUR)
    with lab.ledger() as ledger:
        data = progress(ledger, now=origin + 4 * HOUR)
        started = min(f.created or f.started or origin for f in ledger.run_facts(
            p.name for p in lab.runs.iterdir()).values())  # fmt: skip
    assert [p.experiment for p in data.points] == ["first", "better", "worse"]
    assert [p.label for p in data.points] == ["A", "B", "C"]
    assert [p.decision for p in data.points] == ["non-inferior"] * 3
    # Each backs the mean of its runs; only "first" and "better" move the best (lower).
    for point, (value, _) in zip(data.points, PLAN.values(), strict=True):
        assert point.value == pytest.approx(value + sum(SEEDS) / len(SEEDS) / 1000)
    assert [p.best for p in data.points] == [True, True, False]
    assert [p.experiment for p in data.steps] == ["first", "better"]
    # Decided when the last counted run ended; hours since the org's first run.
    for point, (_, hours) in zip(data.points, PLAN.values(), strict=True):
        assert point.at == pytest.approx(origin + hours * HOUR + max(SEEDS))
        assert point.hours == pytest.approx((point.at - started) / HOUR)
    # Compute grows with each verdict (the edited runs "ran" for hours); CPU runs here.
    assert data.compute_unit == "CPU-hours"
    hours = [p.compute_hours for p in data.points]
    assert hours[0] > 2 * 1.0 * len(SEEDS) * 0.9 and hours[0] < hours[1] < hours[2]
    # The org's code in force: the first verdict under the first org, the rest under v2.
    assert [p.org_commit for p in data.points] == [old_org, new_org, new_org]

    lines = chart(data, "hours", width=60, height=10)
    text = "\n".join(lines)
    assert lines[0].startswith("best val_bpb backed by a decided verdict")
    assert "*A 3.3020  first: non-inferior (same)" in text
    assert "*B 3.2020  better: non-inferior (same)" in text
    assert " C 3.2520  worse: non-inferior (same)" in text and f"org@{new_org}" in text
    plot = [ln.split("┤", 1)[1] for ln in lines if "┤" in ln]
    # Higher values are higher up: A (3.302) above C (3.252) above B (3.202), left to right.
    row = {c: next(i for i, ln in enumerate(plot) if c in ln) for c in "ABC"}
    col = {c: plot[row[c]].index(c) for c in "ABC"}
    assert row["A"] < row["C"] < row["B"] and col["A"] < col["B"] < col["C"]
    assert "─" in plot[row["B"]][col["B"] :]  # the best holds to the right edge

    picture = tmp_path / "progress.png"
    code, out, err = run_cli(["progress", "--out", str(picture), "--axis", "compute"], cwd=lab.root)
    assert code == 0, err
    assert "CPU-hours" in out and f"wrote {picture}" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    code, out, _ = run_cli(["progress", "--json"], cwd=lab.root)
    assert [p["experiment"] for p in json.loads(out.split("\nwrote")[0])["points"]] == [
        "first",
        "better",
        "worse",
    ]


def test_no_decided_experiment_draws_nothing_and_bad_pictures_are_refused(
    lab: Lab, tmp_path: Path
) -> None:
    code, out, _ = run_cli(["progress"], cwd=lab.root)
    assert code == 0 and "no decided experiment yet" in out
    code, _, err = run_cli(["progress", "--out", str(tmp_path / "x.png")], cwd=lab.root)
    assert code == 2 and "no decided experiment yet" in err
    _decided(lab)
    code, _, err = run_cli(["progress", "--out", str(tmp_path / "x.gif")], cwd=lab.root)
    assert code == 2 and "must be a .png, .svg or .pdf" in err
    assert not (tmp_path / "x.gif").exists()


def test_changes_since_a_time_name_what_moved(lab: Lab) -> None:
    origin = _decided(lab)
    with lab.ledger() as ledger:
        span = changes(ledger, since=origin + 1.5 * HOUR, until=origin + 2.5 * HOUR)
        later = changes(ledger, since=0.0, until=origin + 9 * HOUR, previous=span.decisions)
    assert span.decided == {"better": "non-inferior"}  # its last run ended in the span
    assert later.decided == {}  # nothing changed since the decisions remembered then
    assert span.compute_unit == "CPU-hours" and span.compute_hours > 0
    assert any(line.startswith("verdicts reached: better non-inferior") for line in span.lines())
