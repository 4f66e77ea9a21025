"""The seam between the app and the agents' terminals: a pane source.

The app asks a `PaneSource` for screens and receives `PaneEvent`s through the
listeners it subscribes; it never talks to tmux itself. The real source is
`missionctl.agents.tmux.client.ControlClient` (one tmux control-mode client per
hub); tests use a fake behind the same protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from missionctl.errors import UserError


class HubState(enum.StrEnum):
    """Where the connection to the hub stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    # The control client dropped but the hub is still there: reconnecting.
    RECONNECTING = "reconnecting"
    # No tmux server on the socket, or no `hub` session in it: `missionctl up` fixes it.
    HUB_GONE = "hub-gone"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ScreenUpdate:
    """The visible screen of an agent's pane, one string per row.

    Rows are `capture-pane -p -e -N` output: text with SGR escapes, whose style
    carries over from one row to the next.
    """

    agent: str
    pane: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The connection moved to `state`; `detail` says why, in tmux's words."""

    state: HubState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AgentsChanged:
    """The hub's windows (agents, plus `supervisor`) in window order."""

    agents: tuple[str, ...]


PaneEvent = ScreenUpdate | ConnectionChanged | AgentsChanged
PaneListener = Callable[[PaneEvent], None]


class HubUnavailable(UserError):
    """A command was sent while the hub is not connected."""


class TmuxCommandError(UserError):
    """tmux answered a command with `%error`; the message holds tmux's words."""

    def __init__(self, command: str, lines: tuple[str, ...]) -> None:
        reason = "; ".join(line for line in lines if line) or "no reason given"
        super().__init__(f"tmux refused `{command}`: {reason}")
        self.command = command
        self.lines = lines


class PaneSource(Protocol):
    """Live screens of the hub's panes, and sizing the windows they show."""

    @property
    def state(self) -> HubState:
        """The connection's current state."""
        ...

    @property
    def agents(self) -> tuple[str, ...]:
        """The windows known now, in window order."""
        ...

    def subscribe(self, listener: PaneListener) -> Callable[[], None]:
        """Call `listener` with every event from now on; returns the unsubscribe function."""
        ...

    async def start(self) -> None:
        """Begin connecting (returns at once; progress arrives as events)."""
        ...

    async def stop(self) -> None:
        """Disconnect and stop; the hub and its agents keep running."""
        ...

    def select(self, agent: str | None) -> None:
        """Stream `agent`'s pane at the fast rate (the one the user is looking at)."""
        ...

    def refresh(self, agent: str | None = None) -> None:
        """Capture `agent`'s pane (every pane if None) now, changed or not.

        While the hub is gone this also retries the connection at once.
        """
        ...

    async def resize(self, agent: str, width: int, height: int) -> None:
        """Size `agent`'s window to `width` x `height` (its grid cell: a 1:1 mirror);
        raises `TmuxCommandError` if tmux refuses and `HubUnavailable` when not connected."""
        ...

    def set_shown(self, agents: Collection[str] | None) -> None:
        """Capture only these agents' panes (None: every pane). A pane that is not shown
        costs nothing; it is captured afresh when it is shown again."""
        ...

    def send_key(self, agent: str, key: str, character: str | None = None) -> Awaitable[None]:
        """Type one key into `agent`'s pane, after every key and paste sent before it.

        `character` is what the key types when it types one (a letter, Enter's "\r",
        Ctrl-C's "\x03"); keys without one go by name: `up`, `pagedown`, `shift+tab`,
        `f5`, `ctrl+up`. The key is on its way when this returns; the awaitable
        raises `HubUnavailable` or `TmuxCommandError` if it could not be typed.
        """
        ...

    def paste(self, agent: str, text: str) -> Awaitable[None]:
        """Paste `text` into `agent`'s pane as one paste: bracketed (ESC[200~ … ESC[201~)
        when the program there asked for bracketed paste. Ordered like `send_key`."""
        ...
