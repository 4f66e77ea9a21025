"""Writing mail to one agent (m) or to everyone (b), as the human."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from missionctl.mailbox.message import KINDS


@dataclass(frozen=True)
class Draft:
    to: str
    kind: str
    subject: str
    body: str


class ComposeMail(ModalScreen[Draft | None]):
    """Dismisses with a `Draft` on send (ctrl+s), None on cancel (escape)."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, to: str) -> None:
        super().__init__(classes="dialog-screen")
        self.to = to

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog compose"):
            yield Label(f"Mail to {self.to}" + (" (every agent)" if self.to == "all" else ""))
            yield Select([(k, k) for k in KINDS], value="note", allow_blank=False, id="kind")
            yield Input(placeholder="subject", id="subject")
            yield TextArea(id="body")
            yield Label("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Send (ctrl+s)", variant="primary", id="send")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#subject", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()

    def action_send(self) -> None:
        body = self.query_one("#body", TextArea).text
        if not body.strip():
            self.query_one("#error", Label).update("Write something first: mail needs a body.")
            return
        kind = self.query_one("#kind", Select).value
        subject = self.query_one("#subject", Input).value
        self.dismiss(Draft(self.to, str(kind), subject, body))

    def action_cancel(self) -> None:
        self.dismiss(None)
