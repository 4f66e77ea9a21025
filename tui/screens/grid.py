"""The grid: every agent's cell, the mail feed, and the keys that act on an agent."""

from __future__ import annotations

from itertools import pairwise

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Static

from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.agents.tmux.panes import ConnectionChanged, HubState, PaneEvent, ScreenUpdate
from missionctl.tui import actions, layout
from missionctl.tui.messages import (
    AgentSelected,
    ControlRequested,
    DigestRequested,
    HelpRequested,
    LedgerRequested,
    MailRequested,
    QuitRequested,
    SnapshotReady,
    TakeoverRequested,
    Verb,
    WindowSized,
)
from missionctl.tui.widgets.agent_cell import AgentCell
from missionctl.tui.widgets.mail_feed import MailFeed

FEED_ROWS = 5


class GridScreen(Screen[None]):
    BINDINGS = actions.bindings()

    def __init__(self, agents: tuple[str, ...]) -> None:
        super().__init__()
        self.agents = agents
        self.cells = [AgentCell(name, i) for i, name in enumerate(agents)]
        self.selected = 0
        self.focus_mode = False
        self.shape = layout.Shape(1, 1)
        self._sizes: dict[str, tuple[int, int]] = {}
        self.snapshot: OrgSnapshot | None = None

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
                self.post_message(WindowSized(cell.agent, w, h))

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
        self.post_message(AgentSelected(self.selected_agent))
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

    # -- actions on the selected agent: the app carries them out ----------------------------------
    def action_takeover(self) -> None:
        self.post_message(TakeoverRequested(self.selected_agent))

    def action_pause(self) -> None:
        self.post_message(ControlRequested(Verb.PAUSE, self.selected_agent))

    def action_kill(self) -> None:
        agent = self.selected_agent
        ask = f"Kill {agent} and everything it started?"
        self.post_message(ControlRequested(Verb.KILL, agent, confirm=ask))

    def action_restart(self) -> None:
        self.post_message(ControlRequested(Verb.RESTART, self.selected_agent))

    def action_mail(self) -> None:
        self.post_message(MailRequested(self.selected_agent))

    def action_broadcast(self) -> None:
        self.post_message(MailRequested("all"))

    def action_standup(self) -> None:
        self.post_message(ControlRequested(Verb.STANDUP))

    def action_up(self) -> None:
        self.post_message(ControlRequested(Verb.UP))

    def action_help(self) -> None:
        self.post_message(HelpRequested())

    def action_ledger(self) -> None:
        self.post_message(LedgerRequested())

    def action_digest(self) -> None:
        self.post_message(DigestRequested())

    def action_quit_keep(self) -> None:
        self.post_message(QuitRequested())

    def action_stop_and_quit(self) -> None:
        ask = "Stop every agent and the hub, then quit?"
        self.post_message(ControlRequested(Verb.DOWN, confirm=ask))


def _reorder(grid: Container, order: list[AgentCell]) -> None:
    """Put the grid's cells in `order` (the grid places children in DOM order)."""
    grid.move_child(order[0], before=0)
    for previous, cell in pairwise(order):
        grid.move_child(cell, after=previous)
