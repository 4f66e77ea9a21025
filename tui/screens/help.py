"""The help screen: every key, what it does, and what keeps running."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from missionctl.tui.actions import key_table

HELP = f"""\
# missionctl

The grid shows every agent's live terminal, its state, its current training run
and its unread mail. The agents run in a tmux hub of their own: they keep running
when this app quits.

{key_table()}

**Many agents.** Cells stay at least 36x8: past what fits, the grid shows pages of
equal cells and a roster line above them with every agent's number and state
(● working, ○ idle, ! needs you, ‖ paused, ✕ error exit; the page on screen
underlined, the selected agent reversed). Agents off the page are not captured.
`f` shows the selected agent large and a header for every other one.

**Live send.** `i` gives the keyboard to the selected agent's terminal (a bar
replaces the footer) until `C-]`; pastes arrive as one bracketed paste.

States: **working**, **idle** (waiting for input), **needs-you** (a question or a
permission prompt, or mail waiting: take over to answer; the header says why),
**taken-over**, **paused**, **exited(code)**, **starting**, **down**, **unknown**.
From the shell: `missionctl status`, `missionctl mail inbox`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
