"""The offline demo org end to end: real agents, real runs, real mail, a verdict, a clean stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from missionctl.agents.demo.workspace import verdict
from missionctl.mailbox import Mailbox
from missionctl.train.runs.reader import list_runs
from missionctl.workspace import Workspace
from tests.helpers import processes_of, run_missionctl, wait_for

SHORT_PLAN = ["--preset", "cpu-tiny", "--seeds", "1,2"]


def test_demo_without_the_app_answers_the_question(tmp_path: Path, tmux_tmpdir: Path) -> None:
    root = tmp_path / "demo"
    proc = run_missionctl(
        ["demo", str(root), "--no-app", *SHORT_PLAN, "--researchers", "3", "--wait", "300"],
        cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "INCONCLUSIVE" in proc.stdout or "NON-INFERIOR" in proc.stdout or "WORSE" in proc.stdout
    ws = Workspace(root)
    try:
        # Every run ended ok, and every researcher ran some.
        runs = list_runs(ws)
        assert len(runs) == 5  # 2 seeds x 2 arms + 1 rerun
        assert {r.status for r in runs} == {"ok"}
        assert {r.agent for r in runs} == {"r1", "r2", "r3"}
        by_id = {r.run_id: r for r in runs}

        # Every task has a result reply citing a real run of that task.
        box = Mailbox.for_workspace(ws)
        tasks = [e.message for name in ("r1", "r2", "r3")
                 for e in box.envelopes(name, include_read=True) if e.message.kind == "task"]  # fmt: skip
        replies = {e.message.reply_to: e.message for e in box.envelopes("chief", include_read=True)
                   if e.message.kind == "result"}  # fmt: skip
        assert len(tasks) == 5
        for task in tasks:
            reply = replies[task.id]
            assert reply.sender == task.to and len(reply.runs) == 1
            run = by_id[reply.runs[0]]
            assert run.agent == task.to
            assert f"--seed {run.seed}" in task.body

        # The verdict reached the human and cites every run.
        summary = verdict(ws)
        assert summary is not None and summary.sender == "chief"
        assert set(summary.runs) == set(by_id)
        assert "95% CI" in summary.body
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

    command = f"{sys.executable} -m missionctl demo {root} {' '.join(SHORT_PLAN)}"
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
            strip = re.search(r"run …\w{4} \d+/\d+ \d+%", screen)
            return cells == 8 and strip is not None

        wait_for(grid_ok, timeout=90, message="eight cells and a live metrics strip")
        outer("send-keys", "-t", "=t:0", "q")
        wait_for(lambda: "keeps running" in outer("capture-pane", "-p", "-t", "=t:0"))
    finally:
        subprocess.run(["tmux", "-L", term, "kill-server"], capture_output=True, check=False)
        if root.exists():
            run_missionctl(["down"], cwd=root)
    assert wait_for(lambda: not processes_of(root), message="no process left behind")
