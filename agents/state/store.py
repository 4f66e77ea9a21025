"""Agent state: what each agent is doing, from its own hooks, written atomically.

`missionctl hook EVENT` runs on every tool call of every agent, so this module
imports only the standard library. The source of truth is the agents' own hooks
(Claude Code hooks, Codex `notify`, and the same command called by the scripted
agent and the shell); screen heuristics (`screen.py`) are only a fallback.

Files under `.missionctl/state/`, one writer each, all 0600:
- `<agent>.json`  last hook event (the hook; newest event wins, under a lock)
- `<agent>.paused` present while the agent is paused (the hub's pause/resume)
- `<agent>.proc.json` the wrapper's pid, the provider's pid, start time (the wrapper)
- `<agent>.notices.json` mail notices typed and confirmed (the supervisor)
- `<agent>.takeover` present while a person has the agent's terminal (the app)

`resolve()` turns them, with what tmux and the screen say, into the one state
every reader shows (`missionctl status`, the app and the supervisor all go
through `reader.StateReader`, which calls it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from missionctl.files import make_private_dir, open_private, read_regular, write_private

STARTING = "starting"
WORKING = "working"
IDLE = "idle"
NEEDS_YOU = "needs-you"
PAUSED = "paused"
TAKEN_OVER = "taken-over"  # a person has the agent's terminal
DOWN = "down"  # the hub is not running
UNKNOWN = "unknown"
# Every state an agent can be shown in, plus `exited(<code>)` (see `exited()`).
STATES = (STARTING, WORKING, IDLE, NEEDS_YOU, PAUSED, TAKEN_OVER, DOWN, UNKNOWN)

# An agent counts as idle only after this much quiet: a Stop hook is often
# followed at once by more work (a queued prompt, a hook that continues the turn).
IDLE_QUIET_S = 1.5
# How far from now a reported timestamp may be (the shell's own clock orders its
# events): beyond this it is a lie or a broken clock, and now is used instead.
TS_SLACK_S = 60.0
# A hook record older than its process (by more than this) belongs to an earlier life.
EARLIER_LIFE_S = 1.0
STARTING_FOR_S = 30.0

_R = TypeVar("_R")  # a record read from a state file
_NO_MARKER = object()  # no marker file at all (one that cannot be read still counts)


def exited(code: int) -> str:
    """The state name of an agent whose process ended with `code`."""
    return f"exited({code})"


# Claude Code hook events -> state. None: recorded, but the state is unchanged.
# Codex (0.17x) has the same lifecycle hooks under the same names, plus Interrupt.
CLAUDE_EVENTS: dict[str, str | None] = {
    "SessionStart": IDLE,
    "UserPromptSubmit": WORKING,
    "PreToolUse": WORKING,
    "PostToolUse": WORKING,
    "PreCompact": WORKING,
    "SubagentStop": None,
    "PermissionRequest": NEEDS_YOU,
    "Notification": NEEDS_YOU,  # refined by the payload: see event_state()
    "Stop": IDLE,
    "StopFailure": IDLE,
    "SessionEnd": None,  # the wrapper records the exit itself
    "Interrupt": IDLE,  # Codex only: Esc ended the turn, and no Stop follows
}
# The events missionctl installs as Claude Code hooks.
CLAUDE_HOOKED = tuple(e for e in CLAUDE_EVENTS if e != "Interrupt")
DIRECT_STATES = (STARTING, WORKING, IDLE, NEEDS_YOU)


# Records are NamedTuples, not dataclasses: importing dataclasses (and tempfile)
# costs this hot path more than the rest of it together.
class HookRecord(NamedTuple):
    """The last hook event of one agent."""

    agent: str
    event: str
    state: str
    ts: float
    detail: str = ""
    # The last prompt the agent accepted (UserPromptSubmit), to confirm mail notices.
    prompt: str = ""
    prompt_ts: float = 0.0
    previous: str = UNKNOWN  # the state before this event, for debouncing idle
    # The session transcript the agent's hooks last named (Claude Code's
    # `transcript_path`): where its token counts are (missionctl.ledger.spend reads it).
    transcript: str = ""

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: Any) -> HookRecord:
        """A record from its JSON; `ValueError` if any field has the wrong type."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        fields = {k: v for k, v in data.items() if k in cls._fields}
        for key in ("agent", "event", "state", "detail", "prompt", "previous", "transcript"):
            if key in fields and not isinstance(fields[key], str):
                raise ValueError(f"{key} is not a string")
        for key in ("ts", "prompt_ts"):
            value = fields.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} is not a number")
            if not math.isfinite(value):
                raise ValueError(f"{key} is not finite")
            fields[key] = float(value)
        if "agent" not in fields or "state" not in fields or "ts" not in data:
            raise ValueError("agent, state or ts is missing")
        if fields["state"] not in DIRECT_STATES and fields["state"] != UNKNOWN:
            raise ValueError(f"state {fields['state']!r} is not a hook state")
        return cls(**fields)


