"""Orgs past eight agents: pages that keep cells readable, the roster, number keys and the
palette reaching any agent, and panes off screen left uncaptured."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from missionctl.tui import layout
from missionctl.tui.app import MissionControlApp
from missionctl.tui.screens import grid as grid_screen
from missionctl.tui.widgets.roster import Roster
from tests.tui.fake_org import FakeOrg, names
from tests.tui.test_app import until


def make_app(count: int) -> tuple[MissionControlApp, FakeOrg]:
    org = FakeOrg(count=count)
    return MissionControlApp(org, poll_interval=0.05), org


def shown(app: MissionControlApp) -> list[str]:
    return [c.agent for c in app.grid.cells if c.display]


async def settled(pilot: Pilot[None], app: MissionControlApp, org: FakeOrg) -> None:
    """Wait until the terminals on screen are the panes the source captures, all sized."""

    def done() -> bool:
        on_screen = set(app.grid.shown_agents)
        resized = {c[1] for c in org.source.commands if c[0] == "resize"}
        return bool(on_screen) and org.source.shown == on_screen and resized >= on_screen

    await until(pilot, done)


@pytest.mark.parametrize(("count", "size", "pages", "per_page"), [
    (16, (200, 56), 1, 16),
    (32, (200, 56), 2, 16),
    (16, (120, 40), 2, 8),
    (32, (120, 40), 4, 8),
])  # fmt: skip
async def test_cells_stay_readable_on_pages(
    count: int, size: tuple[int, int], pages: int, per_page: int
) -> None:
    app, org = make_app(count)
    async with app.run_test(size=size) as pilot:
        await settled(pilot, app, org)
        grid = app.grid
        assert grid.pages.count == pages and grid.pages.size == per_page
        assert shown(app) == list(names(count)[:per_page])
        for cell in grid.cells:
            if cell.display:
                w, h = cell.mirror.size
                assert w >= layout.READABLE_CELL[0] and h >= layout.READABLE_CELL[1] - 2, cell
        # Only the panes on screen are captured and sized; the others cost nothing.
        assert org.source.shown == frozenset(names(count)[:per_page])
        resized = {c[1] for c in org.source.commands if c[0] == "resize"}
        assert resized == set(names(count)[:per_page])
        roster = grid.query_one("#roster", Roster)
        assert roster.display == (pages > 1)
        # Machine use is read for the agents on screen only.
        await until(pilot, lambda: set(org.usage_asked or ()) == set(names(count)[:per_page]))


async def test_number_keys_and_pages_reach_every_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pilot presses a key only once the last one's page turn is drawn, which on a busy
    # machine can take longer than a person's pause between digits: a wide window.
    monkeypatch.setattr(grid_screen, "DIGIT_WINDOW_S", 60.0)
    app, org = make_app(32)
    async with app.run_test(size=(200, 56)) as pilot:
        await settled(pilot, app, org)
        await pilot.press("1", "7")  # two digits in quick succession: agent 17
        assert app.grid.selected_agent == "r17"
        await settled(pilot, app, org)
        assert shown(app) == list(names(32)[16:])  # its page, and only its page
        assert org.source.selected == "r17"
        assert {"r17", "r32"} <= {c[1] for c in org.source.commands if c[0] == "resize"}
        await pilot.press("3", "2")
        assert app.grid.selected_agent == "r32"
        await pilot.press("left_square_bracket")  # the page before: the same spot on it
        assert app.grid.selected_agent == "r16" and shown(app) == list(names(32)[:16])
        await pilot.press("pagedown")
        assert app.grid.selected_agent == "r32"
        await pilot.press("right")  # past the last agent: around to the first
        assert app.grid.selected_agent == "r1" and app.grid.page == 0
        await pilot.press("1")
        assert app.grid.selected_agent == "r1"
        monkeypatch.setattr(grid_screen, "DIGIT_WINDOW_S", 0.0)  # past it: a new number
        await pilot.press("2")
        assert app.grid.selected_agent == "r2"  # not r12


async def test_agents_off_screen_keep_their_state_in_the_roster() -> None:
    app, org = make_app(32)
    async with app.run_test(size=(200, 56)) as pilot:
        await settled(pilot, app, org)
        roster = app.grid.query_one("#roster", Roster)
        await until(pilot, lambda: " 32○" in str(roster.render()))
        org.set_state("r20", "needs-you")
        org.set_state("r25", "exited(2)")
        await until(pilot, lambda: "needs you: r20" in str(roster.render()))
        text = str(roster.render())
        # 200 columns hold every number but not every name.
        assert text.startswith(" page 1/2") and " 20! " in text and " 25✕ " in text
        cell = app.grid.cells[19]
        assert not cell.display and cell.view is not None
        assert cell.view.state.name == "needs-you"  # kept up to date off screen
        await pilot.press("2", "0")
        await until(pilot, lambda: cell.display and "NEEDS-YOU" in str(cell.header.render()))


async def test_the_palette_jumps_to_any_agent() -> None:
    app, org = make_app(32)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app, org)
        commands = {c.title: c for c in app.get_system_commands(app.grid)}
        assert {f"Jump to r{i}" for i in range(1, 33)} <= set(commands)
        commands["Jump to r29"].callback()
        await pilot.pause()
        assert app.grid.selected_agent == "r29" and app.grid.cells[28].display
        await settled(pilot, app, org)
        assert "r29" in org.source.shown  # type: ignore[operator]


async def test_focus_layout_with_32_agents_is_an_overview() -> None:
    app, org = make_app(32)
    async with app.run_test(size=(200, 56)) as pilot:
        await settled(pilot, app, org)
        await pilot.press("2", "3", "f")
        await settled(pilot, app, org)
        cells = app.grid.cells
        assert all(c.display for c in cells)  # every agent's header is on screen
        big = cells[22]
        others = [c for c in cells if c is not big]
        assert big.region.width > 100 and all(c.region.height <= 2 for c in others)
        assert all(c.size.height <= 2 for c in others)  # a header (and strip) each
        # Only the large cell shows a terminal, so only it is captured.
        assert org.source.shown == frozenset({"r23"})


async def test_the_app_notifies_of_needs_you_error_exits_and_crashed_runs() -> None:
    from dataclasses import replace

    from textual.message import Message as TextualMessage
    from textual.notifications import Notify

    app, org = make_app(16)
    org.mail = []  # only the agents' news here
    notes: list[tuple[str, str]] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, Notify):
            notes.append((message.notification.title, message.notification.message))

    async with app.run_test(size=(200, 56), message_hook=hook) as pilot:
        await until(pilot, lambda: all(c.view is not None for c in app.grid.cells))
        await pilot.pause(0.2)  # a few snapshots: the baseline
        assert notes == []
        org.set_state("r14", "needs-you")
        org.set_state("r3", "exited(0)")  # a clean exit is no news
        await until(pilot, lambda: any(t == "r14 needs you" for t, _ in notes))
        org.set_state("r5", "exited(2)")
        view = org.snap.agents[6]
        assert view.run is not None
        crashed = replace(view, run=replace(view.run, status="crash"))
        org.snap = replace(org.snap, agents=(*org.snap.agents[:6], crashed, *org.snap.agents[7:]))
        await until(pilot, lambda: len(notes) >= 3)
        await pilot.pause(0.2)
        titles = [t for t, _ in notes]
        assert titles == ["r14 needs you", "r5 exited with code 2", "r7's run crashed"]
