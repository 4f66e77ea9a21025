"""The seam between the app and the org: what the app needs, as a Protocol.

The real one is `missionctl.agents.org.facade.Org`; the app's tests use a fake.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from contextlib import AbstractContextManager
from typing import Protocol

from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.agents.tmux.panes import PaneSource
from missionctl.ledger.board import LedgerBoard
from missionctl.mailbox import Message


class OrgBackend(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def agent_names(self) -> tuple[str, ...]: ...

    def pane_source(self) -> PaneSource: ...

    def snapshot(self, usage_for: Collection[str] | None = None) -> OrgSnapshot:
        """The org now; machine use only for the agents in `usage_for` (None: all)."""
        ...

    def is_up(self) -> bool: ...

    def up(self) -> list[tuple[str, str]]: ...

    def down(self) -> list[str]: ...

    def toggle_pause(self, agent: str) -> str: ...

    def kill(self, agent: str) -> None: ...

    def restart(self, agent: str) -> None: ...

    def send_mail(self, to: str, subject: str, body: str, kind: str = "note") -> list[Message]: ...

    def standup(self) -> int: ...

    def recent_mail(self, limit: int = 50) -> list[Message]: ...

    def ledger_board(self, also: Hashable = ()) -> LedgerBoard | None:
        """The ledger as the app shows it, when it (or `also`) changed since the last call;
        None when nothing did (cheap: the app asks about once a second)."""
        ...

    def latest_digest(self) -> Message | None:
        """The newest standup digest mailed to the human, if any."""
        ...

    def watch_mail(self, on_message: Callable[[str, Message], None]) -> Callable[[], None]:
        """Call `on_message(recipient, message)` for new mail (from a thread); returns stop."""
        ...

    def takeover(self, agent: str) -> AbstractContextManager[Callable[[], None]]:
        """While open, `agent`'s window follows the terminal that attaches; the function
        it gives attaches this terminal (blocking until C-] detaches). On close the
        window gets its size back."""
        ...
