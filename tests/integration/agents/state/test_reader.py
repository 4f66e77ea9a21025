"""One state reader: status, the app and the supervisor agree, and never answer a question.

A fake full-screen CLI (`tests/fixtures/fake_tui.py`) stands in for Codex in a real
hub: the test sets its screen and the hook events it reports, and reads every key
that reaches it. Each situation below once read differently in `missionctl status`,
the app and the supervisor, or let the supervisor's Enter answer an approval.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import pytest

from missionctl.agents.org.hub import Hub
from missionctl.agents.org.monitor import OrgMonitor
from missionctl.agents.supervision.notices import CONFIRM_TIMEOUT_S
from missionctl.agents.supervision.supervisor import Supervisor
from missionctl.mailbox import Mailbox
from tests.helpers import FIXTURES, SCREENS, run_missionctl, wait_for

FAKE = FIXTURES / "fake_tui.py"
TURN_DONE = 'codex-notify {"type": "agent-turn-complete"}'
ORG = (
    '[[agent]]\nname = "x1"\nprovider = "codex"\n\n'
    f'[providers.codex]\ncommand = ["{sys.executable}", "{FAKE}"]\n'
)


class FakeCodex:
    """The fake CLI in agent x1's window, driven through its files."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.dir = hub.ws.worktree("x1")
        self.hooks = 0

    def _write(self, name: str, text: str) -> None:
        tmp = self.dir / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.dir / name)

    def show(self, fixture: str) -> None:
        text = (SCREENS / f"{fixture}.txt").read_text()
        self._write("screen.txt", text)
        first = text.strip().splitlines()[0].strip()
        wait_for(lambda: first in self.hub.tmux.capture("=hub:x1"), message=f"{fixture} drawn")

    def hook(self, line: str) -> None:
        self._write("hook.txt", line)
        self.hooks += 1
        done = self.dir / "hooked.txt"
        wait_for(lambda: done.exists() and len(done.read_text().splitlines()) >= self.hooks,
                 message=f"hook {line}")  # fmt: skip

    def typed(self) -> bytes:
        log = self.dir / "keys.log"
        return log.read_bytes() if log.exists() else b""


def _every_reader(hub: Hub) -> list[tuple[str, str]]:
    """(state, detail) as status (in-process and the real CLI), the app and the
    supervisor each read it, at about the same moment."""
    panes = {p.window: p for p in hub.tmux.panes()}
    status = hub.statuses()[0].state
    app = OrgMonitor(hub).poll().agents[0].state
    supervisor = Supervisor(hub, log=lambda _line: None).reader.read(["x1"], panes, True)["x1"]
    cli = run_missionctl(["status", "--json"], cwd=hub.ws.root)
    assert cli.returncode == 0, cli.stderr
    row = json.loads(cli.stdout)["agents"][0]
    return [(s.name, s.detail) for s in (status, app, supervisor)] + [(row["state"], row["detail"])]


def _agree(hub: Hub, state: str, detail: str = "", timeout: float = 10.0) -> None:
    """Wait until every reader says `state` (with `detail` in its reason), all alike."""

    def agreed() -> bool:
        seen = _every_reader(hub)
        return all(s == state and detail in d for s, d in seen) and len(set(seen)) == 1

    wait_for(agreed, timeout=timeout, message=f"every reader to say {state} {detail}")


@pytest.fixture
def fake(hub_factory: Callable[..., Hub]) -> FakeCodex:
    hub = hub_factory(ORG)
    hub.up()
    return FakeCodex(hub)


def test_every_reader_agrees_in_each_disputed_situation(fake: FakeCodex) -> None:
    hub = fake.hub
    # A first-run dialog comes before any hook: it once read `starting` forever.
    fake.show("claude-trust")
    _agree(hub, "needs-you", "trust dialog")
    # Idle after a turn; and after the next turn too (it once read `starting` then).
    fake.show("codex-idle")
    fake.hook(TURN_DONE)
    _agree(hub, "idle")
    fake.hook(TURN_DONE)
    _agree(hub, "idle", timeout=1.0)
    # notify says nothing when a turn starts: the screen shows the work (status once
    # said idle here), and the approval question (everyone once said idle).
    fake.show("codex-working")
    _agree(hub, "working")
    fake.show("codex-approval")
    _agree(hub, "needs-you", "approval question")


def test_no_keystroke_reaches_a_question_even_after_the_confirmation_timeout(
    fake: FakeCodex,
) -> None:
    hub = fake.hub
    box = Mailbox.for_workspace(hub.ws)
    fake.show("codex-idle")
    fake.hook(TURN_DONE)
    _agree(hub, "idle")
    box.send("human", "x1", "run the baseline", subject="baseline")
    typed = wait_for(lambda: b"\r" in fake.typed() and fake.typed(), message="the notice typed")
    assert b"1 new message from human: baseline" in typed

    # Codex sends no prompt-submit receipt (notify only): the notice stays unconfirmed,
    # and the turn it started asks for approval. This is where Enter once said "Yes".
    fake.show("codex-approval")
    box.send("human", "x1", "and the treatment", subject="treatment")
    _agree(hub, "needs-you", "approval question")
    log = hub.ws.logs_dir / "supervisor.log"

    def timed_out_with_no_key_typed() -> bool:
        assert fake.typed() == typed, "a key reached a pane that shows a question"
        return "mail waiting" in log.read_text()

    # The supervisor ticks 4x a second all along; it gives up waiting for the receipt.
    wait_for(timed_out_with_no_key_typed, timeout=CONFIRM_TIMEOUT_S + 20,
             message="the notice's confirmation to time out")  # fmt: skip
    _agree(hub, "needs-you", "approval question")  # the question still says why

    assert json.loads((hub.ws.state_dir / "x1.notices.json").read_text())["waiting"]

    # The person answered; the turn ended. Without a prompt hook, a finished turn
    # after the notice is its receipt: the next mail is announced as usual.
    fake.show("codex-idle")
    fake.hook(TURN_DONE)
    wait_for(lambda: b"treatment" in fake.typed(), timeout=15, message="the next notice")
