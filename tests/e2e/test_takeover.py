"""Takeover for real: the app runs in an outer tmux; Enter shows the agent, C-] brings the grid back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from missionctl.agents.org.hub import Hub
from tests.helpers import shell_agents, wait_for

FOOTER = "Take over"  # the grid's footer: the app is on screen


class Outer:
    """A second tmux server, standing in for the user's terminal."""

    def __init__(self, socket: str, cwd: Path, config: Path) -> None:
        self.socket = socket
        self.cwd = cwd
        self.config = config

    def tmux(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True, text=True, timeout=10, check=True, env=env,
        ).stdout  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "=term:0")


@pytest.fixture
def outer(tmux_tmpdir: Path, workspace: Path, tmp_path: Path) -> Iterator[Outer]:
    config = tmp_path / "outer.conf"
    config.write_text("set -g remain-on-exit on\nset -g status off\n")  # keep the last screen
    term = Outer(f"outer-{os.getpid()}", workspace, config)
    yield term
    subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True, check=False)


def test_takeover_round_trip_twice(hub_factory: Callable[..., Hub], outer: Outer) -> None:
    hub = hub_factory(shell_agents(3))
    hub.up()
    hub.tmux.run("send-keys", "-t", "=hub:a2", "echo only-on-a2", "Enter")
    app = f"{sys.executable} -m missionctl app --no-start"
    outer.tmux("new-session", "-d", "-s", "term", "-x", "150", "-y", "45", "-c", str(outer.cwd),
               "-e", f"TMUX_TMPDIR={os.environ['TMUX_TMPDIR']}", app)  # fmt: skip
    wait_for(lambda: FOOTER in outer.screen() and "a3" in outer.screen(), timeout=30,
             message="the grid")  # fmt: skip

    for round_trip in (1, 2):
        outer.tmux("send-keys", "-t", "=term:0", "2")
        outer.tmux("send-keys", "-t", "=term:0", "Enter")
        # The outer terminal now shows a2's own screen, full size, and not the grid.
        wait_for(lambda: "only-on-a2" in outer.screen() and FOOTER not in outer.screen(),
                 timeout=15, message=f"a2's screen (round {round_trip})")  # fmt: skip
        assert hub.states.taken_over("a2")  # the supervisor types nothing meanwhile
        width = int(hub.tmux.run("display-message", "-p", "-t", "=hub:a2", "#{window_width}"))
        assert width == 150  # the window follows the terminal during takeover
        outer.tmux("send-keys", "-t", "=term:0", "C-]")
        wait_for(lambda: FOOTER in outer.screen(), timeout=15,
                 message=f"the grid again (round {round_trip})")  # fmt: skip
        assert not hub.states.taken_over("a2")
        # Back in the grid, a2's window is sized to its cell again.
        wait_for(lambda: int(hub.tmux.run("display-message", "-p", "-t", "=hub:a2",
                                          "#{window_width}")) < 150)  # fmt: skip

    outer.tmux("send-keys", "-t", "=term:0", "q")
    wait_for(lambda: "keeps running" in outer.screen(), message="the goodbye")
    assert hub.is_up() and not any(s.state.is_exited for s in hub.statuses())


def test_killing_the_app_leaves_the_org_and_a_new_app_reattaches(
    hub_factory: Callable[..., Hub], outer: Outer
) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    wait_for(lambda: all(s.pid for s in hub.statuses()), message="the agents' processes")
    agents = {s.name: s.pid for s in hub.statuses()}
    app = f"{sys.executable} -m missionctl app --no-start"
    outer.tmux("new-session", "-d", "-s", "term", "-x", "150", "-y", "45", "-c", str(outer.cwd),
               "-e", f"TMUX_TMPDIR={os.environ['TMUX_TMPDIR']}", app)  # fmt: skip
    wait_for(lambda: FOOTER in outer.screen(), timeout=30, message="the grid")
    app_pid = int(outer.tmux("display-message", "-p", "-t", "=term:0", "#{pane_pid}"))
    os.kill(app_pid, 9)
    wait_for(
        lambda: outer.tmux("display-message", "-p", "-t", "=term:0", "#{pane_dead}").strip() == "1"
    )
    # The org did not notice.
    assert {s.name: s.pid for s in hub.statuses()} == agents
    assert all(not s.state.is_exited for s in hub.statuses())
    # A new app finds it and streams it again.
    hub.tmux.run("send-keys", "-t", "=hub:a2", "echo after-the-crash", "Enter")
    outer.tmux("respawn-pane", "-t", "=term:0", app)
    wait_for(lambda: FOOTER in outer.screen() and "after-the-crash" in outer.screen(),
             timeout=30, message="the grid with a2's new output")  # fmt: skip
