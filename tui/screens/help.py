"""The help screen: every key, what it does, and what keeps running."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# missionctl

The grid shows every agent's live terminal, its state, its current training run
and its unread mail. The agents run in a tmux hub of their own: they keep running
when this app quits.

| key | what it does |
|---|---|
| arrows, h j k l, 1-9 | select an agent |
| Enter | take over the agent's terminal; **C-]** comes back to the grid |
| p | pause the agent and everything it started (again: resume) |
| x | kill the agent and everything it started (asks first) |
| r | restart the agent in its window and worktree |
| m | write mail to the selected agent |
| b | broadcast mail to every agent |
| s | call a standup now (replies come to you) |
| f | focus layout: the selected agent large, the rest small |
| u | start the org (`missionctl up`) if it is not running |
| ctrl+p | command palette |
| ? | this help |
| q | quit; the org keeps running (`missionctl` comes back to it) |
| Q | stop the whole org and quit (asks first) |

States: **working**, **idle** (waiting for input), **needs-you** (a question or a
permission prompt: take over to answer), **paused**, **exited(code)**, **starting**,
**unknown**. From the shell: `missionctl status`, `missionctl mail inbox`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
