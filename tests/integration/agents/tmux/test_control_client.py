"""The control-mode client against a real tmux server shaped like missionctl's hub."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from missionctl.agents.tmux.client import ControlClient, tmux_quote
from missionctl.agents.tmux.panes import (
    AgentsChanged,
    ConnectionChanged,
    HubState,
    HubUnavailable,
    PaneEvent,
    ScreenUpdate,
    TmuxCommandError,
)

# How often `Recorder.until` looks again when no event comes.
POLL_S = 0.05

CONFIG = """\
set -g prefix None
unbind-key -a -T prefix
set -g status off
set -g remain-on-exit on
set -g default-size 60x12
set -g allow-rename off
set -g automatic-rename off
set -s escape-time 0
"""


class Hub:
    """A tmux server on its own socket: session `hub`, `supervisor` plus agent windows."""

    def __init__(self, socket: str, config: Path) -> None:
        self.socket = socket
        self.config = config

    def tmux(self, *args: str, check: bool = True) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True, text=True, timeout=10, check=check,
        ).stdout  # fmt: skip

    def up(self, agents: tuple[str, ...] = ("r1", "r2")) -> None:
        self.tmux("-f", str(self.config), "new-session", "-d", "-s", "hub",
                  "-n", "supervisor", "-x", "60", "-y", "12", "env PS1='$ ' sh")  # fmt: skip
        # Per window, not global: tmux 3.3 crashes on new-window with a global manual size.
        self.tmux("set-option", "-w", "-t", "=hub:0", "window-size", "manual")
        for name in agents:
            self.add(name)

    def add(self, name: str, command: str = "env PS1='$ ' sh") -> None:
        self.tmux("new-window", "-d", "-t", "=hub", "-n", name, command)
        self.tmux("set-option", "-w", "-t", f"=hub:{name}", "window-size", "manual")

    def tty(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", f"=hub:{name}", "#{pane_tty}").strip()

    def print_in(self, name: str, text: str) -> None:
        """Write `text` to the pane's terminal, as a program running in it would."""
        with open(self.tty(name), "w") as tty:
            tty.write(text)

    def server_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "#{pid}").strip())


@pytest.fixture
def hub(tmux_tmpdir: Path) -> Iterator[Hub]:
    config = tmux_tmpdir / "tmux.conf"
    config.write_text(CONFIG)
    hub = Hub(f"mc-{uuid.uuid4().hex[:8]}", config)
    hub.up()
    yield hub
    hub.tmux("kill-server", check=False)


class Recorder:
    """Every event a client delivers, and a way to wait for one with a deadline."""

    def __init__(self, client: ControlClient) -> None:
        self.events: list[PaneEvent] = []
        self._changed = asyncio.Event()
        client.subscribe(self._on_event)

    def _on_event(self, event: PaneEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], timeout: float, what: str) -> float:
        """Wait until `predicate()` holds; return the seconds it took."""
        start = time.monotonic()
        deadline = start + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"within {timeout} s: {what}; events: {self.events[-8:]}")
            self._changed.clear()
            try:
                # Woken by an event, or after POLL_S for what no event announces (a file, a process).
                await asyncio.wait_for(self._changed.wait(), min(left, POLL_S))
            except TimeoutError:
                pass
        return time.monotonic() - start

    async def never(self, predicate: Callable[[], bool], seconds: float, what: str) -> None:
        """An observation window: `predicate()` must stay false for `seconds`."""
        try:
            await self.until(predicate, seconds, what)
        except AssertionError:
            return
        raise AssertionError(f"within {seconds} s, unexpectedly: {what}")

    async def settled(
        self, count: Callable[[], int], quiet: float, timeout: float, what: str
    ) -> None:
        """Wait until `count()` has stayed the same for `quiet` seconds: what was in
        flight (a capture of the last output) has finished. Fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            last = count()
            try:
                await self.until(lambda last=last: count() != last, quiet, what)
            except AssertionError:
                return  # quiet for `quiet` seconds
            if time.monotonic() > deadline:
                raise AssertionError(f"never quiet for {quiet} s within {timeout} s: {what}")

    def screen(self, agent: str) -> tuple[str, ...]:
        for event in reversed(self.events):
            if isinstance(event, ScreenUpdate) and event.agent == agent:
                return event.lines
        return ()

    def shows(self, agent: str, text: str) -> bool:
        return any(text in line for line in self.screen(agent))

    def states(self) -> list[HubState]:
        return [e.state for e in self.events if isinstance(e, ConnectionChanged)]

    def last_agents(self) -> tuple[str, ...]:
        changes = [e.agents for e in self.events if isinstance(e, AgentsChanged)]
        return changes[-1] if changes else ()


@contextlib.asynccontextmanager
async def connected(hub: Hub, **options: Any) -> AsyncIterator[tuple[ControlClient, Recorder]]:
    """A client of `hub`, once connected with every pane's first screen; stopped at the end."""
    client = ControlClient(hub.socket, **options)
    seen = Recorder(client)
    await client.start()
    try:
        await seen.until(lambda: client.state is HubState.CONNECTED, 5, "connected")
        await seen.until(
            lambda: all(seen.screen(a) for a in ("supervisor", "r1", "r2")), 5, "first screens"
        )
        yield client, seen
    finally:
        await client.stop()


