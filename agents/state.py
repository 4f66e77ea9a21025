"""Agent state: what each agent is doing, from its own hooks, written atomically.

`missionctl hook EVENT` runs on every tool call of every agent, so this module
imports only the standard library. The source of truth is the agents' own hooks
(Claude Code hooks, Codex `notify`, and the same command called by the scripted
agent and the shell); screen heuristics (`screen.py`) are only a fallback.

Files under `.missionctl/state/`, one writer each:
- `<agent>.json`  last hook event (the hook; newest event wins, under a lock)
- `<agent>.paused` present while the agent is paused (the hub's pause/resume)
- `<agent>.proc.json` the wrapper's pid, the provider's pid, start time (the wrapper)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

STARTING = "starting"
WORKING = "working"
IDLE = "idle"
NEEDS_YOU = "needs-you"
PAUSED = "paused"
UNKNOWN = "unknown"
STATES = (STARTING, WORKING, IDLE, NEEDS_YOU, PAUSED, UNKNOWN)  # plus exited(<code>)

# An agent counts as idle only after this much quiet: a Stop hook is often
# followed at once by more work (a queued prompt, a hook that continues the turn).
IDLE_QUIET_S = 1.5

# Claude Code hook events -> state. None: recorded, but the state is unchanged.
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

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HookRecord:
        return cls(**{k: v for k, v in data.items() if k in cls._fields})


class ProcRecord(NamedTuple):
    """What the wrapper of an agent started, and when."""

    agent: str
    wrapper_pid: int
    child_pid: int
    started_at: float
    provider: str
    argv0: str = ""


class AgentState(NamedTuple):
    """The state shown to people: one of STATES or `exited(<code>)`."""

    name: str
    since: float | None = None
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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class StateStore:
    """The state files of one workspace (`.missionctl/state/`)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    def _path(self, agent: str, suffix: str) -> Path:
        return self.dir / f"{agent}{suffix}"

    @contextlib.contextmanager
    def _locked(self, agent: str) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self._path(agent, ".lock"), "a") as lock:
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
        """Apply a hook event; returns the new record (None if older than the stored one)."""
        ts = time.time() if now is None else now
        new_state = event_state(event, payload)
        with self._locked(agent):
            old = self.hook(agent)
            if old is not None and old.ts > ts:
                return None  # a later event already landed
            state = new_state or (old.state if old else UNKNOWN)
            prompt, prompt_ts = (old.prompt, old.prompt_ts) if old else ("", 0.0)
            if event == "UserPromptSubmit" and payload:
                prompt, prompt_ts = str(payload.get("prompt", ""))[:500], ts
            detail = ""
            if payload:
                detail = str(payload.get("message") or payload.get("error") or "")[:200]
            previous = old.state if old else UNKNOWN
            if old is not None and old.state == state:
                previous = old.previous
            record = HookRecord(agent, event, state, ts, detail, prompt, prompt_ts, previous)
            _write_atomic(self._path(agent, ".json"), json.dumps(record.to_json()))
            return record

    def hook(self, agent: str) -> HookRecord | None:
        try:
            data = json.loads(self._path(agent, ".json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return HookRecord.from_json(data)

    def forget(self, agent: str) -> None:
        """Drop an agent's hook state (it is being restarted)."""
        for suffix in (".json", ".paused", ".proc.json", ".takeover"):
            with contextlib.suppress(FileNotFoundError):
                self._path(agent, suffix).unlink()

    # -- pause marker -----------------------------------------------------------
    def set_paused(self, agent: str, pids: list[int]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._path(agent, ".paused"), json.dumps({"pids": pids, "ts": time.time()}))

    def clear_paused(self, agent: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(agent, ".paused").unlink()

    def paused_pids(self, agent: str) -> list[int]:
        """The processes pause stopped (some may have left the tree since)."""
        try:
            data = json.loads(self._path(agent, ".paused").read_text(encoding="utf-8"))
            return [int(p) for p in data.get("pids", [])]
        except (FileNotFoundError, ValueError, TypeError):
            return []

    def paused_since(self, agent: str) -> float | None:
        try:
            data = json.loads(self._path(agent, ".paused").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return float(data.get("ts", 0.0))

    # -- takeover marker: a person is typing in the agent's terminal ----------------
    def set_taken_over(self, agent: str, on: bool) -> None:
        """Mark (or unmark) that this process has given the agent's terminal to a person."""
        path = self._path(agent, ".takeover")
        if on:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, json.dumps({"pid": os.getpid(), "ts": time.time()}))
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def taken_over(self, agent: str) -> bool:
        """Whether a person has the agent's terminal now. A marker whose owner died
        (the app killed, the terminal closed) is stale and removed."""
        path = self._path(agent, ".takeover")
        try:
            owner = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
        except FileNotFoundError:
            return False
        except (ValueError, KeyError, TypeError):
            owner = 0
        try:
            if owner > 0:
                os.kill(owner, 0)
                return True
        except ProcessLookupError:
            pass
        except PermissionError:
            return True  # alive, someone else's
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False

    # -- the wrapper's record -----------------------------------------------------
    def set_proc(self, record: ProcRecord) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._path(record.agent, ".proc.json"), json.dumps(record._asdict()))

    def proc(self, agent: str) -> ProcRecord | None:
        try:
            data = json.loads(self._path(agent, ".proc.json").read_text(encoding="utf-8"))
            return ProcRecord(**data)
        except (FileNotFoundError, ValueError, TypeError):
            return None


def resolve(
    hook: HookRecord | None,
    *,
    paused_since: float | None,
    dead: bool,
    dead_status: int | None,
    screen_guess: str | None = None,
    started_at: float | None = None,
    now: float | None = None,
    hooks_report_work: bool = True,
) -> AgentState:
    """The state to show, from the hook record and what tmux and the screen say.

    Precedence: exited (tmux says the pane is dead) > paused > hook state (idle
    debounced by IDLE_QUIET_S) > screen heuristics > starting/unknown. For agents
    whose hooks never report work (`hooks_report_work=False`, Codex), a screen that
    shows work or a question wins over an idle hook.
    """
    now = time.time() if now is None else now
    if dead:
        code = dead_status if dead_status is not None else -1
        return AgentState(f"exited({code})", exit_code=code)
    if paused_since is not None:
        return AgentState(PAUSED, since=paused_since)
    # A hook record from before this process started belongs to an earlier life.
    if hook is not None and started_at is not None and hook.ts < started_at - 1.0:
        hook = None
    if hook is not None:
        if not hooks_report_work and hook.state == IDLE and screen_guess in (WORKING, NEEDS_YOU):
            # Codex says only when a turn ends: past that, the screen knows better.
            return AgentState(screen_guess, since=hook.ts)
        if hook.state == IDLE and now - hook.ts < IDLE_QUIET_S:
            previous = hook.previous if hook.previous != IDLE else WORKING
            return AgentState(previous, since=hook.ts, detail=hook.detail)
        if hook.state != UNKNOWN:
            return AgentState(hook.state, since=hook.ts, detail=hook.detail)
    if screen_guess is not None and screen_guess != UNKNOWN:
        return AgentState(screen_guess)
    if hook is None and started_at is not None and now - started_at < 30:
        return AgentState(STARTING, since=started_at)
    return AgentState(UNKNOWN)
