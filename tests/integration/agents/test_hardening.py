"""Hostile agents and careless users against a real hub (issue: hardening).

Each test reproduces a way the org once broke: a mail notice that ran a shell's
half-typed line, an agent pinning another's state, one bad state file stopping
everyone's mail, two `up`s racing, `missionctl` missing from a shell's PATH,
files others could write, and mail sent in another's name.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libtmux
import pytest

from missionctl.agents.org.hub import Hub
from missionctl.mailbox import Mailbox
from tests.helpers import never, run_missionctl, shell_agents, wait_for

HubFactory = Callable[..., Hub]


def _screen(hub: Hub, agent: str) -> str:
    return hub.tmux.capture(f"=hub:{agent}")


def _idle(hub: Hub, agent: str) -> None:
    wait_for(lambda: {s.name: s.state.name for s in hub.statuses()}[agent] == "idle",
             timeout=20, message=f"{agent} idle")  # fmt: skip


def _type(hub: Hub, agent: str, *keys: str) -> None:
    hub.tmux.run("send-keys", "-t", f"=hub:{agent}", *keys)


def test_a_mail_notice_never_runs_a_shells_half_typed_line(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1))
    hub.up()
    _idle(hub, "a1")
    worktree = hub.ws.worktree("a1")
    _type(hub, "a1", "-l", "touch CANARY ")  # typed by a person, not yet run
    wait_for(lambda: "touch CANARY" in _screen(hub, "a1"))
    Mailbox.for_workspace(hub.ws).send("human", "a1", "hello", subject="x; touch EVIL")
    wait_for(lambda: "[missionctl] 1 new message from human" in _screen(hub, "a1"),
             timeout=15, message="the notice printed")  # fmt: skip
    # An Enter would have run it by now.
    never(lambda: (worktree / "CANARY").exists() or (worktree / "EVIL").exists(), seconds=0.5)


def test_a_notice_at_an_open_quote_runs_nothing(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1))
    hub.up()
    _idle(hub, "a1")
    worktree = hub.ws.worktree("a1")
    _type(hub, "a1", "-l", 'echo "')
    _type(hub, "a1", "Enter")  # PS2: the shell waits for the closing quote
    wait_for(lambda: _screen(hub, "a1").rstrip().endswith(">"), message="the PS2 prompt")
    Mailbox.for_workspace(hub.ws).send("human", "a1", "b", subject='"; touch X; echo ')
    wait_for(lambda: "touch X" in _screen(hub, "a1"), timeout=15, message="the notice printed")
    _type(hub, "a1", "-l", '"')
    _type(hub, "a1", "Enter")  # the person closes the quote: only their echo runs
    wait_for(lambda: (hub.ws.state_dir / "a1.json").exists())
    never(lambda: (worktree / "X").exists(), seconds=0.5)


def test_an_agent_cannot_report_another_agents_state(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    _idle(hub, "a1")
    before = wait_for(lambda: (h := hub.states.hook("a2")) and h.state == "idle" and h,
                      message="a2's own idle report")  # fmt: skip
    _type(hub, "a1", "-l",
          "MISSIONCTL_AGENT=a2 missionctl hook working --agent a2 --ts 1e300; touch done")  # fmt: skip
    _type(hub, "a1", "Enter")
    wait_for(lambda: (hub.ws.worktree("a1") / "done").exists())
    wait_for(lambda: "refused: a1 reported as a2" in
             (hub.ws.logs_dir / "hook.log").read_text(), message="the refusal logged")  # fmt: skip
    assert hub.states.hook("a2") == before
    _idle(hub, "a2")


def test_one_malformed_state_file_stops_nobody_else(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    _idle(hub, "a1")
    # a2's own reports are in, so nothing of its own rewrites the files broken below.
    wait_for(lambda: (h := hub.states.hook("a2")) is not None and h.state == "idle")
    for suffix, text in ((".json", "{oops"), (".proc.json", '{"wrapper_pid": "x"}'),
                         (".notices.json", "[]")):  # fmt: skip
        (hub.ws.state_dir / f"a2{suffix}").write_text(text)
    proc = run_missionctl(["status"], cwd=hub.ws.root)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "a1" in proc.stdout and "a2" in proc.stdout
    Mailbox.for_workspace(hub.ws).send("human", "a1", "still here", subject="for a1")
    wait_for(lambda: "for a1" in _screen(hub, "a1"), timeout=15, message="a1's notice")
    log = (hub.ws.logs_dir / "supervisor.log").read_text()
    for name in ("a2.json", "a2.proc.json"):
        assert log.count(f"{name}:") == 1, log  # said once, not 4 times a second
    assert "supervisor error" not in log and "Traceback" not in log


def test_two_ups_at_once_start_exactly_one_copy(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(3))
    for _trial in range(3):
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: run_missionctl(["up"], cwd=hub.ws.root), range(2)))
        assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
        session = libtmux.Server(socket_name=hub.ws.socket_name).sessions.get(session_name="hub")
        assert [w.window_name for w in session.windows] == ["supervisor", "a1", "a2", "a3"]
        assert sum("a1: already running" in r.stdout for r in runs) == 1
        hub.down(grace=1.0)


def test_missionctl_is_on_the_path_of_a_shell_agent(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1))
    hub.up()
    _idle(hub, "a1")
    _type(hub, "a1", "-l", "command -v missionctl > where.txt")  # /etc/profile resets PATH
    _type(hub, "a1", "Enter")
    where = hub.ws.worktree("a1") / "where.txt"
    wait_for(lambda: where.exists() and where.read_text().strip())
    assert where.read_text().strip() == str(Path(sys.executable).with_name("missionctl"))


def test_runtime_files_are_private_whatever_the_umask(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1))
    old = os.umask(0)
    try:
        hub.up()
        _idle(hub, "a1")
    finally:
        os.umask(old)
    for path in (hub.ws.tmux_conf, hub.ws.hooks_dir / "shell-a1.bashrc",
                 hub.ws.state_dir / "a1.json", hub.ws.state_dir / "a1.proc.json"):  # fmt: skip
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (hub.ws.state_dir, hub.ws.hooks_dir, hub.ws.logs_dir):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder


def test_an_agent_cannot_send_mail_as_another_the_human_or_the_supervisor(
    hub_factory: HubFactory,
) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    _idle(hub, "a1")
    lines = [
        "MISSIONCTL_AGENT=human missionctl mail send --to a2 forged 2> err-human.txt",
        "MISSIONCTL_AGENT=supervisor missionctl mail send --to a2 forged 2> err-sup.txt",
        "env -u MISSIONCTL_AGENT missionctl mail send --to a2 --subject mine honest",
        "touch done",
    ]
    for line in lines:
        _type(hub, "a1", "-l", line)
        _type(hub, "a1", "Enter")
    worktree = hub.ws.worktree("a1")
    wait_for(lambda: (worktree / "done").exists(), timeout=20)
    mail = Mailbox.for_workspace(hub.ws).inbox("a2")
    assert [(m.sender, m.subject) for m in mail] == [("a1", "mine")]
    for err in ("err-human.txt", "err-sup.txt"):
        text = (worktree / err).read_text()
        assert "runs in agent 'a1'" in text and "Traceback" not in text


def test_the_supervisor_dying_shows_in_status(hub_factory: HubFactory) -> None:
    hub = hub_factory(shell_agents(1))
    hub.up()
    pane = next(p for p in hub.tmux.panes() if p.window == "supervisor")
    subprocess.run(["kill", "-9", str(pane.pid)], check=True)
    wait_for(lambda: hub.supervisor_state().is_exited, message="the supervisor's pane dead")
    proc = run_missionctl(["status", "--json"], cwd=hub.ws.root)
    data = json.loads(proc.stdout)
    assert data["supervisor"]["state"] == "exited(137)"
    text = run_missionctl(["status"], cwd=hub.ws.root).stdout
    assert "the supervisor has died (exited(137))" in text
    assert dict(hub.up())["supervisor"] == "restarted"


@pytest.mark.slow
def test_a_killed_tmux_server_leaves_nothing_behind(hub_factory: HubFactory) -> None:
    """kill -9 of the hub's tmux server under 4 agents, each training; agents that ignore
    SIGHUP once lived on as orphans, and `up` then started a second copy."""
    from tests.helpers import processes_of

    hub = hub_factory(shell_agents(4), extra="[runs]\nmax_concurrent = 4\n")
    hub.up()
    train = (f"trap '' HUP; {sys.executable} -m missionctl.train --preset cpu-tiny "
             "--budget steps=1000000 --threads 1")  # fmt: skip
    for i in range(1, 5):
        _idle(hub, f"a{i}")
        _type(hub, f"a{i}", "-l", train)
        _type(hub, f"a{i}", "Enter")
    wait_for(lambda: len(list(hub.ws.runs_dir.glob("*/metrics.jsonl"))) == 4, timeout=60,
             message="four runs training")  # fmt: skip
    server_pid = int(hub.tmux.run("display-message", "-p", "#{pid}").strip())
    os.kill(server_pid, 9)
    wait_for(lambda: not hub.tmux.server_running(), message="the server gone")
    assert hub.leftovers(), "the wrappers outlive their server"
    status = run_missionctl(["status"], cwd=hub.ws.root).stdout
    assert "left running by a hub that died" in status
    down = run_missionctl(["down", "--grace", "2"], cwd=hub.ws.root)
    assert down.returncode == 0 and "left running by a hub that died" in down.stdout
    wait_for(lambda: not processes_of(hub.ws.root), timeout=15, message="no process left")
    hub.up()

    def wrappers() -> list[str]:
        found = [
            p
            for p in processes_of(hub.ws.root)
            if "missionctl.agents.process.wrapper" in p.cmdline()
        ]
        return sorted(p.cmdline()[-1] for p in found)

    wait_for(lambda: len(wrappers()) >= 4, message="the agents started again")
    assert wrappers() == ["a1", "a2", "a3", "a4"]  # one copy each, never two
