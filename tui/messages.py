"""The app's own messages: small, typed dataclasses; state-like ones (`_Latest`)
supersede a queued older one of their kind."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from textual.message import Message

from missionctl.agents.notify.notices import Notice
from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.ledger.board import LedgerBoard
from missionctl.mailbox import Message as Mail


class _Latest(Message):
    """A message that says how things are now: only the newest one queued counts."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, type(self))


@dataclass
class SnapshotReady(_Latest):
    """A fresh look at the whole org (about once a second)."""

    snapshot: OrgSnapshot


@dataclass
class LedgerChanged(_Latest):
    """The ledger changed (an experiment, an attached run ending, a claim): its new board."""

    board: LedgerBoard


@dataclass
class MailArrived(Message):
    """A message landed in someone's mailbox."""

    recipient: str
    mail: Mail


@dataclass
class ActionDone(Message):
    """A control action (pause, kill, restart, up, ...) finished; `error` if it failed."""

    what: str
    error: str | None = None


# -- what the grid asks the app for ------------------------------------------------------------
class Verb(enum.Enum):
    """Control actions on the org (or one agent of it)."""

    PAUSE = "pause"  # pause, or resume a paused agent
    KILL = "kill"
    RESTART = "restart"
    STANDUP = "standup"
    UP = "up"
    DOWN = "down"  # stop the org, then quit


@dataclass
class AgentSelected(_Latest):
    """The user selected `agent`: stream its screen at the fast rate."""

    agent: str


@dataclass
class WindowSized(Message):
    """An agent's cell has this terminal area: size its window to match (a 1:1 mirror)."""

    agent: str
    width: int
    height: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WindowSized) and message.agent == self.agent


@dataclass
class TakeoverRequested(Message):
    """Give the terminal to `agent` until C-] comes back."""

    agent: str


@dataclass
class ControlRequested(Message):
    """Do `verb` (to `agent`, for the verbs that take one); ask `confirm` first if given."""

    verb: Verb
    agent: str | None = None
    confirm: str | None = None


@dataclass
class MailRequested(Message):
    """Open the mail form, addressed to `to` (an agent, or "all")."""

    to: str


class HelpRequested(Message):
    """Show the help screen."""


class LedgerRequested(Message):
    """Open the ledger screen."""


class DigestRequested(Message):
    """Show the latest standup digest."""


class QuitRequested(Message):
    """Quit the app; the org keeps running."""


class CellSized(_Latest):
    """An agent's cell got a new size (it was shown, or the terminal changed)."""


@dataclass
class PanesShown(_Latest):
    """These agents' terminals are on screen now: capture only them."""

    agents: tuple[str, ...]


@dataclass
class LiveModeChanged(Message):
    """Live send began (`agent` gets every key until C-]) or ended (`agent` is None)."""

    agent: str | None


@dataclass
class AlertsReady(Message):
    """Things a person should hear about now (an agent needs them, an error exit, a
    crashed run), from comparing this snapshot with the last."""

    notices: list[Notice]
