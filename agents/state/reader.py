"""The one state reader: `missionctl status`, the app and the supervisor all ask it.

Three readers with three rule sets once disagreed (status said `idle` while
Codex's screen said it was working). Now there is one: it gathers what tmux, the
state files and — where the rules need it — the visible screen say, and
`state.resolve` decides. The screen is captured only for agents whose hooks
cannot settle it (no hook yet, starting, idle, or a provider whose hooks do not
report work), all such panes in one tmux call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from missionctl.agents.state.onscreen import ScreenReader, ScreenReading
from missionctl.agents.state.store import (
    DOWN,
    IDLE,
    STARTING,
    UNKNOWN,
    AgentState,
    HookRecord,
    StateStore,
    resolve,
)
from missionctl.agents.tmux.server import PaneInfo, Tmux


class ProviderTraits(ScreenReader, Protocol):
    """What the reader needs to know of a provider."""

    @property
    def name(self) -> str: ...

    @property
    def reports_work(self) -> bool: ...


@dataclass
class StateReader:
    """Reads the state of every agent of one hub, by one set of rules."""

    tmux: Tmux
    states: StateStore
    providers: Mapping[str, ProviderTraits]
    # A caller that reads often (the supervisor, 4 Hz) may reuse a screen this long.
    screen_ttl: float = 0.0
    # (when, pane id, reading) of each agent's last screen read.
    _screens: dict[str, tuple[float, str, ScreenReading]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _needs_screen(self, agent: str, hook: HookRecord | None) -> bool:
        provider = self.providers[agent]
        if hook is None or hook.state in (STARTING, IDLE, UNKNOWN):
            return True  # trust dialogs, questions hooks do not report, a silent start
        return not provider.reports_work

    def screens(self, targets: Mapping[str, str], now: float) -> dict[str, ScreenReading]:
        """Screen readings by agent for {agent: pane id}, reusing fresh ones."""
        out: dict[str, ScreenReading] = {}
        todo: dict[str, str] = {}
        for agent, pane_id in targets.items():
            cached = self._screens.get(agent)
            if cached and cached[1] == pane_id and now - cached[0] <= self.screen_ttl:
                out[agent] = cached[2]
            else:
                todo[agent] = pane_id
        captured = self.tmux.capture_many(list(todo.values())) if todo else {}
        for agent, pane_id in todo.items():
            if pane_id in captured:
                reading = self.providers[agent].read_screen(captured[pane_id])
                self._screens[agent] = (now, pane_id, reading)
                out[agent] = reading
        return out

    def read(
        self,
        agents: Iterable[str],
        panes: Mapping[str, PaneInfo],
        running: bool,
        now: float | None = None,
    ) -> dict[str, AgentState]:
        """The state of each agent in `agents`, from the hub's panes by window name."""
        now = time.time() if now is None else now
        agents = list(agents)
        hooks: dict[str, HookRecord | None] = {}
        states: dict[str, AgentState] = {}
        targets: dict[str, str] = {}
        for agent in agents:
            pane = panes.get(agent)
            if pane is None:
                states[agent] = (
                    AgentState(UNKNOWN, detail="no window in the hub")
                    if running
                    else AgentState(DOWN)
                )
                continue
            hooks[agent] = hook = self.states.hook(agent)
            if not pane.dead and self._needs_screen(agent, hook):
                targets[agent] = pane.pane_id
        screens = self.screens(targets, now)
        for agent, hook in hooks.items():
            pane = panes[agent]
            proc = self.states.proc(agent)
            screen = screens.get(agent)
            book = self.states.notices(agent)
            states[agent] = resolve(
                hook,
                paused_since=self.states.paused_since(agent),
                dead=pane.dead,
                dead_status=pane.exit_code,
                screen_state=screen.state if screen else None,
                screen_reason=screen.reason if screen else "",
                started_at=proc.started_at if proc else None,
                now=now,
                hooks_report_work=self.providers[agent].reports_work,
                taken_over=self.states.taken_over(agent),
                mail_waiting=isinstance(book, dict) and bool(book.get("waiting")),
            )
        return {agent: states[agent] for agent in agents if agent in states}
