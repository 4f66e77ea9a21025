"""Live send (`i`): every key and paste goes to the selected agent's pane until C-]."""

from __future__ import annotations

from textual import events
from textual.message import Message as TextualMessage
from textual.notifications import Notify
from textual.widgets import Footer

from missionctl.tui.app import MissionControlApp
from missionctl.tui.messages import LiveModeChanged
from tests.tui.fake_org import FakeOrg
from tests.tui.test_app import until


async def test_i_sends_every_key_to_the_selected_agent_until_ctrl_bracket() -> None:
    org = FakeOrg()
    app = MissionControlApp(org, poll_interval=0.05)
    changes: list[str | None] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, LiveModeChanged):
            changes.append(message.agent)

    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.press("3")
        sizes_before = {c.agent: tuple(c.mirror.size) for c in app.grid.cells}
        await pilot.press("i")
        grid = app.grid
        assert grid.live_agent == "r3" and grid.cells[2].has_class("live")
        bar = grid.query_one("#live-bar")
        assert bar.display and "r3" in str(bar.render()) and "C-]" in str(bar.render())
        assert not grid.query_one(Footer).display  # the bar takes the footer's row
        # Keys the grid, the app and Textual would take for themselves go to the agent.
        await pilot.press("l", "s", "enter", "up", "ctrl+c", "q", "x", "ctrl+p", "ctrl+q")
        await pilot.press("shift+tab", "escape", "f5", "backspace")
        await until(pilot, lambda: len(org.source.typed) == 13)
        # (Pilot gives Enter and Ctrl keys no character, as some terminals do: the tmux
        # side types them by name then; tests/unit/agents/tmux/test_keys.py has both.)
        assert org.source.typed == [
            ("key", "r3", "l", "l"), ("key", "r3", "s", "s"), ("key", "r3", "enter", ""),
            ("key", "r3", "up", ""), ("key", "r3", "ctrl+c", ""), ("key", "r3", "q", "q"),
            ("key", "r3", "x", "x"), ("key", "r3", "ctrl+p", ""),
            ("key", "r3", "ctrl+q", ""), ("key", "r3", "shift+tab", ""),
            ("key", "r3", "escape", "\x1b"), ("key", "r3", "f5", ""),
            ("key", "r3", "backspace", "\x08"),
        ]  # fmt: skip
        assert app.is_running and ("kill", "r3") not in org.calls
        assert grid.selected_agent == "r3"
        # A paste arrives whole, as one paste.
        app.post_message(events.Paste("line one\nline two $HOME"))
        await until(pilot, lambda: len(org.source.typed) == 14)
        assert org.source.typed[-1] == ("paste", "r3", "line one\nline two $HOME")
        # No cell changed size: no agent's window reflowed on the way in.
        assert {c.agent: tuple(c.mirror.size) for c in grid.cells} == sizes_before
        await pilot.press("ctrl+right_square_bracket")
        assert grid.live_agent is None and not grid.cells[2].has_class("live")
        assert grid.query_one(Footer).display and not bar.display
        await pilot.press("right")  # keys act on the grid again
        assert grid.selected_agent == "r4" and len(org.source.typed) == 14
        await pilot.pause()
    # (The hook sees each message on the grid, then bubbling up to the app.)
    assert changes == ["r3", "r3", None, None]


async def test_live_send_stops_when_tmux_refuses_the_keys() -> None:
    org = FakeOrg()
    org.source.refuse_typing = "can't find pane: %3"
    app = MissionControlApp(org, poll_interval=0.05)
    notes: list[str] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=(200, 60), message_hook=hook) as pilot:
        await pilot.press("2", "i", "a")
        await until(pilot, lambda: app.grid.live_agent is None and bool(notes))
        assert "live send stopped" in notes[-1] and "can't find pane" in notes[-1]
        await pilot.press("q")  # back on the grid: q quits
        await pilot.pause()
    assert app.return_code == 0
