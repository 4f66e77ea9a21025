"""A pane source the app's tests drive by hand, behind the real `PaneSource` protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence

from missionctl.agents.tmux import panes

CommandHandler = Callable[[tuple[str, ...]], Sequence[str]]


class FakePaneSource:
    """Records what the app asks for; tests push screens and states into it.

    `start` connects at once with `agents`; `resize` goes through `handler` (which
    may raise to stand for tmux refusing) and is recorded in `commands`.
    """

    def __init__(
        self, agents: Sequence[str] = ("supervisor",), handler: CommandHandler | None = None
    ) -> None:
        self._agents = tuple(agents)
        self._state = panes.HubState.STOPPED
        self._listeners: list[panes.PaneListener] = []
        self.handler = handler
        self.selected: str | None = None
        self.selections: list[str | None] = []
        self.refreshes: list[str | None] = []
        self.commands: list[tuple[str, ...]] = []
        self.started = False
        self.stopped = False
        self.shown: frozenset[str] | None = None
        self.shown_history: list[frozenset[str] | None] = []
        # What live send typed, in order: ("key", agent, key, character) or ("paste", agent, text).
        self.typed: list[tuple[str, ...]] = []
        self.refuse_typing: str | None = None  # set: typing fails with this tmux error

    # -- the protocol ---------------------------------------------------------------

    @property
    def state(self) -> panes.HubState:
        return self._state

    @property
    def agents(self) -> tuple[str, ...]:
        return self._agents

    def subscribe(self, listener: panes.PaneListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def start(self) -> None:
        self.started = True
        self.set_state(panes.HubState.CONNECTED)
        self.emit(panes.AgentsChanged(self._agents))

    async def stop(self) -> None:
        self.stopped = True
        self.set_state(panes.HubState.STOPPED)

    def select(self, agent: str | None) -> None:
        self.selected = agent
        self.selections.append(agent)

    def refresh(self, agent: str | None = None) -> None:
        self.refreshes.append(agent)

    async def resize(self, agent: str, width: int, height: int) -> None:
        args = ("resize", agent, str(width), str(height))
        self.commands.append(args)
        if self._state is not panes.HubState.CONNECTED:
            raise panes.HubUnavailable(f"cannot resize {agent}: the hub is {self._state.value}")
        try:
            if self.handler:
                self.handler(args)
        except panes.TmuxCommandError:
            raise
        except Exception as exc:  # a handler's error stands for tmux refusing the command
            raise panes.TmuxCommandError(" ".join(args), (str(exc),)) from exc

    def set_shown(self, agents: Collection[str] | None) -> None:
        self.shown = None if agents is None else frozenset(agents)
        self.shown_history.append(self.shown)

    def send_key(self, agent: str, key: str, character: str | None = None) -> Awaitable[None]:
        self.typed.append(("key", agent, key, character or ""))
        return self._typed()

    def paste(self, agent: str, text: str) -> Awaitable[None]:
        self.typed.append(("paste", agent, text))
        return self._typed()

    def _typed(self) -> Awaitable[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.refuse_typing is not None:
            future.set_exception(panes.TmuxCommandError("send-keys", (self.refuse_typing,)))
        else:
            future.set_result(None)
        return future

    # -- driving it from a test -------------------------------------------------------

    def emit(self, event: panes.PaneEvent) -> None:
        """Deliver `event` to every listener, as the real source does on its loop."""
        for listener in list(self._listeners):
            listener(event)

    def show(self, agent: str, lines: Sequence[str], pane: str | None = None) -> None:
        """Deliver a screen for `agent`."""
        self.emit(panes.ScreenUpdate(agent, pane or f"%{self._agents.index(agent)}", tuple(lines)))

    def set_state(self, state: panes.HubState, detail: str = "") -> None:
        """Move the connection to `state` and tell the listeners."""
        self._state = state
        self.emit(panes.ConnectionChanged(state, detail))

    def set_agents(self, agents: Sequence[str]) -> None:
        """Change the window list and tell the listeners."""
        self._agents = tuple(agents)
        self.emit(panes.AgentsChanged(self._agents))


# Checked by mypy: the fake keeps to the protocol the app is written against.
_conforms: type[panes.PaneSource] = FakePaneSource
