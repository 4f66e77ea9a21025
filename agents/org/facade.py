"""The running org as the app drives it: snapshots, control verbs, mail, takeover.

One object over the hub, the mailbox and the monitor, so the app has one seam
(`missionctl.tui.backend.OrgBackend`) and its tests one fake.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Collection, Hashable, Iterator

from missionctl.agents.org.hub import Hub
from missionctl.agents.org.monitor import OrgMonitor, OrgSnapshot
from missionctl.agents.supervision.standup import latest_digest
from missionctl.agents.supervision.supervisor import call_standup
from missionctl.agents.tmux.client import ControlClient
from missionctl.agents.tmux.panes import PaneSource
from missionctl.agents.tmux.server import env_outside_tmux
from missionctl.ledger.board import BoardWatch, LedgerBoard
from missionctl.mailbox import HUMAN, Mailbox, MailWatcher, Message
from missionctl.workspace import Workspace


class Org:
    """A workspace's org, for the app."""

    def __init__(self, ws: Workspace) -> None:
        self.hub = Hub(ws)
        self.ws = ws
        self.mailbox = Mailbox.for_workspace(ws)
        self.monitor = OrgMonitor(self.hub, self.mailbox)
        self.board_watch = BoardWatch(ws)

    @property
    def name(self) -> str:
        return self.hub.org.name

    @property
    def agent_names(self) -> tuple[str, ...]:
        return self.hub.org.names

    def pane_source(self) -> PaneSource:
        return ControlClient(self.ws.socket_name)

    def snapshot(self, usage_for: Collection[str] | None = None) -> OrgSnapshot:
        """The org now; machine use only for `usage_for` (None: every agent)."""
        return self.monitor.poll(usage_for=usage_for)

    def is_up(self) -> bool:
        return self.hub.is_up()

    def up(self) -> list[tuple[str, str]]:
        return self.hub.up()

    def down(self) -> list[str]:
        return self.hub.down()

    def toggle_pause(self, agent: str) -> str:
        """Pause a running agent or resume a paused one; say which."""
        if self.hub.states.paused_since(agent) is not None:
            self.hub.resume(agent)
            return "resumed"
        self.hub.pause(agent)
        return "paused"

    def kill(self, agent: str) -> None:
        self.hub.kill(agent)

    def restart(self, agent: str) -> None:
        self.hub.restart(agent)

    def send_mail(self, to: str, subject: str, body: str, kind: str = "note") -> list[Message]:
        return self.mailbox.send(HUMAN, to, body, kind=kind, subject=subject)

    def standup(self) -> int:
        return len(call_standup(self.ws))

    def recent_mail(self, limit: int = 50) -> list[Message]:
        """The newest messages of the whole org, one per broadcast, oldest first."""
        seen: dict[str, Message] = {}
        for envelope in self.mailbox.all_envelopes():
            seen.setdefault(envelope.message.id, envelope.message)
        return sorted(seen.values(), key=lambda m: m.id)[-limit:]

    def ledger_board(self, also: Hashable = ()) -> LedgerBoard | None:
        """The ledger's board when it changed since the last call (see `BoardWatch`)."""
        return self.board_watch.poll(also)

    def latest_digest(self) -> Message | None:
        return latest_digest(self.mailbox)

    def watch_mail(self, on_message: Callable[[str, Message], None]) -> Callable[[], None]:
        """Follow every mailbox of the org; returns the function that stops following."""
        watcher = MailWatcher(self.mailbox, on_message)
        watcher.start()
        return watcher.stop

    @contextlib.contextmanager
    def takeover(self, agent: str) -> Iterator[Callable[[], None]]:
        """While open, the agent's window follows the terminal that attaches; yields the
        function that attaches this terminal (until C-]). The size comes back on exit."""
        size = self.hub.begin_takeover(agent)
        try:
            argv = self.hub.takeover_argv(agent)

            def attach() -> None:
                # Interactive and as long as the user likes: no timeout on purpose.
                subprocess.run(argv, env=env_outside_tmux(), check=False)

            yield attach
        finally:
            self.hub.end_takeover(agent, size)
