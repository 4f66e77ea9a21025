"""The mail feed along the bottom of the grid: the org's newest messages."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from missionctl.mailbox import HUMAN, Message

KIND_STYLE = {"task": "cyan", "result": "green", "claim": "magenta", "standup": "blue"}


def mail_line(message: Message, recipients: str | None = None) -> Text:
    """`07:02 chief → human [result] softcap: the verdict (2 runs)`."""
    text = Text(f"{message.time:%H:%M} ", style="dim")
    text.append(message.sender, style="bold")
    text.append(" → ")
    to = recipients or message.to
    text.append(to, style="bold yellow" if to == HUMAN else "bold")
    text.append(f" [{message.kind}] ", style=KIND_STYLE.get(message.kind, ""))
    text.append(message.headline)
    if message.runs:
        text.append(f" ({len(message.runs)} run{'s' if len(message.runs) > 1 else ''})", "dim")
    return text


class MailFeed(RichLog):
    """Newest last; a broadcast shows once. Mail arrives a few times a minute, so a
    RichLog is the right tool here (unlike the pane mirror).

    Never focused: focused, it took the arrows and page keys that select agents
    (it still scrolls with the mouse wheel)."""

    can_focus = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            max_lines=200, wrap=False, markup=False, auto_scroll=True, id=id, classes=classes
        )
        self._shown: set[str] = set()

    def add(self, message: Message, recipients: str | None = None) -> bool:
        """Show `message` unless this id is already shown; True if it was added."""
        if message.id in self._shown:
            return False
        self._shown.add(message.id)
        self.write(mail_line(message, recipients))
        return True
