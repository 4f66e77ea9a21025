"""A fake org behind the app's `OrgBackend` seam: fixed snapshots, recorded calls."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Hashable, Iterator
from dataclasses import replace

from missionctl.agents.org.monitor import AgentView, OrgSnapshot, Usage
from missionctl.agents.state.store import AgentState
from missionctl.agents.tmux.panes import PaneSource
from missionctl.ledger.board import LedgerBoard
from missionctl.mailbox import Message
from missionctl.train.runs.reader import RunProgress
from tests.tui.fakes import FakePaneSource

NAMES = tuple(f"r{i}" for i in range(1, 9))


def names(count: int) -> tuple[str, ...]:
    """r1..rN: the fake org's agents."""
    return tuple(f"r{i}" for i in range(1, count + 1))


def agent_view(name: str, i: int, state: str = "working", run: bool = True) -> AgentView:
    progress = None
    if run:
        progress = RunProgress(
            run_id=f"{name}-20261124T070102-9f2a", status="running", step=120 + i,
            total_steps=400, fraction=(120 + i) / 400, eta_s=95.0,
            losses=tuple(3.0 - 0.05 * k for k in range(20)), last_val_bpb=2.41 + i / 100,
            tok_s=12345.0, mfu=None, budget="flops=2e12",
        )  # fmt: skip
    # The first two train for an experiment, the others bare runs.
    arm = ("baseline", "nocap")[i] if i < 2 else None
    return AgentView(
        name=name, role="researcher", provider="claude" if i % 8 < 4 else "codex", gpu=i,
        state=AgentState(state), window_id=f"@{i + 1}", run=progress, unread=i % 3,
        experiment="softcap-off" if arm else None, arm=arm,
        usage=Usage(cpu_percent=97.0, mem_bytes=734_003_200),
    )  # fmt: skip


def snapshot(states: dict[str, str] | None = None, count: int = 8) -> OrgSnapshot:
    states = states or {}
    views = tuple(
        agent_view(n, i, states.get(n, "working" if i % 2 == 0 else "idle"))
        for i, n in enumerate(names(count))
    )
    return OrgSnapshot("softcap", "flat", True, views, human_unread=1, taken_at=0.0)


def mail(i: int, sender: str = "r1", to: str = "human", kind: str = "result",
         subject: str = "baseline done") -> Message:  # fmt: skip
    return Message(
        id=f"01m8660000000000000000000{i}", ts=f"2026-11-24T07:0{i}:00.000000Z", sender=sender,
        to=to, kind=kind, subject=subject, body="val_bpb=2.41", runs=("r1-x",),
    )  # fmt: skip


class FakeOrg:
    """Records every call; `snap` is what `snapshot()` returns (tests change it)."""

    def __init__(self, source: FakePaneSource | None = None, count: int = 8) -> None:
        self.names = names(count)
        self.snap = snapshot(count=count)
        self.source = source or FakePaneSource(("supervisor", *self.names))
        self.calls: list[tuple[str, ...]] = []
        self.mail_listener: Callable[[str, Message], None] | None = None
        self.mail = [mail(1, "r2", "r1", "task", "run seed 2"), mail(2)]
        self.up_state = True
        self.board: LedgerBoard | None = None  # set it to have the app receive it
        self._board_sent: LedgerBoard | None = None
        self.digest: Message | None = None
        self.usage_asked: Collection[str] | None = None

    @property
    def name(self) -> str:
        return "softcap"

    @property
    def agent_names(self) -> tuple[str, ...]:
        return self.names

    def pane_source(self) -> PaneSource:
        return self.source

    def snapshot(self, usage_for: Collection[str] | None = None) -> OrgSnapshot:
        self.usage_asked = usage_for
        return self.snap

    def set_state(self, agent: str, state: str) -> None:
        code = int(state[7:-1]) if state.startswith("exited(") else None
        new = AgentState(state, exit_code=code)
        self.snap = replace(
            self.snap,
            agents=tuple(replace(a, state=new) if a.name == agent else a
                         for a in self.snap.agents),
        )  # fmt: skip

    def is_up(self) -> bool:
        return self.up_state

    def up(self) -> list[tuple[str, str]]:
        self.calls.append(("up",))
        return []

    def down(self) -> list[str]:
        self.calls.append(("down",))
        return list(self.names)

    def toggle_pause(self, agent: str) -> str:
        self.calls.append(("toggle_pause", agent))
        return "paused"

    def kill(self, agent: str) -> None:
        self.calls.append(("kill", agent))

    def restart(self, agent: str) -> None:
        self.calls.append(("restart", agent))

    def send_mail(self, to: str, subject: str, body: str, kind: str = "note") -> list[Message]:
        self.calls.append(("send_mail", to, subject, body, kind))
        return [mail(9, "human", to, kind, subject)]

    def standup(self) -> int:
        self.calls.append(("standup",))
        return 8

    def recent_mail(self, limit: int = 50) -> list[Message]:
        return self.mail[-limit:]

    def ledger_board(self, also: Hashable = ()) -> LedgerBoard | None:
        """The board once each time a test sets a new one (as the real watch does)."""
        if self.board is None or self.board is self._board_sent:
            return None
        self._board_sent = self.board
        return self.board

    def latest_digest(self) -> Message | None:
        return self.digest

    def watch_mail(self, on_message: Callable[[str, Message], None]) -> Callable[[], None]:
        self.mail_listener = on_message
        return lambda: None

    @contextlib.contextmanager
    def takeover(self, agent: str) -> Iterator[Callable[[], None]]:
        self.calls.append(("begin_takeover", agent))
        try:
            yield lambda: self.calls.append(("attached", agent))
        finally:
            self.calls.append(("end_takeover", agent))
