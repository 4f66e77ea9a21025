"""The app with a fake org and a fake pane source: layout, keys, and what they ask of the org."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from missionctl.agents.tmux.panes import ConnectionChanged, HubState, ScreenUpdate
from missionctl.tui.actions import ACTIONS, key_table
from missionctl.tui.app import KEEP_RUNNING, NO_TAKEOVER, MissionControlApp
from missionctl.tui.messages import ActionDone
from missionctl.tui.screens.grid import GridScreen
from missionctl.tui.widgets.mail_feed import MailFeed
from tests.conftest import REPO
from tests.tui.fake_org import FakeOrg, mail


async def until(pilot: Pilot[None], what: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `what()` is true (fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def make_app(org: FakeOrg | None = None) -> tuple[MissionControlApp, FakeOrg]:
    org = org or FakeOrg()
    return MissionControlApp(org, poll_interval=0.05), org


M = TypeVar("M", bound=TextualMessage)


def collected(kind: type[M]) -> tuple[list[M], Callable[[TextualMessage], None]]:
    """A list, and a `run_test` message hook that adds every `kind` message to it."""
    seen: list[M] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, kind):
            seen.append(message)

    return seen, hook


async def test_eight_agents_in_a_four_by_two_grid_sized_one_to_one() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        grid = app.grid
        await until(pilot, lambda: len(org.source.commands) >= 8)
        assert (grid.shape.columns, grid.shape.rows) == (4, 2)
        regions = [c.region for c in grid.cells]
        assert len({r.y for r in regions}) == 2 and len({r.x for r in regions}) == 4
        # Every agent window is resized to exactly its cell's terminal area.
        sizes = {c.agent: tuple(c.mirror.size) for c in grid.cells}
        resized = {cmd[1]: (int(cmd[2]), int(cmd[3]))
                   for cmd in org.source.commands if cmd[0] == "resize"}  # fmt: skip
        assert resized == sizes
        assert all(w >= 40 and h >= 20 for w, h in sizes.values())


async def test_snapshot_fills_headers_and_metrics() -> None:
    app, org = make_app()
    org.set_state("r3", "needs-you")
    async with app.run_test(size=(200, 60)) as pilot:
        cell = app.grid.cells[2]
        await until(pilot, lambda: cell.view is not None)
        header = str(cell.header.render())
        assert header.split() == ["3", "r3", "NEEDS-YOU", "researcher,", "claude,", "GPU", "2",
                                  "✉", "2", "unread"]  # fmt: skip
        assert cell.header.has_class("state-needs-you")
        strip = str(cell.strip.render())
        assert strip.startswith("run …9f2a 122/400 30% ETA 1m35s bpb 2.430")
        assert "12.3k tok/s" in strip and "CPU 97% 700.0M" in strip


async def test_screens_from_the_source_reach_only_their_cell() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        org.source.emit(ScreenUpdate("r2", "%2", ("\x1b[32mhello\x1b[0m from r2", "second")))
        await pilot.pause()
        assert app.grid.cells[1].mirror.lines == ("\x1b[32mhello\x1b[0m from r2", "second")
        assert app.grid.cells[0].mirror.lines == ()


async def test_selection_keys_follow_the_grid() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert org.source.selected == "r1"
        await pilot.press("right")
        assert app.grid.selected_agent == "r2" and org.source.selected == "r2"
        await pilot.press("down")  # down one row: four columns
        assert app.grid.selected_agent == "r6"
        await pilot.press("left", "up")
        assert app.grid.selected_agent == "r1"
        await pilot.press("8")
        assert app.grid.selected_agent == "r8"
        assert app.grid.cells[7].has_class("selected")
        assert not app.grid.cells[0].has_class("selected")


async def test_control_keys_act_on_the_selected_agent() -> None:
    done, hook = collected(ActionDone)
    app, org = make_app()
    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.press("3", "p")
        await until(pilot, lambda: len(done) == 1)
        assert org.calls[-1] == ("toggle_pause", "r3") and done[0].what == "r3 paused"
        await pilot.press("r")
        await until(pilot, lambda: len(done) == 2)
        assert org.calls[-1] == ("restart", "r3")
        await pilot.press("x", "n")  # asked, and declined: nothing happens
        await pilot.pause()
        assert ("kill", "r3") not in org.calls
        await pilot.press("x", "y")
        await until(pilot, lambda: len(done) == 3)
        assert org.calls[-1] == ("kill", "r3")
        await pilot.press("s")
        await until(pilot, lambda: len(done) == 4)
        assert org.calls[-1] == ("standup",)


async def test_mail_to_the_selected_agent_and_to_everyone() -> None:
    done, hook = collected(ActionDone)
    app, org = make_app()
    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.press("2", "m")
        await until(pilot, lambda: bool(app.screen.query("#subject")))
        app.screen.query_one("#subject", Input).value = "run seed 3"
        app.screen.query_one("#body", TextArea).text = "baseline, cpu-smoke"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(done) == 1)
        assert org.calls[-1] == ("send_mail", "r2", "run seed 3", "baseline, cpu-smoke", "note")
        await pilot.press("b")
        await until(pilot, lambda: bool(app.screen.query("#body")))
        await pilot.press("ctrl+s")  # an empty body is refused in the dialog
        await pilot.pause()
        assert "needs a body" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not any(c[0] == "send_mail" and c[1] == "all" for c in org.calls)


async def test_focus_layout_gives_the_selected_agent_the_large_cell() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("5", "f")
        await pilot.pause()
        cells = {c.agent: c for c in app.grid.cells}
        big = cells["r5"].region
        assert all(big.width > c.region.width and big.height > c.region.height
                   for name, c in cells.items() if name != "r5")  # fmt: skip
        await until(
            pilot,
            lambda: (
                (
                    "resize",
                    "r5",
                    str(cells["r5"].mirror.size.width),
                    str(cells["r5"].mirror.size.height),
                )
                in org.source.commands
            ),
        )
        await pilot.press("f")
        await pilot.pause()
        assert cells["r5"].region.width == cells["r1"].region.width


@pytest.mark.parametrize("size", [(30, 20), (100, 14)])
async def test_a_terminal_too_small_says_so(size: tuple[int, int]) -> None:
    app, _ = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        message = app.grid.query_one("#too-small")
        assert message.display and not app.grid.query_one("#grid").display
        assert "too small" in str(message.render())


async def test_hub_gone_shows_a_banner_and_u_starts_the_org() -> None:
    done, hook = collected(ActionDone)
    app, org = make_app()
    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.pause()
        org.source.emit(ConnectionChanged(HubState.HUB_GONE, "no server"))
        await pilot.pause()
        banner = app.grid.query_one("#banner")
        assert banner.display and "missionctl up" in str(banner.render())
        await pilot.press("u")
        await until(pilot, lambda: bool(done))
        assert ("up",) in org.calls
        org.source.emit(ConnectionChanged(HubState.CONNECTED))
        await pilot.pause()
        assert not banner.display


async def test_mail_feed_and_notifications() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        feed = app.grid.query_one("#feed", MailFeed)
        await until(pilot, lambda: org.mail_listener is not None)
        assert len(feed.lines) == 2
        assert org.mail_listener is not None
        org.mail_listener("human", mail(3, "chief", "human", "result", "softcap: the verdict"))
        await until(pilot, lambda: len(feed.lines) == 3)
        assert "softcap: the verdict" in feed.lines[-1].text
        assert any("softcap: the verdict" in n.message for n in app._notifications)
        org.mail_listener("human", mail(3, "chief", "human", "result", "softcap: the verdict"))
        await pilot.pause()
        assert len(feed.lines) == 3  # the same message twice shows once


async def test_q_quits_and_leaves_the_org_running() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and ("down",) not in org.calls
    assert org.source.stopped
    assert KEEP_RUNNING.startswith("The org keeps running")


async def test_shift_q_stops_the_org_after_asking() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("Q", "y")
        await until(pilot, lambda: ("down",) in org.calls)
        await pilot.pause()
    assert ("down",) in org.calls


async def test_help_screen_lists_every_key() -> None:
    app, _ = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.export_screenshot().replace("&#160;", " ")
        for key in (
            "Enter",
            "C-]",
            "pause the agent",
            "kill the agent",
            "restart the agent",
            "focus layout",
            "quit; the org keeps running",
        ):
            assert key in text, key
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.grid


async def test_mail_text_is_never_markup() -> None:
    app, org = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        feed = app.grid.query_one("#feed", MailFeed)
        await until(pilot, lambda: org.mail_listener is not None)
        assert org.mail_listener is not None
        evil = mail(4, "r2", "human", "result", "[/] verdict [@click=app.quit]")
        org.mail_listener("human", evil)
        await until(pilot, lambda: any("[/] verdict" in line.text for line in feed.lines))
        await pilot.pause()
        assert app.is_running
        assert any("[/] verdict" in n.message for n in app._notifications)


def test_the_readme_key_table_is_the_actions_table() -> None:
    readme = (REPO / "README.md").read_text()
    marker = "<!-- keys: tui/keys.toml -->\n"
    start = readme.index(marker) + len(marker)
    assert readme[start : readme.index("\n<!-- /keys -->")] == key_table()
    # And every key the grid binds is in it, and nothing else.
    bound = {key for b in GridScreen.BINDINGS if isinstance(b, Binding) for key in b.key.split(",")}
    shown = {b.key for row in ACTIONS for b in row.bindings}
    assert bound == {key for keys in shown for key in keys.split(",")}


async def test_the_palette_offers_every_action_of_the_table() -> None:
    app, _org = make_app()
    async with app.run_test(size=(200, 60)):
        titles = {c.title for c in app.get_system_commands(app.grid)}
    assert {row.palette[0] for row in ACTIONS if row.palette} <= titles


async def test_without_a_terminal_to_hand_over_enter_falls_back_to_live_send() -> None:
    # Headless here (as in a browser): the app cannot suspend itself for a tmux attach.
    app, org = make_app()
    notes: list[str] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.press("3", "enter")
        await until(pilot, lambda: ("end_takeover", "r3") in org.calls and bool(notes))
        # The window got its size back, and typing now goes to r3 instead.
        assert [c for c in org.calls if c[-1] == "r3"][-2:] == [
            ("begin_takeover", "r3"), ("end_takeover", "r3"),
        ]  # fmt: skip
        assert NO_TAKEOVER.format(agent="r3") in notes
        assert app.grid.live_agent == "r3"
        await pilot.press("x")
        await until(pilot, lambda: ("key", "r3", "x", "x") in org.source.typed)
        assert ("kill", "r3") not in org.calls
