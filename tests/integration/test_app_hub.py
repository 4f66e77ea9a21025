"""The app against a real hub of shell agents: live screens, and keys that act on processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psutil
from textual.pilot import Pilot

from missionctl.agents.org.facade import Org
from missionctl.agents.org.hub import Hub
from missionctl.agents.process import tree as proctree
from missionctl.agents.tmux.client import ControlClient
from missionctl.tui.app import MissionControlApp
from tests.helpers import shell_agents


async def until(pilot: Pilot[None], what: Callable[[], object], timeout: float = 10.0) -> float:
    """Run the app until `what()` holds; return how long it took."""
    start = time.monotonic()
    while not what():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.005)
    return time.monotonic() - start


def _tty(hub: Hub, agent: str) -> str:
    return hub.tmux.run("display-message", "-p", "-t", f"=hub:{agent}", "#{pane_tty}").strip()


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.NoSuchProcess:
        return ""


def _names(procs: list[psutil.Process]) -> list[str]:
    return [_name(p) for p in procs]


def _status(proc: psutil.Process) -> str:
    try:
        return proc.status()
    except psutil.NoSuchProcess:
        return "gone"


def _shows(app: MissionControlApp, agent: str, text: str) -> bool:
    cell = next(c for c in app.grid.cells if c.agent == agent)
    return any(text in line for line in cell.mirror.lines)


async def test_printed_text_reaches_its_cell_fast(hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(shell_agents(4))
    hub.up()
    app = MissionControlApp(Org(hub.ws))
    async with app.run_test(size=(160, 50)) as pilot:
        for agent in ("a1", "a2", "a3", "a4"):
            await until(pilot, lambda a=agent: _shows(app, a, f"{a}$"), timeout=20)
        # Printed straight onto the selected agent's terminal, as its program would.
        with open(_tty(hub, "a1"), "w") as tty:
            tty.write("marker-selected\r\n")
        took = await until(pilot, lambda: _shows(app, "a1", "marker-selected"), timeout=5)
        assert took < 0.25, f"selected pane took {took * 1000:.0f} ms"
        with open(_tty(hub, "a3"), "w") as tty:
            tty.write("marker-other\r\n")
        await until(pilot, lambda: _shows(app, "a3", "marker-other"), timeout=5)
        assert not _shows(app, "a2", "marker-other")
        # Each window was sized to its cell: the mirror is 1:1.
        panes = {p.window: p for p in hub.tmux.panes()}
        for cell in app.grid.cells:
            await until(pilot, lambda c=cell: (panes := {p.window: p for p in hub.tmux.panes()})
                        and (panes[c.agent].width, panes[c.agent].height) == tuple(c.mirror.size))  # fmt: skip
        del panes


async def test_pause_kill_restart_keys_act_on_the_processes(
    hub_factory: Callable[..., Hub], tmp_path: Path
) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    app = MissionControlApp(Org(hub.ws))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: _shows(app, "a2", "a2$"), timeout=20)
        hub.tmux.run("send-keys", "-t", "=hub:a2", "sleep 1000", "Enter")
        pane = {p.window: p for p in hub.tmux.panes()}["a2"]
        await until(pilot, lambda: "sleep" in _names(proctree.descendants(pane.pid)))
        # The shell and its sleep (hook calls come and go beside them).
        tree = [p for p in proctree.descendants(pane.pid) if _name(p) in ("bash", "sleep")]
        assert len(tree) == 2

        await pilot.press("2", "p")
        await until(pilot, lambda: all(_status(p) == psutil.STATUS_STOPPED for p in tree))
        await until(pilot, lambda: app.grid.cells[1].view is not None
                    and app.grid.cells[1].view.state.name == "paused")  # fmt: skip
        await pilot.press("p")
        await until(pilot, lambda: all(_status(p) != psutil.STATUS_STOPPED for p in tree))

        await pilot.press("x", "y")
        await until(pilot, lambda: all(_status(p) in ("gone", psutil.STATUS_ZOMBIE) for p in tree))
        await until(pilot, lambda: app.grid.cells[1].view is not None
                    and app.grid.cells[1].view.state.is_exited)  # fmt: skip
        assert psutil.pid_exists(hub.states.proc("a1").child_pid)  # the other agent lives on

        await pilot.press("r")
        await until(pilot, lambda: not {p.window: p for p in hub.tmux.panes()}["a2"].dead)
        await until(pilot, lambda: _shows(app, "a2", "a2$"), timeout=20)


async def test_live_send_types_into_the_real_pane(hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(shell_agents(2))
    hub.up()
    app = MissionControlApp(Org(hub.ws))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: _shows(app, "a2", "a2$"), timeout=20)
        await pilot.press("2", "i")
        await pilot.press(*"echo live-$((6*7))", "enter")
        await until(pilot, lambda: _shows(app, "a2", "live-42"))
        await pilot.press(*"sleep 1000", "enter")
        pane = {p.window: p for p in hub.tmux.panes()}["a2"]
        await until(pilot, lambda: "sleep" in _names(proctree.descendants(pane.pid)))
        await pilot.press("ctrl+c")
        await until(pilot, lambda: "sleep" not in _names(proctree.descendants(pane.pid)))
        await pilot.press("ctrl+right_square_bracket", "1")  # the grid has its keys back
        assert app.grid.selected_agent == "a1" and not _shows(app, "a1", "live-42")


async def test_agents_on_other_pages_are_not_captured(hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(shell_agents(4))
    hub.up()
    app = MissionControlApp(Org(hub.ws))
    # 100x20: two readable cells a page, so a3 and a4 are on the second page.
    async with app.run_test(size=(100, 20)) as pilot:
        source = app.source
        assert isinstance(source, ControlClient)
        await until(pilot, lambda: source.shown == frozenset({"a1", "a2"}), timeout=20)
        await until(pilot, lambda: _shows(app, "a1", "a1$"), timeout=20)

        def windows() -> dict[str, tuple[int, int]]:
            return {p.window: (p.width, p.height) for p in hub.tmux.panes()}

        # a1 and a2 sized to their cells (the sizing follows the first frames).
        on_page = app.grid.cells[:2]
        await until(pilot, lambda: all(windows()[c.agent] == c.mirror.size for c in on_page))
        sizes = windows()
        with open(_tty(hub, "a3"), "w") as tty:
            tty.write("while-hidden\r\n")
        captured = source.captured["a3"]
        await pilot.pause(0.5)  # an observation window: a3 is not on screen
        assert not _shows(app, "a3", "while-hidden") and source.captured["a3"] == captured
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: _shows(app, "a3", "while-hidden"))
        assert source.shown == frozenset({"a3", "a4"})
        # The agents now off screen kept their windows' size.
        now = windows()
        assert now["a1"] == sizes["a1"] and now["a2"] == sizes["a2"]
