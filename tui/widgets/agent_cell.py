"""One agent's cell in the grid: header, live terminal, metrics strip."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from missionctl.agents.org.monitor import AgentView
from missionctl.tui.messages import CellSized
from missionctl.tui.widgets.metrics_strip import MetricsStrip
from missionctl.tui.widgets.pane_mirror import PaneMirror

# State -> style class on the header (colours live in app.tcss).
STATE_CLASSES = (
    "working", "idle", "needs-you", "paused", "taken-over", "exited", "starting", "unknown", "down",
)  # fmt: skip


def state_class(state: str) -> str:
    if state.startswith("exited"):
        return "exited"
    return state if state in STATE_CLASSES else "unknown"


class CellHeader(Static):
    """`1 r1 NEEDS-YOU  researcher, claude, GPU 0  ✉ 2 unread  trust dialog: take over…`."""


class AgentCell(Vertical):
    """The cell of one agent; `show()` updates everything but the terminal."""

    def __init__(self, agent: str, index: int) -> None:
        super().__init__(id=f"cell-{agent}", classes="cell")
        self.agent = agent
        self.index = index
        self.view: AgentView | None = None
        self.header = CellHeader(f" {index + 1} {agent}", classes="header state-unknown")
        self.mirror = PaneMirror(agent, classes="mirror")
        self.strip = MetricsStrip("", classes="strip")
        self._header_text: Text | None = None

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.mirror
        yield self.strip

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(CellSized())  # the grid sizes the agent's window to match

    def show(self, view: AgentView) -> None:
        self.view = view
        state = view.state.name
        for cls in STATE_CLASSES:
            self.header.set_class(state_class(state) == cls, f"state-{cls}")
        text = Text(f" {self.index + 1} ", style="bold")
        text.append(view.name, style="bold")
        text.append(f" {state.upper()} ", style="bold reverse")
        text.append(f" {view.role}, {view.provider}, ")
        text.append(f"GPU {view.gpu}" if view.gpu is not None else "no GPU")
        if view.unread:
            text.append(f"  ✉ {view.unread} unread", style="bold")
        if view.budget_warning and view.budget_warning not in view.state.detail:
            text.append(f"  ⚠ {view.budget_warning}", style="bold red")
        if state == "needs-you" and view.state.detail:
            text.append(f"  {view.state.detail}", style="italic")  # why: the question, mail
        if text != self._header_text:  # a second's snapshot mostly changes nothing
            self._header_text = text
            self.header.update(text, layout=False)  # one fixed row: no layout pass
        self.strip.show(view)