async def test_connects_lists_the_windows_and_captures_every_pane_once(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        assert seen.states()[:2] == [HubState.CONNECTING, HubState.CONNECTED]
        assert client.agents == ("supervisor", "r1", "r2") == seen.last_agents()
        assert seen.screen("r1")[0].startswith("$")
        assert len(seen.screen("r1")) == 12  # every row of the 60x12 pane
        first = [e for e in seen.events if isinstance(e, ScreenUpdate)]
        assert sorted(e.agent for e in first) == ["r1", "r2", "supervisor"]
    assert client.state is HubState.STOPPED
    assert client.client_pid is None
    assert "hub" in hub.tmux("list-sessions")  # stopping leaves the hub running


async def test_printed_text_shows_up_within_250_ms(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        client.select("r1")
        hub.print_in("r1", "\x1b[32mhello from r1\x1b[0m\r\n")
        took = await seen.until(lambda: seen.shows("r1", "hello from r1"), 0.25, "r1 text")
        assert took < 0.25
        # A pane that is not selected but was idle is captured at once as well.
        hub.print_in("r2", "quiet pane speaks\r\n")
        await seen.until(lambda: seen.shows("r2", "quiet pane speaks"), 0.25, "r2 text")
        # Colours arrive as escapes in the captured row.
        (row,) = [line for line in seen.screen("r1") if "hello from r1" in line]
        assert "\x1b[32m" in row


async def test_idle_panes_are_not_captured(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        hub.print_in("r1", "one line\r\n")
        await seen.until(lambda: seen.shows("r1", "one line"), 1, "r1 line")
        await seen.settled(lambda: client.captures, 0.2, 3, "the capture of that line")
        before = client.captures
        # Nothing printed: for the next half second nothing is captured.
        await seen.never(lambda: client.captures != before, 0.5, "a capture of an idle pane")
        hub.print_in("r2", "now r2\r\n")
        await seen.until(lambda: seen.shows("r2", "now r2"), 1, "r2 line")
        assert client.captures > before


def _flood(hub: Hub, agents: tuple[str, ...], seconds: float, per_second: int) -> None:
    """Print numbered lines into the panes' terminals for `seconds` (run in a thread)."""
    ttys = [open(hub.tty(a), "w") for a in agents]  # noqa: SIM115 - closed below
    try:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            for tty in ttys:
                tty.write(f"flood line {i}\r\n")
                tty.flush()
            i += 1
            time.sleep(1 / per_second)  # pacing the load, not synchronising
    finally:
        for tty in ttys:
            tty.close()


async def test_the_selected_pane_streams_faster_than_the_others(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        client.select("r1")
        start = len(seen.events)
        await asyncio.to_thread(_flood, hub, ("r1", "r2"), 1.5, 100)
        updates = [e for e in seen.events[start:] if isinstance(e, ScreenUpdate)]
        r1 = sum(e.agent == "r1" for e in updates)
        r2 = sum(e.agent == "r2" for e in updates)
        # At most 5 Hz for r2 (plus one for the leading edge); r1 up to 20 Hz.
        assert r2 <= 5 * 1.5 + 2
        assert r1 >= 2 * r2, (r1, r2)


async def test_windows_added_renamed_and_closed_are_followed(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        hub.add("r3")
        await seen.until(
            lambda: seen.last_agents() == ("supervisor", "r1", "r2", "r3"), 2, "r3 added"
        )
        await seen.until(lambda: bool(seen.screen("r3")), 2, "r3 captured")
        hub.tmux("rename-window", "-t", "=hub:r3", "r4")
        await seen.until(
            lambda: seen.last_agents() == ("supervisor", "r1", "r2", "r4"), 2, "renamed"
        )
        hub.print_in("r4", "under a new name\r\n")
        await seen.until(lambda: seen.shows("r4", "under a new name"), 1, "r4 text")
        hub.tmux("kill-window", "-t", "=hub:r4")
        await seen.until(lambda: seen.last_agents() == ("supervisor", "r1", "r2"), 2, "closed")
        assert client.agents == ("supervisor", "r1", "r2")


async def test_a_paused_pane_is_continued_and_recaptured(hub: Hub) -> None:
    async with connected(hub, pause_after=1) as (client, seen):
        # A second client that keeps reading, as the user's terminal does in a takeover:
        # with only stalled control clients tmux stops reading the pane instead.
        reader = subprocess.Popen(
            ["tmux", "-L", hub.socket, "-C", "attach-session", "-t", "=hub"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            flood = (
                f'{sys.executable} -c "import time\nend = time.time() + 4\ni = 0\n'
                "while time.time() < end:\n    print('flood', i); i += 1\nprint('FLOOD-DONE')\""
            )
            hub.tmux("respawn-pane", "-k", "-t", "=hub:r1", flood)
            pid = client.client_pid
            # Block the event loop while the pane floods, as the app's `suspend()` does
            # during a takeover: nobody reads the client's pipe (tmux writes to it
            # directly), its queue grows older than pause-after and tmux pauses the pane.
            time.sleep(2.5)  # the stall being tested, not a synchronisation
            await seen.until(lambda: client.pauses >= 1, 5, "a %pause")
            await seen.until(lambda: seen.shows("r1", "FLOOD-DONE"), 8, "the flood's end")
            assert client.state is HubState.CONNECTED
            assert client.client_pid == pid  # resumed, not reconnected
            hub.print_in("r2", "still streaming\r\n")
            await seen.until(lambda: seen.shows("r2", "still streaming"), 1, "r2 after pause")
        finally:
            assert reader.stdin is not None
            reader.stdin.close()
            reader.wait(timeout=5)


@pytest.mark.parametrize("how", ["kill-server", "sigkill"])
async def test_a_dead_server_is_reported_as_hub_gone_and_comes_back_after_up(
    hub: Hub, how: str
) -> None:
    async with connected(hub) as (client, seen):
        if how == "kill-server":
            hub.tmux("kill-server")
        else:
            os.kill(hub.server_pid(), signal.SIGKILL)
        await seen.until(lambda: client.state is HubState.HUB_GONE, 3, "hub gone")
        assert "no tmux server is running" in client.detail
        with pytest.raises(HubUnavailable, match="hub-gone"):
            await client.command("list-windows")
        hub.up()
        client.refresh()  # what the app does after `missionctl up`
        await seen.until(lambda: client.state is HubState.CONNECTED, 2, "reconnected")
        hub.print_in("r1", "back again\r\n")
        await seen.until(lambda: seen.shows("r1", "back again"), 1, "r1 after up")


async def test_a_lost_session_is_reported_as_hub_gone(hub: Hub) -> None:
    hub.tmux("new-session", "-d", "-s", "other")  # keeps the server alive
    async with connected(hub) as (client, seen):
        hub.tmux("kill-session", "-t", "=hub")
        await seen.until(lambda: client.state is HubState.HUB_GONE, 3, "hub gone")
        assert "has no 'hub' session" in client.detail


async def test_a_killed_client_reconnects(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        old = client.client_pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        await seen.until(lambda: HubState.RECONNECTING in seen.states(), 2, "drop noticed")
        await seen.until(
            lambda: client.state is HubState.CONNECTED and client.client_pid not in (None, old),
            3,
            "reconnected",
        )
        hub.print_in("r2", "after the drop\r\n")
        await seen.until(lambda: seen.shows("r2", "after the drop"), 1, "r2 after reconnect")


async def test_commands_run_over_the_same_connection(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        assert await client.command("display-message", "-p", "it's #{session_name}") == (
            "it's hub",
        )
        with pytest.raises(TmuxCommandError, match="no-such-command"):
            await client.command("no-such-command")
        # A resize reflows the pane: its new screen comes without any new output.
        await client.command("resize-window", "-t", "=hub:r1", "-x", "40", "-y", "8")
        await seen.until(lambda: len(seen.screen("r1")) == 8, 1, "r1 at 8 rows")
        # Replies stay matched to their commands when many are in flight.
        names = await asyncio.gather(
            *(client.command("display-message", "-p", f"n{i}") for i in range(20))
        )
        assert [n[0] for n in names] == [f"n{i}" for i in range(20)]


async def test_a_hub_that_is_not_up_is_reported_at_start(tmux_tmpdir: Path) -> None:
    client = ControlClient(f"mc-none-{uuid.uuid4().hex[:8]}")
    seen = Recorder(client)
    await client.start()
    try:
        await seen.until(lambda: client.state is HubState.HUB_GONE, 3, "hub gone")
        assert "no tmux server is running" in client.detail
    finally:
        await client.stop()


async def test_a_key_for_a_hub_not_connected_fails_when_awaited_not_when_sent(
    tmux_tmpdir: Path,
) -> None:
    client = ControlClient(f"mc-none-{uuid.uuid4().hex[:8]}")
    pending = client.send_key("r1", "a", "a")  # the app's key handler calls this: no raise
    with pytest.raises(HubUnavailable):
        await pending


def test_arguments_are_quoted_for_tmux() -> None:
    assert tmux_quote("plain") == "plain"
    assert tmux_quote("it's; #{x}") == "'it'\"'\"'s; #{x}'"
    with pytest.raises(ValueError, match="line break"):
        tmux_quote("two\nlines")


async def test_panes_not_shown_are_not_captured_until_shown_again(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        client.set_shown({"r1"})
        assert client.shown == frozenset({"r1"})

        def r2_updates() -> list[PaneEvent]:
            return [e for e in seen.events if isinstance(e, ScreenUpdate) and e.agent == "r2"]

        await seen.settled(lambda: len(r2_updates()), 0.2, 3, "r2's captures in flight")
        before = r2_updates()
        hub.print_in("r2", "printed while hidden\r\n")
        hub.print_in("r1", "printed while shown\r\n")
        await seen.until(lambda: seen.shows("r1", "printed while shown"), 1, "r1 text")
        await seen.never(lambda: r2_updates() != before, 0.5, "r2 captured while hidden")
        # Shown again: captured afresh, with what it printed meanwhile.
        client.set_shown({"r1", "r2"})
        await seen.until(lambda: seen.shows("r2", "printed while hidden"), 1, "r2 text")


async def test_keys_and_a_bracketed_paste_reach_the_pane_byte_for_byte(
    hub: Hub, tmp_path: Path
) -> None:
    log = tmp_path / "keys.log"
    echo = Path(__file__).resolve().parents[3] / "fixtures" / "key_echo.py"
    hub.add("typed", f"{sys.executable} {echo} {log}")

    async with connected(hub) as (client, seen):
        await seen.until(lambda: seen.shows("typed", "ready"), 5, "the echo program")
        # Each key as a terminal sends it: characters, control bytes, named keys.
        for key, char in [("h", "h"), ("i", "i"), ("enter", "\r"), ("up", None),
                          ("ctrl+c", "\x03"), ("ctrl+d", None), ("shift+tab", None),
                          ("dollar_sign", "$"), ("f1", None)]:  # fmt: skip
            await client.send_key("typed", key, char)
        await client.paste("typed", "line one\nline two $HOME ~/x")
        expected = b"hi\r\x1b[A\x03\x04\x1b[Z$\x1bOP\x1b[200~line one\rline two $HOME ~/x\x1b[201~"
        await seen.until(
            lambda: (log.read_bytes() if log.exists() else b"") == expected, 5,
            f"the keys in the log as {expected!r}",
        )  # fmt: skip
        with pytest.raises(HubUnavailable):
            await client.send_key("nobody", "a", "a")


async def test_ctrl_c_interrupts_what_runs_in_the_pane(hub: Hub) -> None:
    async with connected(hub) as (client, seen):
        for char in "sleep 1000":
            await client.send_key("r1", char, char)
        await client.send_key("r1", "enter", "\r")
        pane_pid = int(hub.tmux("display-message", "-p", "-t", "=hub:r1", "#{pane_pid}"))

        def sleeping() -> bool:
            out = subprocess.run(["pgrep", "-P", str(pane_pid), "sleep"],
                                 capture_output=True, timeout=5)  # fmt: skip
            return out.returncode == 0

        await seen.until(sleeping, 5, "sleep to start")
        await client.send_key("r1", "ctrl+c", "\x03")
        await seen.until(lambda: not sleeping(), 5, "Ctrl-C to interrupt sleep")
        await seen.until(
            lambda: seen.screen("r1")[1:3] == ("^C", "$ "), 2, "^C, then a prompt again"
        )
