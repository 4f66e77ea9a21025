"""The mission-control app: one screen of agent cells over a tmux hub it does not own.

The app only watches and asks: agents live in the hub and keep running when the
app quits or crashes. Screens stream in through a pane source (one tmux
control-mode client); states, runs and mail come from a snapshot worker thread
and the mail watcher, which only post messages.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial

from textual import events, work
from textual.app import App, SuspendNotSupported, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen

from missionctl.agents.notify.notices import Notice, RateLimit, Watch, mail_notice
from missionctl.agents.org.monitor import OrgSnapshot
from missionctl.agents.tmux.panes import PaneEvent, PaneSource
from missionctl.errors import UserError
from missionctl.ledger.board import LedgerBoard
from missionctl.mailbox import Message
from missionctl.tui.actions import ACTIONS
from missionctl.tui.alerts import terminal_alert
from missionctl.tui.backend import OrgBackend
from missionctl.tui.messages import (
    ActionDone,
    AgentSelected,
    AlertsReady,
    ControlRequested,
    DigestRequested,
    HelpRequested,
    LedgerChanged,
    LedgerRequested,
    LiveModeChanged,
    MailArrived,
    MailRequested,
    PanesShown,
    QuitRequested,
    SnapshotReady,
    TakeoverRequested,
    Verb,
    WindowSized,
)
from missionctl.tui.screens.compose import ComposeMail, Draft
from missionctl.tui.screens.confirm import Confirm
from missionctl.tui.screens.digest import DigestScreen
from missionctl.tui.screens.grid import GridScreen
from missionctl.tui.screens.help import HelpScreen
from missionctl.tui.screens.ledger import ExperimentScreen, LedgerScreen
from missionctl.tui.widgets.mail_feed import MailFeed

KEEP_RUNNING = (
    "The org keeps running in its tmux hub. `missionctl` comes back to it;"
    " `missionctl down` stops it."
)

NO_TAKEOVER = (
    "No terminal of its own to hand over here (a browser, or headless): typing goes to"
    " {agent} instead (live send; C-] comes back). The real terminal: `missionctl attach"
    " {agent}` from a shell."
)
# What ends live send: C-], as in takeover (tmux's own detach key in the hub).
LIVE_EXIT_KEY = "ctrl+right_square_bracket"


class MissionControlApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "missionctl"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        backend: OrgBackend,
        source: PaneSource | None = None,
        *,
        poll_interval: float = 1.0,
        start_screen: str = "grid",
    ) -> None:
        super().__init__()
        self.start_screen = start_screen  # "grid", or "ledger" on top of it
        self.backend = backend
        self.source = source if source is not None else backend.pane_source()
        self.poll_interval = poll_interval
        self.grid = GridScreen(backend.agent_names)
        self.board: LedgerBoard | None = None
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._stop_mail: Callable[[], None] | None = None
        # Notifications: the same rules as the supervisor's [notify], shown here.
        self._watch = Watch(backend.name)
        self._alert_limit = RateLimit(repeat_after=60.0)
        self._started = time.time()
        self._verbs: dict[Verb, Callable[[str | None], str]] = {
            Verb.PAUSE: self._pause,
            Verb.KILL: self._kill,
            Verb.RESTART: self._restart,
            Verb.STANDUP: self._standup,
            Verb.UP: self._up,
        }

    # -- live send: keys to the selected agent's pane ------------------------------------
    async def on_event(self, event: events.Event) -> None:
        """In live send every key and paste goes to the agent, ahead of every binding
        (the app's own ctrl+q and ctrl+p included: an agent's readline wants them)."""
        agent = self.grid.live_agent
        live = (
            agent is not None
            and isinstance(event, events.Key | events.Paste)
            and not event.is_forwarded
            and self.screen is self.grid  # a dialog on top gets its own keys
        )
        if live and isinstance(event, events.Key):
            event.stop()
            if event.key == LIVE_EXIT_KEY:
                self.grid.end_live()
            else:
                assert agent is not None
                character = event.character if event.character else None
                self._typed(self.source.send_key(agent, event.key, character))
            return
        if live and isinstance(event, events.Paste):
            event.stop()
            assert agent is not None
            self._typed(self.source.paste(agent, event.text))
            return
        await super().on_event(event)

    def _typed(self, sent: Awaitable[None]) -> None:
        def done(future: asyncio.Future[None]) -> None:
            error = None if future.cancelled() else future.exception()
            if error is not None and self.grid.live_agent is not None:
                # The window went away or tmux refused: say so once and stop typing.
                self.grid.end_live()
                self.notify(f"live send stopped: {error}", severity="error", markup=False)

        asyncio.ensure_future(sent).add_done_callback(done)

    def on_live_mode_changed(self, message: LiveModeChanged) -> None:
        if message.agent is not None:
            self.source.select(message.agent)  # its screen at the fast rate meanwhile

    def on_panes_shown(self, message: PanesShown) -> None:
        self.source.set_shown(message.agents)

    # -- lifecycle ------------------------------------------------------------------------
    async def on_mount(self) -> None:
        self.title = f"missionctl · {self.backend.name}"
        await self.push_screen(self.grid)
        if self.start_screen == "ledger":
            await self.push_screen(LedgerScreen(self.board))
        self._unsubscribe = self.source.subscribe(self._on_pane_event)
        await self.source.start()
        self.poll_snapshots()
        self.load_mail()

    async def on_unmount(self) -> None:
        self._stop.set()
        if self._stop_mail is not None:
            self._stop_mail()
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.source.stop()

    def _on_pane_event(self, event: PaneEvent) -> None:
        self.grid.pane_event(event)

    @work(thread=True, exclusive=True, group="snapshot")
    def poll_snapshots(self) -> None:
        """Look at the org about once a second; a newer snapshot replaces a queued one."""
        while not self._stop.is_set():
            try:
                # Machine use only where a strip shows it: the agents on screen.
                snapshot = self.backend.snapshot(self.grid.shown_agents)
                self.grid.post_message(SnapshotReady(snapshot))
                notices = self._notices(snapshot)
                if notices:
                    self.post_message(AlertsReady(notices))
                # The ledger only when it changed: two stats, and the runs shown now.
                runs = tuple((a.name, a.run.run_id, a.run.status) for a in snapshot.agents if a.run)
                board = self.backend.ledger_board(runs)
                if board is not None:
                    self.post_message(LedgerChanged(board))
            except Exception as exc:  # a bad look must not end the watching
                self.log.error(f"snapshot failed: {exc}")
            self._stop.wait(self.poll_interval)

    def _notices(self, snapshot: OrgSnapshot) -> list[Notice]:
        """What changed since the last snapshot that a person should hear about."""
        if not snapshot.running:
            return []  # the org stopping is not every agent's news
        notices = self._watch.states({a.name: a.state for a in snapshot.agents})
        runs = {
            a.name: (a.run.run_id, a.run.status)
            for a in snapshot.agents
            if a.run is not None and a.run.run_id is not None
        }
        return notices + self._watch.runs(runs)

    def on_alerts_ready(self, message: AlertsReady) -> None:
        for notice in message.notices:
            self.alert(notice)

    def alert(self, notice: Notice) -> None:
        """Tell the person: a toast in the app, and the terminal's bell and notification."""
        if not self._alert_limit.allow(notice, time.monotonic()):
            return
        severity: SeverityLevel = "warning" if notice.event in ("needs-you", "mail") else "error"
        self.notify(notice.message, title=notice.title, severity=severity, markup=False)
        self._ring(notice)

    def _ring(self, notice: Notice) -> None:
        """The terminal's bell and desktop notification (none headless; a bell in a browser)."""
        if self._driver is None or self.is_headless:
            return
        if self.is_web:
            self.bell()  # a browser tab has no desktop notification sequence
            return
        inside_tmux = bool(os.environ.get("TMUX"))
        self._driver.write(terminal_alert(notice.title, notice.message, inside_tmux=inside_tmux))

    @work(thread=True, group="mail")
    def load_mail(self) -> None:
        def arrived(recipient: str, message: Message) -> None:
            self.post_message(MailArrived(recipient, message))

        # Watch first, then load the history: the feed shows each id once, so mail
        # landing in between is neither lost nor doubled.
        stop = self.backend.watch_mail(arrived)
        self._stop_mail = stop
        if self._stop.is_set():  # the app quit while the watcher was starting
            stop()
            return
        for message in self.backend.recent_mail():
            self.post_message(MailArrived(message.to, message))

    def on_mail_arrived(self, message: MailArrived) -> None:
        added = self.grid.query_one("#feed", MailFeed).add(message.mail)
        if added and message.recipient == "human" and message.mail.kind != "note":
            # Mail text is other agents' words: never Textual markup.
            self.notify(
                f"{message.mail.sender}: {message.mail.headline}",
                title="Mail for you",
                markup=False,
            )
            # Only news: the history loaded at start rang when it arrived.
            news = mail_notice(message.mail, self.backend.name, since=self._started)
            if news is not None:
                self._ring(news)  # who and what, never the subject

    # -- what the grid asks for -------------------------------------------------------------
    def on_agent_selected(self, message: AgentSelected) -> None:
        self.source.select(message.agent)

    def on_window_sized(self, message: WindowSized) -> None:
        self._resize(message)

    # A worker through @work, which makes the coroutine only when the worker starts: one
    # asked for while the app shuts down never starts, and is then no un-awaited coroutine.
    @work(group="tmux")
    async def _resize(self, message: WindowSized) -> None:
        try:
            await self.source.resize(message.agent, message.width, message.height)
        except UserError as exc:  # hub gone or window missing: the banner says so already
            self.log.warning(str(exc))

    def on_takeover_requested(self, message: TakeoverRequested) -> None:
        """Give the terminal to the agent (tmux attach) until C-] comes back."""
        try:
            with self.backend.takeover(message.agent) as attach, self.suspend():
                # Blocking on purpose: the terminal is the agent's until C-]. The
                # control client is paused by tmux meanwhile and recaptures after.
                attach()
        except UserError as exc:  # the hub went away, before or meanwhile
            self.notify(str(exc), severity="error", markup=False)
        except SuspendNotSupported:  # no terminal of ours to hand over (a browser, a test)
            self.notify(NO_TAKEOVER.format(agent=message.agent), severity="warning", markup=False)
            self.grid.start_live()
        self.grid.resize_windows(force=True)
        self.source.refresh()

    def on_control_requested(self, message: ControlRequested) -> None:
        if message.confirm is None:
            self._control(message.verb, message.agent)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._control(message.verb, message.agent)

        self.push_screen(Confirm(message.confirm), answered)

    @work(thread=True, group="control")
    def _control(self, verb: Verb, agent: str | None) -> None:
        if verb is Verb.DOWN:
            try:
                stopped = self.backend.down()
            except UserError as exc:
                self.post_message(ActionDone(verb.value, str(exc)))
                return
            farewell = f"Stopped the org ({', '.join(stopped) or 'nothing was running'})."
            self.call_from_thread(self.exit, None, 0, farewell)
            return
        try:
            done = self._verbs[verb](agent)
        except UserError as exc:
            self.post_message(ActionDone(verb.value, str(exc)))
            return
        self.post_message(ActionDone(done))

    # Each returns what to tell the user; they run in a worker thread.
    def _pause(self, agent: str | None) -> str:
        return f"{agent} {self.backend.toggle_pause(_named(agent))}"

    def _kill(self, agent: str | None) -> str:
        self.backend.kill(_named(agent))
        return f"{agent} killed"

    def _restart(self, agent: str | None) -> str:
        self.backend.restart(_named(agent))
        return f"{agent} restarted"

    def _standup(self, _agent: str | None) -> str:
        return f"standup called: {self.backend.standup()} agents asked"

    def _up(self, _agent: str | None) -> str:
        self.backend.up()
        return "the org is up"

    def on_action_done(self, message: ActionDone) -> None:
        if message.error:
            self.notify(message.error, severity="error", markup=False)
        else:
            self.notify(message.what, markup=False)
            self.source.refresh()

    def on_mail_requested(self, message: MailRequested) -> None:
        self.compose_mail(message.to)

    def compose_mail(self, to: str) -> None:
        def answered(draft: Draft | None) -> None:
            if draft is not None:
                self._send_mail(draft)

        self.push_screen(ComposeMail(to), answered)

    @work(thread=True, group="control")
    def _send_mail(self, draft: Draft) -> None:
        try:
            sent = self.backend.send_mail(draft.to, draft.subject, draft.body, draft.kind)
        except UserError as exc:
            self.post_message(ActionDone("mail", str(exc)))
            return
        self.post_message(ActionDone(f"mail sent to {', '.join(m.to for m in sent)}"))

    def on_help_requested(self, _message: HelpRequested) -> None:
        self.push_screen(HelpScreen())

    # -- the ledger and the standup digest ----------------------------------------------------
    def on_ledger_changed(self, message: LedgerChanged) -> None:
        self.board = message.board
        for screen in self.screen_stack:
            if isinstance(screen, LedgerScreen | ExperimentScreen):
                screen.show(message.board)

    def on_ledger_requested(self, _message: LedgerRequested) -> None:
        self.push_screen(LedgerScreen(self.board))

    def on_digest_requested(self, _message: DigestRequested) -> None:
        self.push_screen(DigestScreen(self.backend.latest_digest()))

    def on_quit_requested(self, _message: QuitRequested) -> None:
        self.exit(None, 0, KEEP_RUNNING)

    # -- the command palette -------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for row in ACTIONS:
            if row.palette is not None:
                title, help_text = row.palette
                yield SystemCommand(title, help_text, getattr(self.grid, f"action_{row.action}"))
        # Jump to any agent by name: with 32 agents, faster than keys and pages.
        for cell in self.grid.cells:
            state = cell.view.state.name if cell.view is not None else "unknown"
            yield SystemCommand(
                f"Jump to {cell.agent}",
                f"agent {cell.index + 1}, {state}",
                partial(self.grid.select_agent, cell.agent),
            )


def _named(agent: str | None) -> str:
    if agent is None:
        raise UserError("select an agent first")
    return agent
