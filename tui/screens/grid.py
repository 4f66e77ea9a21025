"""The grid: every agent's cell (on pages when they do not all fit), the roster, the
mail feed, and the keys that act on an agent."""

from __future__ import annotations

import time
from itertools import pairwise

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Static

from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.agents.tmux.panes import ConnectionChanged, HubState, PaneEvent, ScreenUpdate
from missionctl.tui import actions, layout
from missionctl.tui import messages as msg
from missionctl.tui.widgets.agent_cell import AgentCell
from missionctl.tui.widgets.mail_feed import MailFeed
from missionctl.tui.widgets.roster import Roster, roster_text

FEED_ROWS = 5
# A second digit within this long makes a two-digit agent number (1 then 7: agent 17).
DIGIT_WINDOW_S = 0.8


class GridScreen(Screen[None]):
    BINDINGS = actions.bindings()

    def __init__(self, agents: tuple[str, ...]) -> None:
        super().__init__()
        self.agents = agents
        self.cells = [AgentCell(name, i) for i, name in enumerate(agents)]
        self.selected = 0
        self.focus_mode = False
        self.shape = layout.Shape(1, 1)
        self.pages = layout.Pages(len(agents), 1, self.shape)
        self.page = 0
        self.live_agent: str | None = None  # live send: every key goes to this agent
        self._sizes: dict[str, tuple[int, int]] = {}
        self._shown: tuple[str, ...] | None = None
        self._by_name = {c.agent: c for c in self.cells}
        self._roster_key: object = None
        self._relayout_pending = False
        self._in_focus_order = False
        self._digits = ""
        self._digit_at = 0.0
        self.snapshot: OrgSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="banner")
        yield Roster("", id="roster")
        with Container(id="grid"):
            yield from self.cells
        yield Static("", id="too-small")
        yield MailFeed(id="feed")
        yield Static("", id="live-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self.query_one("#live-bar").display = False
        self._select(0)
        self.apply_layout()

    def on_resize(self) -> None:
        self.apply_layout()

    # -- layout ---------------------------------------------------------------------------
    def grid_area(self) -> tuple[int, int]:
        """The columns and rows for the roster and the cells."""
        fixed = FEED_ROWS + 1  # the mail feed and the footer (or the live-send bar)
        fixed += 1 if self.query_one("#banner").display else 0
        return self.size.width, max(self.size.height - fixed, 0)

    def apply_layout(self) -> None:
        """Arrange the cells for the terminal size and mode, then size the agents' windows."""
        width, height = self.grid_area()
        count = len(self.cells)
        grid = self.query_one("#grid", Container)
        small = self.query_one("#too-small", Static)
        roster = self.query_one("#roster", Roster)
        focus = self.focus_mode and count > 1
        pages = None if focus else layout.paginate(count, width, height)
        if (focus and not layout.fits_focus(count, width, height)) or (not focus and pages is None):
            grid.display = roster.display = False
            small.display = True
            need_w, need_h = layout.READABLE_CELL
            small.update(
                f"The terminal ({self.size.width}×{self.size.height}) is too small to show"
                f" an agent: a cell needs at least {need_w}×{need_h}.\n"
                "Make the terminal larger"
                + (", or press f for the focus layout." if not self.focus_mode else ".")
            )
            self._post_shown(())
            return
        grid.display = True
        small.display = False
        if focus:
            roster.display = False
            big = self.cells[self.selected]
            others = [c for c in self.cells if c is not big]
            _reorder(grid, [big, *others])
            self._in_focus_order = True
            grid.styles.grid_size_columns = 2
            grid.styles.grid_size_rows = count - 1
            share = int(layout.FOCUS_SHARE * 10)
            grid.styles.grid_columns = f"{share}fr {10 - share}fr"
            big.styles.row_span = count - 1
            for cell in self.cells:
                cell.styles.row_span = count - 1 if cell is big else 1
                self._display(cell, True)
        else:
            assert pages is not None
            self.pages = pages
            self.page = self.pages.page_of(self.selected)
            if self._in_focus_order:
                _reorder(grid, self.cells)
                self._in_focus_order = False
            on_page = self.pages.members(self.page, count)
            for i, cell in enumerate(self.cells):
                cell.styles.row_span = 1
                self._display(cell, i in on_page)
            roster.display = self.pages.count > 1
            self.shape = self.pages.shape
            grid.styles.grid_size_columns = self.shape.columns
            grid.styles.grid_size_rows = self.shape.rows
            grid.styles.grid_columns = "1fr"
            self._show_roster()
        self.call_after_refresh(self._laid_out)

    def _display(self, cell: AgentCell, shown: bool) -> None:
        if cell.display != shown:
            cell.display = shown
            if shown and cell.view is not None:
                cell.show(cell.view)  # what changed while it was off screen

    def _laid_out(self) -> None:
        self._relayout_pending = False
        self.resize_windows()
        self._post_shown(tuple(c.agent for c in self.cells if _shows_terminal(c)))

    @on(msg.CellSized)
    def _cell_sized(self, message: msg.CellSized) -> None:
        """Cells just shown (a page turned) can get their size a refresh after the
        layout: their windows and what is captured follow then, once for them all."""
        message.stop()
        if not self._relayout_pending:
            self._relayout_pending = True
            self.call_after_refresh(self._laid_out)

    def _post_shown(self, agents: tuple[str, ...]) -> None:
        if agents != self._shown:
            self._shown = agents
            self.post_message(msg.PanesShown(agents))

    @property
    def shown_agents(self) -> tuple[str, ...] | None:
        """The agents whose terminals are on screen (and captured); None before the
        first layout, when that is not known yet."""
        return self._shown

    def resize_windows(self, force: bool = False) -> None:
        """Size each shown agent's tmux window to its cell's terminal area (a 1:1 mirror)."""
        for cell in self.cells:
            if not _shows_terminal(cell):
                continue  # off this page, or a sliver: its window keeps its size
            w, h = cell.mirror.size
            if not w or not h:
                continue
            if force or self._sizes.get(cell.agent) != (w, h):
                self._sizes[cell.agent] = (w, h)
                self.post_message(msg.WindowSized(cell.agent, w, h))

    def _show_roster(self) -> None:
        roster = self.query_one("#roster", Roster)
        if not roster.display:
            return
        views = [c.view for c in self.cells]
        # Its text from the states alone: rebuilt when one of them, the page, the
        # selection or the width changed (at 32 idle agents, most seconds none did).
        key = (
            tuple(v.state if v else None for v in views),
            self.pages.size,
            self.page,
            self.selected,
            self.size.width,
        )
        if key == self._roster_key:
            return
        self._roster_key = key
        roster.show(
            roster_text(
                self.agents, views, self.pages.size, self.page, self.selected, self.size.width
            )
        )

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
                self._shown = None  # a new connection: tell it again what is shown
                self.call_after_refresh(self._laid_out)

    @on(msg.SnapshotReady)
    def show_snapshot(self, message: msg.SnapshotReady) -> None:
        self.snapshot = message.snapshot
        for view in message.snapshot.agents:
            cell = self._by_name.get(view.name)
            if cell is None or view == cell.view:
                continue  # a second's snapshot mostly changes nothing
            if cell.display:
                cell.show(view)
            else:
                cell.view = view  # drawn when its page is shown
        self._show_roster()
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
        return self._by_name.get(agent)

    # -- selection ---------------------------------------------------------------------------
    @property
    def selected_agent(self) -> str:
        return self.cells[self.selected].agent

    def _select(self, index: int) -> None:
        if not self.cells:
            return
        before = self.selected
        self.selected = index % len(self.cells)
        self.cells[before].set_class(False, "selected")
        self.cells[self.selected].set_class(True, "selected")
        self.post_message(msg.AgentSelected(self.selected_agent))
        if self.focus_mode or self.pages.page_of(self.selected) != self.page:
            self.apply_layout()  # the selected agent is always on screen
        else:
            self._show_roster()

    def select_agent(self, agent: str) -> None:
        """Select `agent` by name (the command palette's jump), turning the page if need be."""
        cell = self._cell(agent)
        if cell is not None:
            self._select(cell.index)

    def action_select_digit(self, digit: int) -> None:
        """`1`-`9` select an agent; a second digit soon after makes it two (1, 7: agent 17)."""
        now = time.monotonic()
        digits = self._digits + str(digit)
        if not (self._digits and now - self._digit_at <= DIGIT_WINDOW_S) or int(digits) > len(
            self.cells
        ):
            digits = str(digit)
        self._digits, self._digit_at = digits, now
        number = int(digits)
        if 1 <= number <= len(self.cells):
            self._select(number - 1)

    def action_move(self, dx: int, dy: int) -> None:
        if self.focus_mode:
            self._select(self.selected + (dx or dy))
            return
        # Left and right step through every agent, up and down by a row of the page:
        # past a page's edge the next page turns up.
        self._select(self.selected + dx + dy * self.shape.columns)

    def action_page(self, delta: int) -> None:
        """Show the next (or previous) page, selecting the agent in the same place on it."""
        if self.pages.count <= 1 or self.focus_mode:
            return
        page = (self.page + delta) % self.pages.count
        spot = self.selected - self.page * self.pages.size
        members = self.pages.members(page, len(self.cells))
        self._select(min(members.start + spot, members.stop - 1))

    def action_focus_layout(self) -> None:
        self.focus_mode = not self.focus_mode
        self.apply_layout()

    # -- live send: typing into the selected agent -------------------------------------------
    def action_live(self) -> None:
        self.start_live()

    def start_live(self) -> None:
        """Send every key to the selected agent until C-] (the app routes the keys)."""
        if self.live_agent is not None:
            return
        agent = self.selected_agent
        self.live_agent = agent
        cell = self.cells[self.selected]
        cell.set_class(True, "live")
        bar = self.query_one("#live-bar", Static)
        bar.update(
            f" LIVE: every key goes to {agent}'s terminal · C-] (ctrl+]) comes back to the grid "
        )
        # The bar takes the footer's row: no cell changes size, no window reflows.
        self.query_one(Footer).display = False
        bar.display = True
        self.post_message(msg.LiveModeChanged(agent))

    def end_live(self) -> None:
        """Keys act on the grid again."""
        if self.live_agent is None:
            return
        cell = self._cell(self.live_agent)
        if cell is not None:
            cell.set_class(False, "live")
        self.live_agent = None
        self.query_one("#live-bar", Static).display = False
        self.query_one(Footer).display = True
        self.post_message(msg.LiveModeChanged(None))

    # -- actions on the selected agent: the app carries them out ----------------------------------
    def action_takeover(self) -> None:
        self.post_message(msg.TakeoverRequested(self.selected_agent))

    def action_pause(self) -> None:
        self.post_message(msg.ControlRequested(msg.Verb.PAUSE, self.selected_agent))

    def action_kill(self) -> None:
        agent = self.selected_agent
        ask = f"Kill {agent} and everything it started?"
        self.post_message(msg.ControlRequested(msg.Verb.KILL, agent, confirm=ask))

    def action_restart(self) -> None:
        self.post_message(msg.ControlRequested(msg.Verb.RESTART, self.selected_agent))

    def action_mail(self) -> None:
        self.post_message(msg.MailRequested(self.selected_agent))

    def action_broadcast(self) -> None:
        self.post_message(msg.MailRequested("all"))

    def action_standup(self) -> None:
        self.post_message(msg.ControlRequested(msg.Verb.STANDUP))

    def action_up(self) -> None:
        self.post_message(msg.ControlRequested(msg.Verb.UP))

    def action_help(self) -> None:
        self.post_message(msg.HelpRequested())

    def action_ledger(self) -> None:
        self.post_message(msg.LedgerRequested())

    def action_digest(self) -> None:
        self.post_message(msg.DigestRequested())

    def action_quit_keep(self) -> None:
        self.post_message(msg.QuitRequested())

    def action_stop_and_quit(self) -> None:
        ask = "Stop every agent and the hub, then quit?"
        self.post_message(msg.ControlRequested(msg.Verb.DOWN, confirm=ask))


def _shows_terminal(cell: AgentCell) -> bool:
    """Whether the cell is on screen with room for at least one row of the terminal."""
    return bool(cell.display) and cell.size.height > layout.CHROME_ROWS


def _reorder(grid: Container, order: list[AgentCell]) -> None:
    """Put the grid's cells in `order` (the grid places children in DOM order)."""
    grid.move_child(order[0], before=0)
    for previous, cell in pairwise(order):
        grid.move_child(cell, after=previous)
