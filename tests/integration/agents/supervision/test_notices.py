"""Mail notices typed into a real tmux pane: never while working, exactly once when idle."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from missionctl.agents.org.hub import Hub
from missionctl.agents.supervision.notices import NoticeBook
from missionctl.mailbox import Mailbox
from tests.helpers import FIXTURES, wait_for

PROGRAM = FIXTURES / "prompt_agent.py"


def _received(hub: Hub) -> list[str]:
    log = hub.ws.worktree("p1") / "received.log"
    return log.read_text().splitlines() if log.exists() else []


def _state(hub: Hub) -> str:
    return hub.statuses()[0].state.name


def _notices(hub: Hub) -> list[str]:
    return [line for line in _received(hub) if "new message" in line]


def _never(condition: Callable[[], bool], seconds: float) -> None:
    """Watch `condition` for `seconds` (an observation window): it must stay false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not condition()
        time.sleep(0.05)


def test_notice_waits_for_idle_and_arrives_exactly_once(hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(
        '[[agent]]\nname = "p1"\nprovider = "scripted"\n\n'
        f'[providers.scripted]\ncommand = ["{sys.executable}", "{PROGRAM}"]\n'
    )
    hub.up()
    pane = wait_for(lambda: {p.window: p for p in hub.tmux.panes()}.get("p1"))
    wait_for(lambda: _state(hub) == "idle", message="the agent to be idle")

    hub.tmux.run("send-keys", "-t", pane.pane_id, "work", "Enter")
    wait_for(lambda: _state(hub) == "working", message="the agent to be working")
    box = Mailbox.for_workspace(hub.ws)
    first = box.send("human", "p1", "please run the baseline", subject="baseline first")[0]

    # The supervisor sees the mail at once (watcher) and ticks 4x a second: over
    # this window it must type nothing into the working agent.
    _never(lambda: bool(_notices(hub)), seconds=2.0)

    (hub.ws.worktree("p1") / "release").touch()
    notices = wait_for(lambda: _notices(hub), timeout=15, message="the notice")
    assert notices == ["1 new message from human: baseline first — run `missionctl mail inbox`"]
    wait_for(lambda: first.id in NoticeBook.load(hub.states, "p1").notified,
             message="the notice to be confirmed")  # fmt: skip
    # Idle again, mail still unread: it is not announced a second time.
    _never(lambda: len(_notices(hub)) > 1, seconds=3.0)

    # New mail is announced once more, on its own.
    box.send("human", "p1", "and the treatment", subject="softcap off")
    wait_for(lambda: len(_notices(hub)) == 2, timeout=15, message="the second notice")
    assert "softcap off" in _notices(hub)[1] and "baseline" not in _notices(hub)[1]