class ProcRecord(NamedTuple):
    """What the wrapper of an agent started, and when."""

    agent: str
    wrapper_pid: int
    child_pid: int
    started_at: float
    provider: str
    argv0: str = ""

    @classmethod
    def from_json(cls, data: Any) -> ProcRecord:
        """A record from its JSON; `ValueError` if any field has the wrong type."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            record = cls(**{k: v for k, v in data.items() if k in cls._fields})
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        ints = (record.wrapper_pid, record.child_pid)
        if any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in ints):
            raise ValueError("a pid is not a positive integer")
        if isinstance(record.started_at, bool) or not isinstance(record.started_at, (int, float)):
            raise ValueError("started_at is not a number")
        if not all(isinstance(v, str) for v in (record.agent, record.provider, record.argv0)):
            raise ValueError("agent, provider or argv0 is not a string")
        return record


class AgentState(NamedTuple):
    """The state shown to people: one of STATES or `exited(<code>)`, and why."""

    name: str
    since: float | None = None
    # One line shown beside the state: the question on screen, "mail waiting"...
    detail: str = ""
    exit_code: int | None = None

    @property
    def is_exited(self) -> bool:
        return self.name.startswith("exited")


def event_state(event: str, payload: Mapping[str, Any] | None) -> str | None:
    """The state an event puts an agent in; None when it leaves the state as it is."""
    payload = payload or {}
    if event in DIRECT_STATES:
        return event
    if event == "Notification":
        kind = str(payload.get("notification_type", ""))
        message = str(payload.get("message", "")).lower()
        if kind == "idle_prompt" or "waiting for your input" in message:
            return IDLE
        return NEEDS_YOU
    if event == "codex-notify":
        kind = str(payload.get("type", ""))
        if kind == "agent-turn-complete":
            return IDLE
        if "approval" in kind:
            return NEEDS_YOU
        return None
    return CLAUDE_EVENTS.get(event)


def clamp_ts(ts: float | None, now: float) -> float:
    """A reported timestamp, or `now` when it is missing, not finite, or far from now."""
    if ts is None or not math.isfinite(ts) or abs(ts - now) > TS_SLACK_S:
        return now
    return ts


# A state file is a few hundred bytes: anything far bigger is not ours.
MAX_STATE_FILE = 64 * 1024


def read_json(path: Path) -> Any:
    """The JSON in a small regular file, read without following links (see
    `missionctl.files`); FileNotFoundError if absent, ValueError if it is not a
    regular file, too big, or not JSON."""
    return json.loads(read_regular(path, MAX_STATE_FILE).decode("utf-8"))


class StateStore:
    """The state files of one workspace (`.missionctl/state/`).

    Readers never fail on a bad file: it counts as missing, and is reported once
    through `problems` (the supervisor logs them), so one agent's broken file
    cannot stop the org.
    """

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.problems: list[str] = []
        self._reported: set[str] = set()  # files said to be bad, until they read well

    def _path(self, agent: str, suffix: str) -> Path:
        return self.dir / f"{agent}{suffix}"

    def _mkdir(self) -> None:
        make_private_dir(self.dir)

    def _bad(self, path: Path, why: str) -> None:
        # Once per file (a file caught half-written says another why a moment later).
        if path.name not in self._reported:
            self._reported.add(path.name)
            self.problems.append(f"{path}: {why}; treated as missing")

    def _load(self, agent: str, suffix: str) -> Any:
        path = self._path(agent, suffix)
        try:
            data = read_json(path)
        except FileNotFoundError:
            self._reported.discard(path.name)
            return None
        except (ValueError, OSError) as exc:
            self._bad(path, str(exc) or type(exc).__name__)
            return None
        return data

    def _record(self, agent: str, suffix: str, parse: Callable[[Any], _R]) -> _R | None:
        """The agent's record in its `suffix` file; None when there is none or it is bad."""
        data = self._load(agent, suffix)
        if data is None:
            return None
        try:
            record = parse(data)
        except ValueError as exc:
            self._bad(self._path(agent, suffix), str(exc))
            return None
        self._good(agent, suffix)
        return record

    def _marker(self, agent: str, suffix: str) -> Any:
        """The JSON of a marker file, None when it cannot be read (the marker still
        counts), `_NO_MARKER` when there is none."""
        if not os.path.lexists(self._path(agent, suffix)):
            return _NO_MARKER
        return self._load(agent, suffix)

    def _good(self, agent: str, suffix: str) -> None:
        """The file read and checked well: a later fault in it is news again."""
        self._reported.discard(f"{agent}{suffix}")

    @contextlib.contextmanager
    def _locked(self, agent: str) -> Iterator[None]:
        self._mkdir()
        fd = open_private(self._path(agent, ".lock"), os.O_RDWR | os.O_CREAT)
        with open(fd, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- hook events ------------------------------------------------------------
    def record(
        self,
        agent: str,
        event: str,
        payload: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> HookRecord | None:
        """Apply a hook event; returns the new record (None if older than the stored one).

        `now` is the event's own time (the shell reports its clock); an untrusted
        one must go through `clamp_ts` first (`missionctl hook` does).
        """
        ts = time.time() if now is None or not math.isfinite(now) else now
        new_state = event_state(event, payload)
        with self._locked(agent):
            old = self.hook(agent)
            if old is not None and old.ts > ts:
                return None  # a later event already landed
            state = new_state or (old.state if old else UNKNOWN)
            prompt, prompt_ts = (old.prompt, old.prompt_ts) if old else ("", 0.0)
            if event == "UserPromptSubmit" and payload:
                prompt, prompt_ts = str(payload.get("prompt", ""))[:500], ts
            transcript = old.transcript if old else ""
            if payload and isinstance(payload.get("transcript_path"), str):
                transcript = payload["transcript_path"][:1000]
            detail = ""
            if payload:
                detail = str(payload.get("message") or payload.get("error") or "")[:200]
            # What the agent was doing before this event: idle after idle is idle.
            previous = old.state if old else UNKNOWN
            record = HookRecord(
                agent, event, state, ts, detail, prompt, prompt_ts, previous, transcript
            )
            write_private(self._path(agent, ".json"), json.dumps(record.to_json()))
            return record

    def hook(self, agent: str) -> HookRecord | None:
        return self._record(agent, ".json", HookRecord.from_json)

    def forget(self, agent: str) -> None:
        """Drop an agent's hook state (it is being restarted)."""
        for suffix in (".json", ".paused", ".proc.json", ".takeover", ".notices.json"):
            with contextlib.suppress(FileNotFoundError):
                self._path(agent, suffix).unlink()

    # -- pause marker -----------------------------------------------------------
    def set_paused(self, agent: str, pids: list[int]) -> None:
        self._mkdir()
        write_private(self._path(agent, ".paused"), json.dumps({"pids": pids, "ts": time.time()}))

    def clear_paused(self, agent: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(agent, ".paused").unlink()

    def _paused(self, agent: str) -> tuple[float, list[int]] | None:
        """(since, pids) of a paused agent. A marker that cannot be read still means
        paused (it is only written by pause): better shown paused than typed into."""
        data = self._marker(agent, ".paused")
        if data is _NO_MARKER:
            return None
        try:
            ts = float(data["ts"])
            pids = [int(p) for p in data.get("pids", [])]
            if not math.isfinite(ts):
                raise ValueError("ts is not finite")
            return ts, pids
        except (TypeError, KeyError, ValueError, AttributeError, OverflowError):
            path = self._path(agent, ".paused")
            if data is not None:
                self._bad(path, "not a pause record")
            with contextlib.suppress(OSError):
                return os.lstat(path).st_mtime, []
            return None

    def paused_pids(self, agent: str) -> list[int]:
        """The processes pause stopped (some may have left the tree since)."""
        paused = self._paused(agent)
        return paused[1] if paused else []

    def paused_since(self, agent: str) -> float | None:
        paused = self._paused(agent)
        return paused[0] if paused else None

    # -- takeover marker: a person is typing in the agent's terminal ----------------
    def set_taken_over(self, agent: str, on: bool) -> None:
        """Mark (or unmark) that this process has given the agent's terminal to a person."""
        path = self._path(agent, ".takeover")
        if on:
            self._mkdir()
            write_private(path, json.dumps({"pid": os.getpid(), "ts": time.time()}))
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def taken_over(self, agent: str) -> bool:
        """Whether a person has the agent's terminal now. A marker whose owner died
        (the app killed, the terminal closed) is stale and removed."""
        data = self._marker(agent, ".takeover")
        if data is _NO_MARKER:
            return False
        try:
            owner = int(data["pid"])
        except (TypeError, KeyError, ValueError):
            owner = 0
        try:
            if owner > 0:
                os.kill(owner, 0)
                return True
        except (ProcessLookupError, OverflowError):
            pass
        except PermissionError:
            return True  # alive, someone else's
        with contextlib.suppress(FileNotFoundError):
            self._path(agent, ".takeover").unlink()
        return False

    # -- the wrapper's record -----------------------------------------------------
    def set_proc(self, record: ProcRecord) -> None:
        self._mkdir()
        write_private(self._path(record.agent, ".proc.json"), json.dumps(record._asdict()))

    def proc(self, agent: str) -> ProcRecord | None:
        return self._record(agent, ".proc.json", ProcRecord.from_json)

    # -- the supervisor's record of mail notices ------------------------------------
    def notices(self, agent: str) -> Any:
        """The notice book's JSON (see `delivery.NoticeBook`), or None."""
        return self._load(agent, ".notices.json")

    def set_notices(self, agent: str, data: Mapping[str, Any]) -> None:
        self._mkdir()
        write_private(self._path(agent, ".notices.json"), json.dumps(data))


def resolve(
    hook: HookRecord | None,
    *,
    paused_since: float | None,
    dead: bool,
    dead_status: int | None,
    screen_state: str | None = None,
    screen_reason: str = "",
    started_at: float | None = None,
    now: float | None = None,
    hooks_report_work: bool = True,
    taken_over: bool = False,
    mail_waiting: bool = False,
) -> AgentState:
    """The state to show, from the hook record and what tmux and the screen say.

    Precedence: exited (tmux says the pane is dead) > paused > taken-over > a
    question on screen (over any hook state but working: hooks do not see trust
    dialogs, and Codex's notify does not see approvals) > hook state (idle
    debounced by IDLE_QUIET_S) > screen > starting/unknown. For agents whose hooks
    never report work (`hooks_report_work=False`), a screen that shows work wins
    over an idle hook. An idle agent with an unconfirmed mail notice shows
    `needs-you` ("mail waiting"): the supervisor never retypes a notice blind.
    """
    now = time.time() if now is None else now
    if dead:
        code = dead_status if dead_status is not None else -1
        return AgentState(exited(code), exit_code=code)
    if paused_since is not None:
        return AgentState(PAUSED, since=paused_since)
    if taken_over:
        return AgentState(TAKEN_OVER, detail="a person is typing in its terminal")
    if hook is not None and started_at is not None and hook.ts < started_at - EARLIER_LIFE_S:
        hook = None
    hook_state = hook.state if hook is not None else None
    if screen_state == NEEDS_YOU and (hook_state != WORKING or not hooks_report_work):
        return AgentState(NEEDS_YOU, since=hook.ts if hook else None, detail=screen_reason)
    state = _from_hook(hook, screen_state, started_at, now, hooks_report_work)
    if mail_waiting and state.name in (IDLE, UNKNOWN):
        return AgentState(
            NEEDS_YOU, since=state.since, detail="mail waiting: a notice was not confirmed"
        )
    return state


def _from_hook(
    hook: HookRecord | None,
    screen_state: str | None,
    started_at: float | None,
    now: float,
    hooks_report_work: bool,
) -> AgentState:
    if hook is not None:
        if hook.state == IDLE:
            if not hooks_report_work and screen_state == WORKING:
                # Codex's notify says only when a turn ends: past that, the screen knows.
                return AgentState(WORKING, since=hook.ts)
            if now - hook.ts < IDLE_QUIET_S and hook.previous != IDLE:
                # The quiet period: the agent was busy a moment ago.
                previous = STARTING if hook.previous in (STARTING, UNKNOWN) else WORKING
                return AgentState(previous, since=hook.ts, detail=hook.detail)
            return AgentState(IDLE, since=hook.ts, detail=hook.detail)
        if hook.state == STARTING:
            if screen_state in (WORKING, IDLE):
                return AgentState(screen_state)  # hooks that never came (or cannot)
            return AgentState(STARTING, since=hook.ts)
        if hook.state != UNKNOWN:
            return AgentState(hook.state, since=hook.ts, detail=hook.detail)
    if screen_state is not None and screen_state != UNKNOWN:
        return AgentState(screen_state)
    if hook is None and started_at is not None and now - started_at < STARTING_FOR_S:
        return AgentState(STARTING, since=started_at)
    return AgentState(UNKNOWN)
