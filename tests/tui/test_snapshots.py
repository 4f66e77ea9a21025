"""Snapshots of the app at fixed sizes with fake data: grid, focus layout, help, states.

Update them after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from missionctl.agents.tmux.panes import ScreenUpdate
from missionctl.tui.app import MissionControlApp
from missionctl.tui.screens.ledger import ExperimentScreen, LedgerScreen
from tests.helpers import SCREENS
from tests.tui.fake_ledger import board, empty_board
from tests.tui.fake_org import FakeOrg, mail

FIXTURES = ["claude-working", "claude-idle", "claude-permission", "shell-busy",
            "codex-working", "codex-idle", "codex-approval", "shell-idle"]  # fmt: skip


def _app(count: int = 8) -> MissionControlApp:
    org = FakeOrg(count=count)
    # Mail between agents only: a toast for the human would come and go with timing.
    org.mail = [mail(1, "r2", "r1", "task", "run seed 2"), mail(2, "r1", "r2", "result", "done")]
    org.set_state("r3", "needs-you")
    org.set_state("r4", "paused")
    org.set_state("r8", "exited(3)")
    if count > 8:
        org.set_state("r13", "needs-you")
        org.set_state(f"r{count}", "exited(1)")
    app = MissionControlApp(org, poll_interval=0.05)
    app.org_for_tests = org  # type: ignore[attr-defined]
    return app


async def _fill(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, MissionControlApp)
    org: FakeOrg = app.org_for_tests  # type: ignore[attr-defined]
    while any(c.view is None for c in app.grid.cells):
        await pilot.pause(0.02)
    for i, name in enumerate(org.names):
        fixture = FIXTURES[i % len(FIXTURES)]
        lines = (SCREENS / f"{fixture}.txt").read_text().splitlines()
        org.source.emit(ScreenUpdate(name, f"%{name}", tuple(lines)))
    await pilot.pause()


def test_grid_of_eight(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=(200, 60), run_before=_fill)


def test_focus_layout(snap_compare: Any) -> None:
    async def focus(pilot: Pilot[None]) -> None:
        await _fill(pilot)
        await pilot.press("3", "f")

    assert snap_compare(_app(), terminal_size=(200, 60), run_before=focus)


def test_help_screen(snap_compare: Any) -> None:
    async def helped(pilot: Pilot[None]) -> None:
        await _fill(pilot)
        await pilot.press("question_mark")
        # Markdown mounts its blocks asynchronously: wait for the table.
        while "take over the agent" not in pilot.app.export_screenshot().replace("&#160;", " "):
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(120, 40), run_before=helped)


def test_too_small(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=(30, 20))


def _ledger_app(ledger_board: Any) -> MissionControlApp:
    app = _app()
    app.org_for_tests.board = ledger_board  # type: ignore[attr-defined]
    return app


async def _open_ledger(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, MissionControlApp)
    while app.board is None:
        await pilot.pause(0.02)
    await pilot.press("l")
    while not isinstance(app.screen, LedgerScreen):
        await pilot.pause(0.02)
    await pilot.pause()


def test_ledger_screen(snap_compare: Any) -> None:
    assert snap_compare(_ledger_app(board()), terminal_size=(140, 42), run_before=_open_ledger)


def test_ledger_one_experiment(snap_compare: Any) -> None:
    async def opened(pilot: Pilot[None]) -> None:
        await _open_ledger(pilot)
        await pilot.press("enter")
        while not isinstance(pilot.app.screen, ExperimentScreen):
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(_ledger_app(board()), terminal_size=(140, 42), run_before=opened)


def test_ledger_empty(snap_compare: Any) -> None:
    assert snap_compare(_ledger_app(empty_board()), terminal_size=(140, 42),
                        run_before=_open_ledger)  # fmt: skip


@pytest.mark.parametrize("count", [16, 32])
@pytest.mark.parametrize("size", [(200, 56), (120, 40)])
def test_many_agents(snap_compare: Any, count: int, size: tuple[int, int]) -> None:
    """16 fit 200x56 in one 4x4 grid; past that, pages of readable cells and the roster."""
    assert snap_compare(_app(count), terminal_size=size, run_before=_fill)


def test_many_agents_second_page_in_live_send(snap_compare: Any) -> None:
    async def live(pilot: Pilot[None]) -> None:
        await _fill(pilot)
        await pilot.press("2", "0", "i")
        await pilot.pause()

    assert snap_compare(_app(32), terminal_size=(200, 56), run_before=live)
