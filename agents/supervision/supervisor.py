"""`missionctl supervise`: window 0 of the hub.

It delivers mail notices into idle agents, announces mail for the human, answers
claims with the ledger's verdict (`claims.py`), calls standups on schedule and
mails the human each round's digest (`standup.py`), and logs each agent's state
changes. It is one process in the hub like the agents: if it dies, the agents
keep running and `missionctl up` starts it again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from missionctl import workspace as workspace_mod
from missionctl.agents.notify.notices import Watch, mail_notice
from missionctl.agents.notify.runs import RunWatch
from missionctl.agents.notify.send import Notifier
from missionctl.agents.org.hub import Hub
from missionctl.agents.providers import provider_for
from missionctl.agents.state.reader import StateReader
from missionctl.agents.state.store import IDLE
from missionctl.agents.supervision import standup
from missionctl.agents.supervision.claims import ClaimDesk
from missionctl.agents.supervision.notices import NoticeBook, may_type
from missionctl.agents.tmux.server import PaneInfo
from missionctl.cliargs import parser
from missionctl.files import open_private
from missionctl.mailbox import HUMAN, Mailbox, MailWatcher, Message

TICK_S = 0.25
RUNS_EVERY_S = 2.0  # how often runs are looked at for a crash to notify


def call_standup(ws: workspace_mod.Workspace, now: float | None = None) -> list[Message]:
    """Ask every agent for a standup (the text of `org/prompts/standup.md`); record the round."""
    return standup.call(ws, now)


def last_standup(ws: workspace_mod.Workspace) -> float | None:
    return standup.last_called(ws)


class Supervisor:
    """One pass of `tick()` looks at every agent and does what is due."""

    def __init__(self, hub: Hub, log: Callable[[str], None] = print) -> None:
        self.hub = hub
        self.ws = hub.ws
        self.box = Mailbox.for_workspace(self.ws)
        self.names = hub.org.names
        self.books = {name: NoticeBook.load(hub.states, name) for name in self.names}
        self.providers = {
            a.name: provider_for(a.provider, hub.org.provider_settings(a.provider))
            for a in hub.org.agents
        }
        # 4 Hz ticks need no fresher screen than a second old; a notice is typed only
        # after a fresh look of its own (`_deliver`).
        self.reader = StateReader(hub.tmux, hub.states, self.providers, screen_ttl=1.0)
        # org.toml's submit_delay wins over the provider's own.
        self.delays = {a.name: self._delay(a.name, a.provider) for a in hub.org.agents}
        self.last_state: dict[str, str] = {}
        self.log = log
        self._said: dict[str, str] = {}  # the last error or veto said per agent: say it once
        self.wake = threading.Event()
        self.started = time.time()
        self.claims = ClaimDesk(self.ws, self.box, log)
        self.digests = standup.Digests(self.ws, self.box, hub.org.standup_wait)
        # [notify]: needs-you, error exits, crashed runs and news mail for the human,
        # sent from here so they fire with no app open.
        self.watch = Watch(hub.org.name)
        self.notifier = Notifier(hub.org.notify, log)
        self.run_watch = RunWatch(self.ws)
        self._runs_at = 0.0

    def _delay(self, agent: str, provider: str) -> float:
        configured = self.hub.org.provider_settings(provider).submit_delay
        return self.providers[agent].submit_delay if configured is None else configured  # "0s" too

    # -- mail for the human ----------------------------------------------------------
    def on_message(self, recipient: str, message: Message) -> None:
        """Called by the mail watcher (its own thread): wake the loop; announce human mail."""
        if recipient == HUMAN:
            self.log(f"mail for you from {message.sender}: {message.headline} ({message.kind})")
            if message.kind == "standup":
                self.digests.reply_arrived()
            notice = mail_notice(message, self.hub.org.name, since=self.started)
            if notice is not None:
                self.notifier.send(notice)
        self.claims.offer(message)
        self.wake.set()

    def _once(self, agent: str, line: str) -> None:
        if self._said.get(agent) != line:
            self._said[agent] = line
            self.log(f"{agent}: {line}")

    # -- one pass -------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        panes = {p.window: p for p in self.hub.tmux.panes()}
        states = self.reader.read(self.names, panes, running=True, now=now)
        for notice in self.watch.states(states):
            self.notifier.send(notice)
        if now - self._runs_at >= RUNS_EVERY_S:
            self._runs_at = now
            for notice in self.watch.runs(self.run_watch.poll()):
                self.notifier.send(notice)
        for problem in self.hub.states.problems:
            self.log(f"state file problem: {problem}")
        self.hub.states.problems.clear()
        for agent in self.names:
            pane = panes.get(agent)
            state = states.get(agent)
            if pane is None or state is None:
                continue
            if self.last_state.get(agent) != state.name:
                if agent in self.last_state:
                    why = f" ({state.detail})" if state.detail else ""
                    self.log(f"{agent}: {self.last_state[agent]} -> {state.name}{why}")
                self.last_state[agent] = state.name
            if pane.dead:
                continue
            try:  # one agent's trouble must not stop mail for the others
                self._deliver(agent, pane, state.name, now)
            except Exception as exc:
                self._once(agent, f"mail notice failed: {type(exc).__name__}: {exc}")
        self.claims.answer_waiting()
        self._standup_if_due(now)
        self.digests.tick(now)

    def _deliver(self, agent: str, pane: PaneInfo, state: str, now: float) -> None:
        book = self.books[agent]
        provider = self.providers[agent]
        unread = self.box.inbox(agent)
        unread_ids = {m.id for m in unread}
        hook = self.hub.states.hook(agent)
        outcome = book.settle(hook, provider.has_prompt_hook, now, unread_ids)
        changed = outcome is not None
        if outcome == "waiting":
            self.log(f"{agent}: the mail notice was not confirmed; mail waiting (take over)")
        if state != IDLE or book.pending is not None:
            if changed:
                book.save(self.hub.states)
            return
        pruned = len(book.notified)
        book.forget_read(unread_ids)
        changed = changed or len(book.notified) != pruned
        notice = book.next_notice(state, unread)
        if notice is not None:
            ids, text = notice
            if provider.notice_channel == "print":
                self._print(pane, text)
                book.printed(ids)
                self.log(f"{agent}: told of {len(ids)} new message(s) (printed)")
                changed = True
            else:
                # A fresh look right before typing: nothing on screen may be answered.
                screen = self.hub.tmux.capture(pane.pane_id)
                veto = may_type(provider, hook, screen)
                if veto is not None:
                    self._once(agent, f"mail notice held back: {veto}")
                elif self.hub.states.taken_over(agent):
                    pass  # a person took the terminal meanwhile
                else:
                    book.sent(ids, text, time.time())
                    book.save(self.hub.states)  # before typing: a restart must not retype
                    self._type(pane, text, self.delays[agent])
                    self._said.pop(agent, None)
                    self.log(f"{agent}: told of {len(ids)} new message(s)")
                    changed = True
        if changed:
            book.save(self.hub.states)

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

    def _print(self, pane: PaneInfo, text: str) -> None:
        """Write a notice to the agent's terminal as output: shown, never read as input."""
        line = f"\r\n[missionctl] {text}\r\n".encode()
        fd = os.open(pane.tty, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

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
        watcher = MailWatcher(self.box, self.on_message, recipients=[*self.names, HUMAN])
        watcher.start()
        self.claims.sweep()
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # one bad pass must not end supervision
                    self._once("supervisor", f"error: {type(exc).__name__}: {exc}")
                self.wake.wait(TICK_S)
                self.wake.clear()
        finally:
            watcher.stop()
            self.notifier.close()


def main(argv: list[str]) -> int:
    parser("supervise", "Run the org's supervisor (window 0 of the hub runs this).").parse_args(
        argv
    )
    hub = Hub.find()
    logfile = hub.ws.logs_dir / "supervisor.log"
    hub.ws.private_dir("logs")

    def log(line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(stamped, flush=True)
        with open(open_private(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND), "a") as fh:
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
