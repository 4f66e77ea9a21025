"""The grid: every agent's cell, the mail feed, and the keys that act on an agent."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Static

from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.agents.tmux.panes import ConnectionChanged, HubState, PaneEvent, ScreenUpdate
from missionctl.tui import layout
from missionctl.tui.messages import SnapshotReady
from missionctl.tui.widgets.agent_cell import AgentCell
from missionctl.tui.widgets.mail_feed import MailFeed

if TYPE_CHECKING:
    from missionctl.tui.app import MissionControlApp

FEED_ROWS = 5


class GridScreen(Screen[None]):
    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Left", show=False),
        Binding("right,l", "move(1, 0)", "Right", show=False),
        Binding("up,k", "move(0, -1)", "Up", show=False),
        Binding("down,j", "move(0, 1)", "Down", show=False),
        *[
            Binding(str(i), f"select_index({i - 1})", f"Agent {i}", show=False)
            for i in range(1, 10)
        ],
        Binding("enter", "takeover", "Take over"),
        Binding("p", "pause", "Pause"),
        Binding("x", "kill", "Kill"),
        Binding("r", "restart", "Restart"),
        Binding("m", "mail", "Mail"),
        Binding("b", "broadcast", "Broadcast"),
        Binding("s", "standup", "Standup", show=False),
        Binding("f", "focus_layout", "Focus"),
        Binding("u", "up", "Start org", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_keep", "Quit"),
        Binding("Q", "stop_and_quit", "Stop org+quit"),
    ]

    def __init__(self, agents: tuple[str, ...]) -> None:
        super().__init__()
        self.agents = agents
        self.cells = [AgentCell(name, i) for i, name in enumerate(agents)]
        self.selected = 0
        self.focus_mode = False
        self.shape = layout.Shape(1, 1)
        self._sizes: dict[str, tuple[int, int]] = {}
        self.snapshot: OrgSnapshot | None = None

    @property
    def mc(self) -> MissionControlApp:
        from missionctl.tui.app import MissionControlApp

        assert isinstance(self.app, MissionControlApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("", id="banner")
        with Container(id="grid"):
            yield from self.cells
        yield Static("", id="too-small")
        yield MailFeed(id="feed")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self._select(0)
        self.apply_layout()

    def on_resize(self) -> None:
        self.apply_layout()

    # -- layout ---------------------------------------------------------------------------
    def grid_area(self) -> tuple[int, int]:
        banner = 1 if self.query_one("#banner").display else 0
        return self.size.width, max(self.size.height - FEED_ROWS - 1 - banner, 0)

    def apply_layout(self) -> None:
        """Arrange the cells for the terminal size and mode, then size the agents' windows."""
        width, height = self.grid_area()
        count = len(self.cells)
        grid = self.query_one("#grid", Container)
        small = self.query_one("#too-small", Static)
        if not layout.fits(count, width, height, self.focus_mode):
            grid.display = False
            small.display = True
            need_w, need_h = layout.MIN_CELL
            small.update(
                f"The terminal ({self.size.width}×{self.size.height}) is too small to show"
                f" {count} agents: each needs at least {need_w}×{need_h}.\n"
                "Make the terminal larger"
                + (", or press f for the focus layout." if not self.focus_mode else ".")
            )
            return
        grid.display = True
        small.display = False
        if self.focus_mode and count > 1:
            big = self.cells[self.selected]
            others = [c for c in self.cells if c is not big]
            _reorder(grid, [big, *others])
            grid.styles.grid_size_columns = 2
            grid.styles.grid_size_rows = count - 1
            share = int(layout.FOCUS_SHARE * 10)
            grid.styles.grid_columns = f"{share}fr {10 - share}fr"
            big.styles.row_span = count - 1
            for cell in others:
                cell.styles.row_span = 1
        else:
            _reorder(grid, self.cells)
            for cell in self.cells:
                cell.styles.row_span = 1
            self.shape = layout.grid_shape(count, width, height)
            grid.styles.grid_size_columns = self.shape.columns
            grid.styles.grid_size_rows = self.shape.rows
            grid.styles.grid_columns = "1fr"
        self.call_after_refresh(self.resize_windows)

    def resize_windows(self, force: bool = False) -> None:
        """Size each agent's tmux window to its cell's terminal area (a 1:1 mirror)."""
        for cell in self.cells:
            w, h = cell.mirror.size
            if not w or not h:
                continue
            if force or self._sizes.get(cell.agent) != (w, h):
                self._sizes[cell.agent] = (w, h)
                self.mc.resize_window(cell.agent, w, h)

    # -- data in ----------------------------------------------------------------------------
    def pane_event(self, event: PaneEvent) -> None:
        if isinstance(event, ScreenUpdate):
            cell = self._cell(event.agent)
            if cell is not None:
                cell.mirror.update_screen(event.lines)
        elif isinstance(event, ConnectionChanged):
            banner = self.query_one("#banner", Static)
            gone = event.state == HubState.HUB_GONE
            was = banner.display
            banner.display = gone
            if gone:
                banner.update(
                    " The org is not running (no tmux hub). Press u to start it"
                    " (`missionctl up`), q to quit. "
                )
            if was != gone:
                self.apply_layout()
            if event.state == HubState.CONNECTED:
                self._sizes.clear()
                self.call_after_refresh(self.resize_windows, True)

    @on(SnapshotReady)
    def show_snapshot(self, message: SnapshotReady) -> None:
        self.snapshot = message.snapshot
        for view in message.snapshot.agents:
            cell = self._cell(view.name)
            if cell is not None:
                cell.show(view)
        self.sub_title = (
            f"{message.snapshot.org} · {message.snapshot.structure} · "
            + ("running" if message.snapshot.running else "not running")
            + (
                f" · ✉ {message.snapshot.human_unread} for you"
                if message.snapshot.human_unread
                else ""
            )
        )

    def _cell(self, agent: str) -> AgentCell | None:
        return next((c for c in self.cells if c.agent == agent), None)

    # -- selection ---------------------------------------------------------------------------
    @property
    def selected_agent(self) -> str:
        return self.cells[self.selected].agent

    def _select(self, index: int) -> None:
        if not self.cells:
            return
        self.selected = index % len(self.cells)
        for i, cell in enumerate(self.cells):
            cell.set_class(i == self.selected, "selected")
        self.mc.select_agent(self.selected_agent)
        if self.focus_mode:
            self.apply_layout()

    def action_select_index(self, index: int) -> None:
        if index < len(self.cells):
            self._select(index)

    def action_move(self, dx: int, dy: int) -> None:
        if self.focus_mode:
            self._select(self.selected + (dx or dy))
            return
        columns = self.shape.columns
        row, col = divmod(self.selected, columns)
        col = (col + dx) % columns
        row = (row + dy) % self.shape.rows
        target = row * columns + col
        if target >= len(self.cells):
            target = len(self.cells) - 1 if dx or dy > 0 else target % len(self.cells)
        self._select(target)

    def action_focus_layout(self) -> None:
        self.focus_mode = not self.focus_mode
        self.apply_layout()

    # -- actions on the selected agent -----------------------------------------------------------
    def action_takeover(self) -> None:
        self.mc.take_over(self.selected_agent)

    def action_pause(self) -> None:
        self.mc.control("pause", self.selected_agent)

    def action_kill(self) -> None:
        self.mc.confirm_then(
            f"Kill {self.selected_agent} and everything it started?", "kill", self.selected_agent
        )

    def action_restart(self) -> None:
        self.mc.control("restart", self.selected_agent)

    def action_mail(self) -> None:
        self.mc.compose_mail(self.selected_agent)

    def action_broadcast(self) -> None:
        self.mc.compose_mail("all")

    def action_standup(self) -> None:
        self.mc.control("standup", None)

    def action_up(self) -> None:
        self.mc.control("up", None)

    def action_help(self) -> None:
        self.mc.show_help()

    def action_quit_keep(self) -> None:
        self.mc.quit_keep_running()

    def action_stop_and_quit(self) -> None:
        self.mc.confirm_then("Stop every agent and the hub, then quit?", "down", None)


def _reorder(grid: Container, order: list[AgentCell]) -> None:
    """Put the grid's cells in `order` (the grid places children in DOM order)."""
    grid.move_child(order[0], before=0)
    for previous, cell in pairwise(order):
        grid.move_child(cell, after=previous)
