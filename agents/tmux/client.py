"""One tmux control-mode client per hub: every agent's screen, captured only when it changed.

Polling `capture-pane` per pane, or re-emulating the panes' output, costs more than
two cores can spare (ARCHITECTURE.md, "Streaming panes into the app"). Instead one
`tmux -C attach` client listens: `%output` only marks its pane dirty, and dirty
panes are captured with `capture-pane -p -e -N` sent down the same connection, in
batches, one batch in flight, the selected pane at up to 20 Hz and the others at up
to 5 Hz, sharing a fixed budget of captures when many are on screen. Idle panes cost
nothing, and so do panes that are not on screen: tmux sends no output for them
(`refresh-client -A %pane:off`) and they are captured afresh when shown again.

Runs on the caller's asyncio loop (the app's); never imports textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shlex
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from missionctl import proc
from missionctl.agents.tmux import controlmode as cm
from missionctl.agents.tmux import keys
from missionctl.agents.tmux.panes import (
    AgentsChanged,
    ConnectionChanged,
    HubState,
    HubUnavailable,
    PaneEvent,
    PaneListener,
    ScreenUpdate,
    TmuxCommandError,
)
from missionctl.agents.tmux.server import SESSION, env_outside_tmux
from missionctl.errors import UserError

log = logging.getLogger(__name__)

# One line per window: id, index, name, active pane (tab-separated: names have no tabs).
_WINDOWS_FORMAT = "#{window_id}\t#{window_index}\t#{window_name}\t#{pane_id}"


def tmux_quote(arg: str) -> str:
    """Quote one argument for tmux's command parser (which follows sh quoting)."""
    if "\n" in arg or "\r" in arg:
        # A newline would end the command line and start another one.
        raise ValueError(f"a tmux command argument cannot contain a line break: {arg!r}")
    return shlex.quote(arg)


def _retrieve(future: asyncio.Future[cm.Reply]) -> None:
    """Mark a fire-and-forget future's exception as seen (a dropped connection fails it)."""
    if not future.cancelled():
        future.exception()


@dataclass(frozen=True, slots=True)
class _Window:
    index: int
    name: str
    pane: str


