"""`missionctl supervise`: window 0 of the hub.

It delivers mail notices into idle agents, announces mail for the human, calls
standups on schedule, and logs each agent's state changes. It is one process in
the hub like the agents: if it dies, the agents keep running and `missionctl up`
starts it again.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from missionctl import workspace as workspace_mod
from missionctl.agents.delivery import NoticeBook
from missionctl.agents.hub import Hub
from missionctl.agents.providers import provider_for
from missionctl.agents.screen import guess_state
from missionctl.agents.state import resolve
from missionctl.agents.tmux import PaneInfo
from missionctl.cliargs import parser
from missionctl.mailbox import HUMAN, Mailbox, MailWatcher, Message

SENDER = "supervisor"
TICK_S = 0.25
STANDUP_SUBJECT = "standup"
STANDUP_BODY = (
    "Standup. Reply to the human in three short lines: what you finished (cite run ids),"
    " what you are doing next, and what blocks you. Send it with:\n"
    "  missionctl mail send --to human --kind standup --subject 'standup <your name>' -"
)


def call_standup(ws: workspace_mod.Workspace, now: float | None = None) -> list[Message]:
    """Ask every agent for a standup; remember when, for the schedule."""
    box = Mailbox.for_workspace(ws)
    sent = box.send(SENDER, "all", STANDUP_BODY, kind="standup", subject=STANDUP_SUBJECT)
    sent = [m for m in sent if m.to != HUMAN]
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    (ws.state_dir / "standup.json").write_text(
        json.dumps({"last": time.time() if now is None else now})
    )
    return sent


def last_standup(ws: workspace_mod.Workspace) -> float | None:
    try:
        data = json.loads((ws.state_dir / "standup.json").read_text())
        return float(data["last"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


class Supervisor:
    """One pass of `tick()` looks at every agent and does what is due."""

    def __init__(self, hub: Hub, log: Callable[[str], None] = print) -> None:
        self.hub = hub
        self.ws = hub.ws
        self.box = Mailbox.for_workspace(self.ws)
        self.books = {a.name: NoticeBook.load(self.ws.state_dir, a.name) for a in hub.org.agents}
        self.providers = {a.name: provider_for(a.provider) for a in hub.org.agents}
        # org.toml's submit_delay wins over the provider's own.
        self.delays = {
            a.name: hub.org.provider_settings(a.provider).submit_delay
            or self.providers[a.name].submit_delay
            for a in hub.org.agents
        }
        self.last_state: dict[str, str] = {}
        self.log = log
        self.wake = threading.Event()
        self.started = time.time()

    # -- mail for the human ----------------------------------------------------------
    def on_message(self, recipient: str, message: Message) -> None:
        """Called by the mail watcher (its own thread): wake the loop; announce human mail."""
        if recipient == HUMAN:
            self.log(f"mail for you from {message.sender}: {message.headline} ({message.kind})")
        self.wake.set()

    # -- one pass -------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        panes = {p.window: p for p in self.hub.tmux.panes()}
        for spec in self.hub.org.agents:
            pane = panes.get(spec.name)
            if pane is None:
                continue
            state = self._state(spec.name, pane, now)
            if self.last_state.get(spec.name) != state:
                if spec.name in self.last_state:
                    self.log(f"{spec.name}: {self.last_state[spec.name]} -> {state}")
                self.last_state[spec.name] = state
            if not pane.dead:
                self._deliver(spec.name, pane, state, now)
        self._standup_if_due(now)

    def _state(self, agent: str, pane: PaneInfo, now: float) -> str:
        proc = self.hub.states.proc(agent)
        provider = self.providers[agent]
        hook = self.hub.states.hook(agent)
        guess = None
        # The screen only matters where it can overturn an idle hook before a notice is
        # typed: capture then, not on every tick (4 Hz x every Codex agent).
        if (
            not provider.reports_work
            and not pane.dead
            and hook is not None
            and hook.state == "idle"
            and self.box.unread_count(agent)
        ):
            guess = guess_state(provider.name, self.hub.tmux.capture(pane.pane_id))
        return resolve(
            hook,
            paused_since=self.hub.states.paused_since(agent),
            dead=pane.dead,
            dead_status=pane.exit_code,
            screen_guess=guess,
            started_at=proc.started_at if proc else None,
            now=now,
            hooks_report_work=provider.reports_work,
        ).name

    def _deliver(self, agent: str, pane: PaneInfo, state: str, now: float) -> None:
        book = self.books[agent]
        provider = self.providers[agent]
        changed = False
        outcome = book.settle(self.hub.states.hook(agent), provider.has_prompt_hook, now)
        if outcome == "confirmed":
            changed = True
        elif outcome == "expired":
            self.log(f"{agent}: the mail notice was not confirmed; it will be sent again")
            changed = True
        if self.hub.states.taken_over(agent):
            state = "taken-over"  # a person is typing there: never type over them
        if state != "idle" or book.pending is not None:
            if changed:
                book.save(self.ws.state_dir)
            return
        unread = self.box.inbox(agent)
        book.forget_read({m.id for m in unread} | set(book.pending.ids if book.pending else []))
        notice = book.next_notice(state, unread)
        if notice is not None:
            ids, text = notice
            self._type(pane, provider.notice_prefix + text, self.delays[agent])
            book.sent(ids, text, time.time())
            self.log(f"{agent}: told of {len(ids)} new message(s)")
            changed = True
        if changed:
            book.save(self.ws.state_dir)

    def _type(self, pane: PaneInfo, text: str, delay: float) -> None:
        """Paste one line (bracketed, if the program asked for it), then Enter."""
        buffer = f"missionctl-{pane.window}"
        self.hub.tmux.run_many(
            [
                ["set-buffer", "-b", buffer, "--", text],
                ["paste-buffer", "-p", "-d", "-b", buffer, "-t", pane.pane_id],
            ]
        )
        time.sleep(delay)  # TUIs that see Enter inside the paste would not submit it
        self.hub.tmux.run("send-keys", "-t", pane.pane_id, "Enter")

    def _standup_if_due(self, now: float) -> None:
        every = self.hub.org.standup_every
        if every is None:
            return
        last = last_standup(self.ws) or self.started
        if now - last >= every:
            sent = call_standup(self.ws, now)
            self.log(f"standup called ({len(sent)} agents asked)")

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        watcher = MailWatcher(self.box, self.on_message, recipients=[*self.hub.org.names, HUMAN])
        watcher.start()
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # one bad pass must not end supervision
                    self.log(f"supervisor error: {type(exc).__name__}: {exc}")
                self.wake.wait(TICK_S)
                self.wake.clear()
        finally:
            watcher.stop()


def main(argv: list[str]) -> int:
    parser("supervise", "Run the org's supervisor (window 0 of the hub runs this).").parse_args(
        argv
    )
    hub = Hub.find()
    logfile = hub.ws.logs_dir / "supervisor.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, flush=True)
        with open(logfile, "a", encoding="utf-8") as fh:
            fh.write(stamped + "\n")

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    log(f"supervising org {hub.org.name}: {', '.join(hub.org.names)}")
    try:
        Supervisor(hub, log).run(stop)
    except KeyboardInterrupt:
        pass
    log("supervisor stopped")
    return 0
