"""The app's own messages: small, typed; state-like ones supersede queued older ones."""

from __future__ import annotations

from textual.message import Message

from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.mailbox import Message as Mail


class SnapshotReady(Message):
    """A fresh look at the whole org (about once a second)."""

    def __init__(self, snapshot: OrgSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


class MailArrived(Message):
    """A message landed in someone's mailbox."""

    def __init__(self, recipient: str, mail: Mail) -> None:
        super().__init__()
        self.recipient = recipient
        self.mail = mail


class ActionDone(Message):
    """A control action (pause, kill, restart, up, ...) finished; `error` if it failed."""

    def __init__(self, what: str, error: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.error = error


class TakeoverEnded(Message):
    """The user came back from an agent's terminal."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent
