"""The mission-control app: one screen of agent cells over a tmux hub it does not own.

The app only watches and asks: agents live in the hub and keep running when the
app quits or crashes. Screens stream in through a pane source (one tmux
control-mode client); states, runs and mail come from a snapshot worker thread
and the mail watcher, which only post messages.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from missionctl.agents.tmux.panes import PaneEvent, PaneSource
from missionctl.errors import UserError
from missionctl.mailbox import Message
from missionctl.tui.backend import OrgBackend
from missionctl.tui.messages import ActionDone, MailArrived, SnapshotReady
from missionctl.tui.screens.compose import ComposeMail, Draft
from missionctl.tui.screens.confirm import Confirm
from missionctl.tui.screens.grid import GridScreen
from missionctl.tui.screens.help import HelpScreen
from missionctl.tui.widgets.mail_feed import MailFeed

KEEP_RUNNING = (
    "The org keeps running in its tmux hub. `missionctl` comes back to it;"
    " `missionctl down` stops it."
)


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
    ) -> None:
        super().__init__()
        self.backend = backend
        self.source = source if source is not None else backend.pane_source()
        self.poll_interval = poll_interval
        self.grid = GridScreen(backend.agent_names)
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._stop_mail: Callable[[], None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def on_mount(self) -> None:
        self.title = f"missionctl · {self.backend.name}"
        await self.push_screen(self.grid)
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
                self.grid.post_message(SnapshotReady(self.backend.snapshot()))
            except Exception as exc:  # a bad look must not end the watching
                self.log.error(f"snapshot failed: {exc}")
            self._stop.wait(self.poll_interval)

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

    # -- what the grid asks for -------------------------------------------------------------
    def select_agent(self, agent: str) -> None:
        self.source.select(agent)

    def resize_window(self, agent: str, width: int, height: int) -> None:
        self.run_worker(self._send(self.backend.resize_argv(agent, width, height)), group="tmux")

    async def _send(self, args: Iterable[str]) -> None:
        try:
            await self.source.command(*args)
        except UserError as exc:  # hub gone or window missing: the banner says so already
            self.log.warning(str(exc))

    def take_over(self, agent: str) -> None:
        """Give the terminal to the agent (tmux attach) until C-] comes back."""
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        size: tuple[int, int] | None = None
        try:
            size = self.backend.begin_takeover(agent)
            argv = self.backend.takeover_argv(agent)
            with self.suspend():
                # Blocking on purpose: the terminal is the agent's until C-]. The
                # control client is paused by tmux meanwhile and recaptures after.
                subprocess.run(argv, env=env, check=False)
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
        finally:
            if size is not None:
                try:
                    self.backend.end_takeover(agent, size)
                except UserError as exc:  # the hub went away meanwhile: the banner says so
                    self.notify(str(exc), severity="error", markup=False)
        self.grid.resize_windows(force=True)
        self.source.refresh()

    def control(self, verb: str, agent: str | None) -> None:
        self._control(verb, agent)

    @work(thread=True, group="control")
    def _control(self, verb: str, agent: str | None) -> None:
        try:
            if verb == "pause" and agent:
                done = f"{agent} {self.backend.toggle_pause(agent)}"
            elif verb == "kill" and agent:
                self.backend.kill(agent)
                done = f"{agent} killed"
            elif verb == "restart" and agent:
                self.backend.restart(agent)
                done = f"{agent} restarted"
            elif verb == "standup":
                done = f"standup called: {self.backend.standup()} agents asked"
            elif verb == "up":
                self.backend.up()
                done = "the org is up"
            elif verb == "down":
                stopped = self.backend.down()
                farewell = f"Stopped the org ({', '.join(stopped) or 'nothing was running'})."
                self.call_from_thread(self.exit, None, 0, farewell)
                return
            else:
                return
        except UserError as exc:
            self.post_message(ActionDone(verb, str(exc)))
            return
        self.post_message(ActionDone(done))

    def on_action_done(self, message: ActionDone) -> None:
        if message.error:
            self.notify(message.error, severity="error", markup=False)
        else:
            self.notify(message.what, markup=False)
            self.source.refresh()

    def confirm_then(self, question: str, verb: str, agent: str | None) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.control(verb, agent)

        self.push_screen(Confirm(question), answered)

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

    def show_help(self) -> None:
        self.push_screen(HelpScreen())

    def quit_keep_running(self) -> None:
        self.exit(None, 0, KEEP_RUNNING)

    # -- the command palette -------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        grid = self.grid
        for title, help_text, action in (
            (
                "Take over the selected agent",
                "attach its terminal; C-] comes back",
                grid.action_takeover,
            ),
            (
                "Pause or resume the selected agent",
                "freeze or thaw its whole tree",
                grid.action_pause,
            ),
            ("Kill the selected agent", "asks first", grid.action_kill),
            ("Restart the selected agent", "same window and worktree", grid.action_restart),
            ("Mail the selected agent", "as the human", grid.action_mail),
            ("Broadcast mail", "to every agent", grid.action_broadcast),
            ("Call a standup", "every agent replies to you", grid.action_standup),
            ("Toggle the focus layout", "one agent large", grid.action_focus_layout),
            ("Start the org", "missionctl up", grid.action_up),
            ("Quit, keep the org running", "missionctl comes back to it", grid.action_quit_keep),
            ("Stop the org and quit", "asks first", grid.action_stop_and_quit),
        ):
            yield SystemCommand(title, help_text, action)