class _Connection:
    """One running `tmux -C attach`: commands go down stdin, replies come back in order."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.closed = False
        self._pending: deque[asyncio.Future[cm.Reply]] = deque()

    def send(self, lines: list[str]) -> list[asyncio.Future[cm.Reply]]:
        """Write `lines` (one command each) in one write; a future per reply."""
        if self.closed or self.process.stdin is None:
            raise HubUnavailable("the connection to the hub is closed; wait for it to reconnect")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in lines]
        self._pending.extend(futures)
        self.process.stdin.write("".join(f"{line}\n" for line in lines).encode())
        return futures

    def resolve(self, reply: cm.Reply) -> None:
        """Hand a reply to the oldest waiting command (tmux answers in order)."""
        if not self._pending:
            log.warning("tmux sent a reply nobody asked for: %r", reply)
            return
        future = self._pending.popleft()
        if not future.done():  # it may have timed out and been cancelled
            future.set_result(reply)

    def fail_all(self, error: Exception) -> None:
        """The connection ended: every waiting command fails with `error`."""
        self.closed = True
        while self._pending:
            future = self._pending.popleft()
            if not future.done():
                future.set_exception(error)


class ControlClient:
    """The hub's panes as a `PaneSource`, through one tmux control-mode client.

    `socket_name` is the hub's `tmux -L` name. Screens, connection states and the
    window list arrive as `PaneEvent`s to the subscribed listeners, on the loop
    that called `start`.
    """

    def __init__(
        self,
        socket_name: str,
        *,
        session: str = SESSION,
        selected_hz: float = 20.0,
        background_hz: float = 5.0,
        background_budget: float = 40.0,
        pause_after: int = 1,
        tmux: str = "tmux",
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self.socket_name = socket_name
        self.session = session
        self.pause_after = pause_after
        self._tmux = tmux
        self._selected_interval = 1.0 / selected_hz
        self._background_interval = 1.0 / background_hz
        # Captures a second shared by the panes on screen but not selected: 5 Hz each
        # for eight, less each for more, so 32 agents cost what eight do.
        self._background_budget = background_budget
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._listeners: list[PaneListener] = []
        self._state = HubState.STOPPED
        self._detail = ""
        self._selected: str | None = None
        self._windows: dict[str, _Window] = {}
        self._agent_panes: dict[str, str] = {}
        self._pane_agents: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._last_capture: dict[str, float] = {}
        self._screens: dict[str, tuple[str, ...]] = {}
        self._shown: frozenset[str] | None = None  # agents on screen; None: all
        self._muted: set[str] = set()  # panes whose output tmux was told not to send
        self._conn: _Connection | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._session_tasks: list[asyncio.Task[None]] = []
        self._relisting = False
        self._relist_again = False
        self._stopping = False
        self._wake = asyncio.Event()  # the capture loop has something new to look at
        self._retry_now = asyncio.Event()  # skip the reconnect backoff
        # Counters for tests and benchmarks: panes tmux paused for us, captures sent.
        self.pauses = 0
        self.captures = 0
        self.captured: Counter[str] = Counter()  # captures by agent

    # -- PaneSource ---------------------------------------------------------------

    @property
    def state(self) -> HubState:
        """The connection's current state."""
        return self._state

    @property
    def detail(self) -> str:
        """Why the connection is in its state (tmux's words), or ''."""
        return self._detail

    @property
    def selected(self) -> str | None:
        """The agent streamed at the fast rate, if any."""
        return self._selected

    @property
    def client_pid(self) -> int | None:
        """The process id of the running `tmux -C` client, if any (for CPU accounting)."""
        return self._conn.process.pid if self._conn is not None else None

    @property
    def agents(self) -> tuple[str, ...]:
        """The hub's windows in window order (agents, plus `supervisor`)."""
        return tuple(w.name for w in sorted(self._windows.values(), key=lambda w: w.index))

    def subscribe(self, listener: PaneListener) -> Callable[[], None]:
        """Call `listener` with every event from now on; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def start(self) -> None:
        """Start connecting in the background; progress arrives as events."""
        if self._run_task is not None and not self._run_task.done():
            return
        self._stopping = False
        self._run_task = asyncio.create_task(self._run(), name=f"tmux-control-{self.socket_name}")

    async def stop(self) -> None:
        """Detach the control client and stop. The hub keeps running."""
        self._stopping = True
        self._retry_now.set()
        conn = self._conn
        if conn is not None and conn.process.stdin is not None:
            # A control client detaches when its stdin closes.
            conn.process.stdin.close()
        if self._run_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._run_task), 3.0)
            except TimeoutError:
                self._run_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._run_task
            self._run_task = None
        self._set_state(HubState.STOPPED, "")

    def select(self, agent: str | None) -> None:
        """Stream `agent`'s pane at the fast rate; the others drop to the slow one."""
        self._selected = agent
        self._wake.set()

    def refresh(self, agent: str | None = None) -> None:
        """Capture `agent`'s pane (all panes if None) now and deliver it even if unchanged."""
        if self._state is not HubState.CONNECTED:
            self._retry_now.set()
            return
        panes = list(self._pane_agents) if agent is None else [self._agent_panes.get(agent, "")]
        for pane in panes:
            if pane in self._pane_agents:
                self._screens.pop(pane, None)
                self._force_capture(pane)

    async def resize(self, agent: str, width: int, height: int) -> None:
        """Size the agent's window (its grid cell) through this connection."""
        target = f"={self.session}:{agent}"
        await self.command("resize-window", "-t", target, "-x", str(width), "-y", str(height))

    @property
    def shown(self) -> frozenset[str] | None:
        """The agents captured (those on screen); None: every pane."""
        return self._shown

    def set_shown(self, agents: Collection[str] | None) -> None:
        """Capture only these agents' panes; tmux stops sending the others' output."""
        shown = None if agents is None else frozenset(agents)
        if shown == self._shown:
            return
        self._shown = shown
        if self._conn is not None and self._state is HubState.CONNECTED:
            self._apply_shown(self._conn)

    def _is_shown(self, pane: str) -> bool:
        return self._shown is None or self._pane_agents.get(pane) in self._shown

    def _apply_shown(self, conn: _Connection) -> None:
        """Mute the output of panes not shown, unmute (and capture) the ones shown."""
        lines = []
        for pane in self._pane_agents:
            shown = self._is_shown(pane)
            if shown and pane in self._muted:
                self._muted.discard(pane)
                lines.append(f"refresh-client -A '{pane}:on'")
                self._screens.pop(pane, None)  # whatever it shows now is news
                self._force_capture(pane)
            elif not shown and pane not in self._muted:
                self._muted.add(pane)
                self._dirty.discard(pane)
                lines.append(f"refresh-client -A '{pane}:off'")
        if lines:
            for future in conn.send(lines):
                future.add_done_callback(_retrieve)

    def send_key(self, agent: str, key: str, character: str | None = None) -> Awaitable[None]:
        """Type one key into `agent`'s pane through this connection (in order)."""
        try:
            line = keys.key_command(self._pane_of(agent), key, character)
        except keys.UnknownKey:
            return self._failed(UserError(f"cannot type {key!r}: tmux has no name for it"))
        except UserError as exc:  # no pane, or the hub away: through the awaitable, as paste
            return self._failed(exc)
        return self._send([line])

    def paste(self, agent: str, text: str) -> Awaitable[None]:
        """Paste `text` into `agent`'s pane, bracketed if its program asked for that."""
        if not text:
            return self._failed(None)
        try:
            pane = self._pane_of(agent)
        except UserError as exc:
            return self._failed(exc)
        return self._send(keys.paste_commands(pane, f"missionctl-live-{agent}", text))

    def _pane_of(self, agent: str) -> str:
        pane = self._agent_panes.get(agent)
        if pane is None or self._conn is None or self._state is not HubState.CONNECTED:
            raise HubUnavailable(
                f"cannot type into {agent}: "
                + ("the hub is " + self._state.value if pane else "it has no window in the hub")
            )
        return pane

    def _send(self, lines: list[str]) -> Awaitable[None]:
        """Write `lines` now (so calls stay in order); the future fails if tmux refused."""
        conn = self._conn
        if conn is None:
            return self._failed(HubUnavailable("the hub is not connected"))
        try:
            futures = conn.send(lines)
        except HubUnavailable as exc:
            return self._failed(exc)
        result: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settled(_: asyncio.Future[cm.Reply]) -> None:
            if result.done() or not all(f.done() for f in futures):
                return
            for line, future in zip(lines, futures, strict=True):
                error = future.exception() if not future.cancelled() else None
                if error is not None:
                    result.set_exception(error)
                    return
                reply = future.result() if not future.cancelled() else None
                if reply is not None and not reply.ok:
                    result.set_exception(TmuxCommandError(line, reply.lines))
                    return
            result.set_result(None)

        for future in futures:
            future.add_done_callback(settled)
        return result

    @staticmethod
    def _failed(error: Exception | None) -> Awaitable[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
        return future

    async def command(self, *args: str, timeout: float = 5.0) -> tuple[str, ...]:
        """Run one tmux command over the control connection; return its output lines."""
        line = " ".join(tmux_quote(a) for a in args)
        conn = self._conn
        if conn is None or self._state is not HubState.CONNECTED:
            raise HubUnavailable(
                f"cannot run `{line}`: the hub is {self._state.value}"
                + (f" ({self._detail})" if self._detail else "")
            )
        (future,) = conn.send([line])
        try:
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise HubUnavailable(
                f"tmux did not answer `{line}` within {timeout:g} s; is the hub stuck?"
            ) from None
        if not reply.ok:
            raise TmuxCommandError(line, reply.lines)
        return reply.lines

    # -- connection lifecycle -----------------------------------------------------

    async def _run(self) -> None:
        backoff = self._min_backoff
        first = True
        while not self._stopping:
            gone = await self._probe()
            if gone is not None:
                self._set_state(HubState.HUB_GONE, gone)
            else:
                self._set_state(HubState.CONNECTING if first else HubState.RECONNECTING, "")
                first = False
                if await self._session():
                    backoff = self._min_backoff
            if self._stopping:
                break
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), backoff)
            backoff = min(backoff * 2, self._max_backoff)

    def _tmux_env(self) -> dict[str, str]:
        # Inside another tmux (the app run from a tmux pane) TMUX would make our
        # client refuse to attach as a nested session.
        return env_outside_tmux()

    async def _probe(self) -> str | None:
        """None if the hub session exists, else why not (without starting a server)."""
        cmd = [self._tmux, "-L", self.socket_name, "has-session", "-t", f"={self.session}"]
        try:
            result = await asyncio.to_thread(
                proc.run, cmd, timeout=5.0, check=False, env=self._tmux_env()
            )
        except UserError as exc:
            return str(exc)
        if result.returncode == 0:
            return None
        said = (result.stderr or result.stdout).strip()
        where = f"tmux socket {self.socket_name!r}"
        if "no server running" in said or "error connecting" in said:
            return f"no tmux server is running on {where}; start the org with `missionctl up`"
        if "can't find session" in said:
            return (
                f"the tmux server on {where} has no {self.session!r} session;"
                " start the org with `missionctl up`"
            )
        return said.splitlines()[-1] if said else f"tmux exited with code {result.returncode}"

    async def _session(self) -> bool:
        """Attach, stream until the client ends; True if it got as far as connected."""
        try:
            process = await asyncio.create_subprocess_exec(
                self._tmux, "-L", self.socket_name, "-C",
                "attach-session", "-t", f"={self.session}",
                "-f", f"ignore-size,pause-after={self.pause_after}",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._tmux_env(),
                # Not in the app's process group: a Ctrl-C at the terminal is the app's.
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            self._set_state(HubState.HUB_GONE, f"cannot start tmux: {exc}")
            return False
        conn = _Connection(process)
        self._conn = conn
        parser = cm.ControlParser()
        reached = False
        exit_reason: str | None = None
        stderr_task = asyncio.create_task(self._read_all(process.stderr))
        assert process.stdout is not None
        try:
            while True:
                data = await process.stdout.read(1 << 16)
                if not data:
                    break
                for event in parser.feed(data):
                    if isinstance(event, cm.Exit):
                        exit_reason = event.reason
                    elif isinstance(event, cm.Reply) and event.flags == 0:
                        # The answer to the attach itself.
                        if event.ok:
                            reached = True
                            self._spawn(self._attached(conn))
                        else:
                            exit_reason = "; ".join(event.lines) or exit_reason
                    else:
                        self._handle(event, conn)
        finally:
            conn.fail_all(HubUnavailable("the connection to the hub was lost; it is reconnecting"))
            for task in self._session_tasks:
                task.cancel()
            for task in self._session_tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._session_tasks.clear()
            self._conn = None
            self._dirty.clear()
            self._last_capture.clear()
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 2.0)
            stderr = await stderr_task
        if not reached:
            detail = exit_reason or stderr.strip() or "tmux refused to attach"
            self._set_state(HubState.HUB_GONE, detail)
        elif not self._stopping:
            # Truthful until the probe says whether the hub itself is gone.
            self._set_state(HubState.RECONNECTING, exit_reason or stderr.strip())
        return reached

    @staticmethod
    async def _read_all(stream: asyncio.StreamReader | None) -> str:
        if stream is None:
            return ""
        data = await stream.read()
        return data.decode("utf-8", "replace")[-2000:]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._session_tasks.append(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._session_tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, HubUnavailable):
                log.error("control client task failed", exc_info=exc)

    async def _attached(self, conn: _Connection) -> None:
        await self._list_windows(conn)
        self._set_state(HubState.CONNECTED, "")
        self._muted.clear()  # a new client: tmux sends every pane's output again
        self._apply_shown(conn)
        for pane in self._pane_agents:
            self._force_capture(pane)
        self._spawn(self._capture_loop(conn))

    # -- windows and panes --------------------------------------------------------

    async def _list_windows(self, conn: _Connection) -> None:
        (future,) = conn.send([f"list-windows -t ={self.session} -F '{_WINDOWS_FORMAT}'"])
        reply = await future
        if not reply.ok:
            return
        windows: dict[str, _Window] = {}
        for line in reply.lines:
            parts = line.split("\t")
            if len(parts) == 4 and parts[1].isdigit():
                windows[parts[0]] = _Window(int(parts[1]), parts[2], parts[3])
        new_panes = {w.pane for w in windows.values()} - set(self._pane_agents)
        self._set_windows(windows)
        if self._state is HubState.CONNECTED:
            self._apply_shown(conn)
        for pane in new_panes:
            self._force_capture(pane)

    def _set_windows(self, windows: dict[str, _Window]) -> None:
        before = self.agents
        self._windows = windows
        self._agent_panes = {w.name: w.pane for w in windows.values()}
        self._pane_agents = {w.pane: w.name for w in windows.values()}
        for gone in set(self._screens) - set(self._pane_agents):
            self._screens.pop(gone, None)
            self._last_capture.pop(gone, None)
            self._dirty.discard(gone)
        self._muted &= set(self._pane_agents)
        if self.agents != before:
            self._emit(AgentsChanged(self.agents))

    def _relist(self, conn: _Connection) -> None:
        # Window events come in bursts (an org starting); one listing at a time.
        if self._relisting:
            self._relist_again = True
            return
        self._relisting = True

        async def relist() -> None:
            try:
                while True:
                    self._relist_again = False
                    await self._list_windows(conn)
                    if not self._relist_again:
                        break
            finally:
                self._relisting = False

        self._spawn(relist())

    def _handle(self, event: cm.Event, conn: _Connection) -> None:
        if isinstance(event, cm.Output | cm.ExtendedOutput):
            pane = event.pane
            if pane not in self._dirty and pane in self._pane_agents and self._is_shown(pane):
                self._dirty.add(pane)
                self._wake.set()
        elif isinstance(event, cm.Reply):
            conn.resolve(event)
        elif isinstance(event, cm.Pause):
            # We fell behind (the app was busy or suspended). The output itself is not
            # needed, only the screen: resume, and capture it afresh.
            self.pauses += 1
            for future in conn.send([f"refresh-client -A '{event.pane}:continue'"]):
                future.add_done_callback(_retrieve)
            if event.pane in self._pane_agents:
                self._force_capture(event.pane)
        elif isinstance(event, cm.WindowRenamed):
            window = self._windows.get(event.window)
            if window is None:
                self._relist(conn)
            else:
                windows = dict(self._windows)
                windows[event.window] = _Window(window.index, event.name, window.pane)
                self._set_windows(windows)
        elif isinstance(event, cm.WindowClose | cm.UnlinkedWindowClose):
            if event.window in self._windows:
                windows = {k: v for k, v in self._windows.items() if k != event.window}
                self._set_windows(windows)
        elif isinstance(event, cm.WindowAdd):
            self._relist(conn)
        elif isinstance(event, cm.LayoutChange):
            # A resize reflows the whole screen: capture it even without new output.
            window = self._windows.get(event.window)
            if window is not None:
                if self._is_shown(window.pane):
                    self._dirty.add(window.pane)
                    self._wake.set()
            else:
                self._relist(conn)

    # -- capturing ----------------------------------------------------------------

    def _force_capture(self, pane: str) -> None:
        if not self._is_shown(pane):
            return  # captured when it is shown
        self._last_capture.pop(pane, None)
        self._dirty.add(pane)
        self._wake.set()

    def _interval(self, pane: str) -> float:
        selected = self._agent_panes.get(self._selected) if self._selected else None
        if pane == selected:
            return self._selected_interval
        others = len(self._shown) if self._shown is not None else len(self._pane_agents)
        return max(self._background_interval, others / self._background_budget)

    async def _capture_loop(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            due: list[str] = []
            next_at = math.inf
            for pane in self._dirty:
                at = self._last_capture.get(pane, -math.inf) + self._interval(pane)
                if at <= now:
                    due.append(pane)
                else:
                    next_at = min(next_at, at)
            if not due:
                self._wake.clear()
                timer = loop.call_at(next_at, self._wake.set) if next_at < math.inf else None
                await self._wake.wait()
                if timer is not None:
                    timer.cancel()
                continue
            for pane in due:
                self._dirty.discard(pane)
                self._last_capture[pane] = now
            # One batch in flight: the next waits for every reply of this one.
            futures = conn.send([f"capture-pane -p -e -N -t {pane}" for pane in due])
            self.captures += len(due)
            self.captured.update(self._pane_agents.get(pane, "") for pane in due)
            replies = await asyncio.gather(*futures)
            for pane, reply in zip(due, replies, strict=True):
                self._deliver(pane, reply)

    def _deliver(self, pane: str, reply: cm.Reply) -> None:
        agent = self._pane_agents.get(pane)
        if agent is None or not reply.ok:
            return  # the window closed while the capture was in flight
        if self._screens.get(pane) == reply.lines:
            return  # output that did not change the screen (a cursor move, a redraw)
        self._screens[pane] = reply.lines
        self._emit(ScreenUpdate(agent, pane, reply.lines))

    # -- events -------------------------------------------------------------------

    def _set_state(self, state: HubState, detail: str) -> None:
        if state is self._state and detail == self._detail:
            return
        self._state = state
        self._detail = detail
        self._emit(ConnectionChanged(state, detail))

    def _emit(self, event: PaneEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # One broken listener must not stop every agent's stream.
                log.exception("pane listener %r failed on %r", listener, event)
