"""The app's own messages: small, typed; state-like ones supersede queued older ones."""

from __future__ import annotations

import enum

from textual.message import Message

from missionctl.agents.notify.notices import Notice
from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.ledger.board import LedgerBoard
from missionctl.mailbox import Message as Mail


class SnapshotReady(Message):
    """A fresh look at the whole org (about once a second)."""

    def __init__(self, snapshot: OrgSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


class LedgerChanged(Message):
    """The ledger changed (an experiment, an attached run ending, a claim): its new board."""

    def __init__(self, board: LedgerBoard) -> None:
        super().__init__()
        self.board = board

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LedgerChanged)


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


# -- what the grid asks the app for ------------------------------------------------------------
class Verb(enum.Enum):
    """Control actions on the org (or one agent of it)."""

    PAUSE = "pause"  # pause, or resume a paused agent
    KILL = "kill"
    RESTART = "restart"
    STANDUP = "standup"
    UP = "up"
    DOWN = "down"  # stop the org, then quit


class AgentSelected(Message):
    """The user selected `agent`: stream its screen at the fast rate."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AgentSelected)


class WindowSized(Message):
    """An agent's cell has this terminal area: size its window to match (a 1:1 mirror)."""

    def __init__(self, agent: str, width: int, height: int) -> None:
        super().__init__()
        self.agent = agent
        self.width = width
        self.height = height

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WindowSized) and message.agent == self.agent


class TakeoverRequested(Message):
    """Give the terminal to `agent` until C-] comes back."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent


class ControlRequested(Message):
    """Do `verb` (to `agent`, for the verbs that take one); ask `confirm` first if given."""

    def __init__(self, verb: Verb, agent: str | None = None, confirm: str | None = None) -> None:
        super().__init__()
        self.verb = verb
        self.agent = agent
        self.confirm = confirm


class MailRequested(Message):
    """Open the mail form, addressed to `to` (an agent, or "all")."""

    def __init__(self, to: str) -> None:
        super().__init__()
        self.to = to


class HelpRequested(Message):
    """Show the help screen."""


class LedgerRequested(Message):
    """Open the ledger screen."""


class DigestRequested(Message):
    """Show the latest standup digest."""


class QuitRequested(Message):
    """Quit the app; the org keeps running."""


class CellSized(Message):
    """An agent's cell got a new size (it was shown, or the terminal changed)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CellSized)


class PanesShown(Message):
    """These agents' terminals are on screen now: capture only them."""

    def __init__(self, agents: tuple[str, ...]) -> None:
        super().__init__()
        self.agents = agents

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PanesShown)


class LiveModeChanged(Message):
    """Live send began (`agent` gets every key until C-]) or ended (`agent` is None)."""

    def __init__(self, agent: str | None) -> None:
        super().__init__()
        self.agent = agent


class AlertsReady(Message):
    """Things a person should hear about now (an agent needs them, an error exit, a
    crashed run), from comparing this snapshot with the last."""

    def __init__(self, notices: list[Notice]) -> None:
        super().__init__()
        self.notices = notices
