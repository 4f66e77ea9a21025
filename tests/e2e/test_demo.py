"""The offline demo org end to end: real agents, real runs, real mail, a verdict, a clean stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from missionctl.agents.demo.scripted.plan import EXPERIMENT
from missionctl.agents.demo.workspace import verdict as verdict_mail
from missionctl.ledger import Ledger
from missionctl.mailbox import Mailbox
from missionctl.train.runs.reader import list_runs
from missionctl.workspace import Workspace
from tests.helpers import processes_of, run_missionctl, wait_for

# Four seeds of cpu-tiny: its paired-difference sd (0.012, 1 thread) puts the 90%
# interval at about ±0.014 around a mean near -0.008, well below the 0.01 margin.
SHORT_PLAN = ["--preset", "cpu-tiny", "--seeds", "1,2,3,4"]


def test_demo_without_the_app_answers_the_question(tmp_path: Path, tmux_tmpdir: Path) -> None:
    root = tmp_path / "demo"
    proc = run_missionctl(
        ["demo", str(root), "--no-app", *SHORT_PLAN, "--researchers", "3", "--wait", "300"],
        cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ws = Workspace(root)
    try:
        with Ledger.open(ws) as ledger:
            verdict = ledger.verdict(EXPERIMENT)
            attached = {a.run_id: a for a in ledger.attachments(EXPERIMENT)}
            claims = ledger.claims()
        # Decided, on every declared run, and the chief's mail quotes it.
        assert verdict.decision in ("non-inferior", "inferior"), verdict.reasons
        assert len(verdict.used_runs) == 8 and set(verdict.used_runs) == set(attached)
        assert f"{EXPERIMENT}: {verdict.decision}" in proc.stdout

        runs = {r.run_id: r for r in list_runs(ws)}
        assert {r.status for r in runs.values()} == {"ok"}
        assert {r.agent for r in runs.values()} == {"r1", "r2", "r3"}
        # The classic mistake: r3's own run, bigger and on twice the budget, never attached.
        (big,) = [r for r in runs.values() if r.run_id not in attached]
        assert big.agent == "r3" and big.config["width"] == 192 and big.seed == 1
        assert big.budget == "flops=3e+11"

        box = Mailbox.for_workspace(ws)
        # Every task has a result reply citing a run of that task.
        tasks = [e.message for name in ("r1", "r2", "r3")
                 for e in box.envelopes(name, include_read=True) if e.message.kind == "task"]  # fmt: skip
        replies = {e.message.reply_to: e.message for e in box.envelopes("chief", include_read=True)
                   if e.message.kind == "result" and e.message.sender != "supervisor"}  # fmt: skip
        assert len(tasks) == 8
        for task in tasks:
            reply = replies[task.id]
            assert reply.sender == task.to and len(reply.runs) == 1
            run = attached[reply.runs[0]]
            assert runs[run.run_id].agent == task.to
            assert f"--seed {run.seed}" in task.body and f"--arm {run.arm}" in task.body

        # r3 claimed it; the ledger's answer reached r3 and the chief within 10 s.
        (claim,) = [e.message for e in box.envelopes("chief", include_read=True)
                    if e.message.kind == "claim"]  # fmt: skip
        assert (
            claim.sender == "r3" and claim.experiment == EXPERIMENT and claim.runs == (big.run_id,)
        )
        answers = [e.message for name in ("r3", "chief") for e in box.envelopes(name, True)
                   if e.message.reply_to == claim.id]  # fmt: skip
        assert {a.to for a in answers} == {"r3", "chief"}
        answer = answers[0]
        assert answer.sender == "supervisor" and "refused (confounded)" in answer.subject
        assert (answer.time - claim.time).total_seconds() < 10
        assert f"budget: run {big.run_id} has budget flops=3e+11" in answer.body
        assert "outside the declared knobs (logit_softcap): width=192" in answer.body
        assert "seeds: the claim rests on 1 run of seed 1" in answer.body
        assert [(c.claim.id, c.decision) for c in claims] == [(claim.id, "confounded")]

        # The verdict reached the human: the ledger's words, the refused claim, every run.
        summary = verdict_mail(ws)
        assert summary is not None and summary.sender == "chief"
        assert set(summary.runs) == set(attached)
        assert f"  {EXPERIMENT}: {verdict.decision}" in summary.body
        assert (
            "Claims the ledger refused" in summary.body and "REFUSED (confounded)" in summary.body
        )
        assert all(run_id in summary.body for run_id in attached)
    finally:
        down = run_missionctl(["down"], cwd=root)
    assert down.returncode == 0
    assert wait_for(lambda: not processes_of(root), message="no process left behind")
    assert (
        "no server"
        in subprocess.run(
            ["tmux", "-L", ws.socket_name, "ls"], capture_output=True, text=True, check=False
        ).stderr
    )


def test_demo_with_the_app_shows_eight_cells_and_live_metrics(
    tmp_path: Path, tmux_tmpdir: Path
) -> None:
    root = tmp_path / "demo"
    term = f"term-{os.getpid()}"
    conf = tmp_path / "outer.conf"
    conf.write_text("set -g status off\nset -g remain-on-exit on\n")

    def outer(*args: str) -> str:
        return subprocess.run(["tmux", "-L", term, "-f", str(conf), *args], capture_output=True,
                              text=True, timeout=10, check=True).stdout  # fmt: skip

    # The pane's shell exports the 80x24 it starts at as COLUMNS and LINES, which
    # Textual takes over the real 200x60: at 80x24 eight agents page, two to a page.
    plan = " ".join(SHORT_PLAN)
    command = f"env -u COLUMNS -u LINES {sys.executable} -m missionctl demo {root} {plan}"
    outer("new-session", "-d", "-s", "t", "-x", "200", "-y", "60", "-c", str(tmp_path),
          "-e", f"TMUX_TMPDIR={tmux_tmpdir}", command)  # fmt: skip
    try:
        names = ["chief", *[f"r{i}" for i in range(1, 8)]]

        def grid_ok() -> bool:
            screen = outer("capture-pane", "-p", "-t", "=t:0")
            headers = [line for line in screen.splitlines()
                       if re.search(r"\b(WORKING|IDLE|STARTING|NEEDS-YOU|UNKNOWN)\b", line)]  # fmt: skip
            cells = sum(len(re.findall(rf"\d {n} (WORKING|IDLE|STARTING|NEEDS-YOU|UNKNOWN) ", "\n".join(headers)))
                        for n in names)  # fmt: skip
            # A live run: its id, its experiment/arm (all but the classic mistake's), its steps.
            strip = re.search(r"run …\w{4} ([\w.-]+/[\w.-]+ )?\d+/\d+ \d+%", screen)
            return cells == 8 and strip is not None

        wait_for(grid_ok, timeout=90, message="eight cells and a live metrics strip")
        outer("send-keys", "-t", "=t:0", "q")
        wait_for(lambda: "keeps running" in outer("capture-pane", "-p", "-t", "=t:0"))
    finally:
        subprocess.run(["tmux", "-L", term, "kill-server"], capture_output=True, check=False)
        if root.exists():
            run_missionctl(["down"], cwd=root)
    assert wait_for(lambda: not processes_of(root), message="no process left behind")
