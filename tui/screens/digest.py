"""The latest standup digest: each agent's reply (or "no reply") and what the ledger says
changed. `s` calls a standup; the supervisor mails the digest when it is complete."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from missionctl.mailbox import Message

NO_DIGEST = (
    "No standup digest yet. Press s to call a standup: the supervisor mails you the"
    " digest when every agent has replied, or when [standup] wait (org.toml) has passed."
)


class DigestScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,d", "close", "Close")]

    def __init__(self, digest: Message | None) -> None:
        super().__init__()
        self.digest = digest

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help digest"):
            yield Static(self._text(), id="digest-text")

    def _text(self) -> Text:
        if self.digest is None:
            return Text(NO_DIGEST)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.digest.time.timestamp()))
        # Mail is other agents' words: plain text, never markup.
        return Text.assemble((self.digest.subject, "bold"), f"  ({when})\n\n", self.digest.body)

    def action_close(self) -> None:
        self.dismiss(None)
