"""Agent state from hook events: mapping, ordering, debouncing, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl.agents.state import IDLE_QUIET_S, StateStore, event_state, resolve


@pytest.mark.parametrize(
    ("event", "payload", "state"),
    [
        ("UserPromptSubmit", {"prompt": "go"}, "working"),
        ("PreToolUse", {"tool_name": "Bash"}, "working"),
        ("PostToolUse", {}, "working"),
        ("Stop", {}, "idle"),
        ("StopFailure", {"error": "overloaded"}, "idle"),
        ("Notification", {"message": "Claude needs your permission to use Bash"}, "needs-you"),
        ("Notification", {"notification_type": "permission_prompt"}, "needs-you"),
        ("Notification", {"notification_type": "idle_prompt"}, "idle"),
        ("Notification", {"message": "Claude is waiting for your input"}, "idle"),
        ("PermissionRequest", {}, "needs-you"),
        ("SessionEnd", {}, None),
        ("SubagentStop", {}, None),
        ("codex-notify", {"type": "agent-turn-complete"}, "idle"),
        ("codex-notify", {"type": "approval-requested"}, "needs-you"),
        ("codex-notify", {"type": "something-new"}, None),
        ("working", None, "working"),
        ("idle", None, "idle"),
        ("needs-you", None, "needs-you"),
        ("NoSuchEvent", {}, None),
    ],
)
def test_event_to_state(event: str, payload: dict[str, str] | None, state: str | None) -> None:
    assert event_state(event, payload) == state


def test_newest_event_wins_whatever_order_they_land_in(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "Stop", now=110.0)
    assert store.record("r1", "PreToolUse", now=100.0) is None  # older: ignored
    record = store.hook("r1")
    assert record is not None and record.state == "idle" and record.ts == 110.0


def test_events_that_do_not_change_state_keep_it(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "UserPromptSubmit", {"prompt": "run it"}, now=1.0)
    store.record("r1", "SessionEnd", {}, now=2.0)
    record = store.hook("r1")
    assert record is not None
    assert (record.state, record.event, record.prompt, record.prompt_ts) == (
        "working", "SessionEnd", "run it", 1.0,
    )  # fmt: skip


def test_idle_needs_quiet_before_it_shows(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "PreToolUse", now=100.0)
    store.record("r1", "Stop", now=101.0)
    hook = store.hook("r1")
    kw = {"paused_since": None, "dead": False, "dead_status": None}
    assert resolve(hook, now=101.0 + IDLE_QUIET_S / 2, **kw).name == "working"
    assert resolve(hook, now=101.0 + IDLE_QUIET_S + 0.01, **kw).name == "idle"


def test_precedence_exited_then_paused_then_hooks_then_screen(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "Stop", now=10.0)
    hook = store.hook("r1")
    assert resolve(hook, paused_since=50.0, dead=True, dead_status=3, now=60).name == "exited(3)"
    assert resolve(hook, paused_since=50.0, dead=False, dead_status=None, now=60).name == "paused"
    assert resolve(hook, paused_since=None, dead=False, dead_status=None, now=60).name == "idle"
    assert resolve(None, paused_since=None, dead=False, dead_status=None, screen_guess="working",
                   now=60).name == "working"  # fmt: skip
    assert resolve(None, paused_since=None, dead=False, dead_status=None, started_at=55.0,
                   now=60).name == "starting"  # fmt: skip
    assert resolve(None, paused_since=None, dead=False, dead_status=None, started_at=1.0,
                   now=60).name == "unknown"  # fmt: skip


def test_a_record_from_an_earlier_life_is_ignored(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "needs-you", now=10.0)
    hook = store.hook("r1")
    # Restarted at t=100: the old needs-you is not about this process.
    state = resolve(
        hook, paused_since=None, dead=False, dead_status=None, started_at=100.0, now=101
    )
    assert state.name == "starting"


def test_pause_and_takeover_markers(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert store.paused_since("r1") is None and not store.taken_over("r1")
    store.set_paused("r1", [1, 2])
    store.set_taken_over("r1", True)
    assert store.paused_since("r1") is not None and store.taken_over("r1")
    store.forget("r1")
    assert store.paused_since("r1") is None and not store.taken_over("r1")


def test_a_takeover_marker_of_a_dead_owner_is_stale(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    store = StateStore(tmp_path)
    store.set_taken_over("r1", True)
    assert store.taken_over("r1")  # this process owns it and is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (tmp_path / "r1.takeover").write_text(json.dumps({"pid": int(dead), "ts": 0}))
    assert not store.taken_over("r1")
    assert not (tmp_path / "r1.takeover").exists()


def test_a_screen_showing_work_beats_codex_idle_hook(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r5", "codex-notify", {"type": "agent-turn-complete"}, now=10.0)
    hook = store.hook("r5")
    kw = {"paused_since": None, "dead": False, "dead_status": None, "now": 60.0}
    # Codex reports only finished turns: the screen decides whether it works again.
    assert resolve(hook, screen_guess="working", hooks_report_work=False, **kw).name == "working"
    assert (
        resolve(hook, screen_guess="needs-you", hooks_report_work=False, **kw).name == "needs-you"
    )
    assert resolve(hook, screen_guess="idle", hooks_report_work=False, **kw).name == "idle"
    # Agents whose hooks do report work are believed over the screen.
    assert resolve(hook, screen_guess="working", hooks_report_work=True, **kw).name == "idle"
