"""Agent state from hook events: mapping, ordering, debouncing, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl.agents.state.store import IDLE_QUIET_S, StateStore, clamp_ts, event_state, resolve


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
    assert resolve(None, paused_since=None, dead=False, dead_status=None, screen_state="working",
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
    assert resolve(hook, screen_state="working", hooks_report_work=False, **kw).name == "working"
    assert (
        resolve(hook, screen_state="needs-you", hooks_report_work=False, **kw).name == "needs-you"
    )
    assert resolve(hook, screen_state="idle", hooks_report_work=False, **kw).name == "idle"
    # Agents whose hooks do report work are believed over the screen.
    assert resolve(hook, screen_state="working", hooks_report_work=True, **kw).name == "idle"


def test_codex_after_every_turn_is_idle_not_starting(tmp_path: Path) -> None:
    # Codex's notify reports only finished turns: idle follows idle. The state before
    # the last event was idle, so there is no "quiet period" to show an older state in.
    store = StateStore(tmp_path)
    store.record("r5", "starting", now=100.0)
    store.record("r5", "codex-notify", {"type": "agent-turn-complete"}, now=110.0)
    store.record("r5", "codex-notify", {"type": "agent-turn-complete"}, now=150.0)
    hook = store.hook("r5")
    kw = {"paused_since": None, "dead": False, "dead_status": None, "started_at": 99.0}
    state = resolve(hook, now=150.2, hooks_report_work=False, screen_state="idle", **kw)
    assert state.name == "idle"


@pytest.mark.parametrize("hook_state", [None, "starting", "idle"])
def test_a_question_on_screen_is_needs_you_with_its_reason(
    tmp_path: Path, hook_state: str | None
) -> None:
    # First-run dialogs come before any hook, and a `starting` record once always won.
    store = StateStore(tmp_path)
    if hook_state:
        store.record("r1", hook_state, now=100.0)
    state = resolve(store.hook("r1"), paused_since=None, dead=False, dead_status=None,
                    screen_state="needs-you", screen_reason="trust dialog: take over to answer",
                    started_at=99.5, now=160.0)  # fmt: skip
    assert state == ("needs-you", state.since, "trust dialog: take over to answer", None)


def test_hooks_that_report_work_are_believed_over_a_question_like_screen(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "PreToolUse", now=100.0)
    state = resolve(store.hook("r1"), paused_since=None, dead=False, dead_status=None,
                    screen_state="needs-you", now=101.0)  # fmt: skip
    assert state.name == "working"


def test_taken_over_and_mail_waiting(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record("r1", "Stop", now=100.0)
    kw = {"paused_since": None, "dead": False, "dead_status": None, "now": 200.0}
    assert resolve(store.hook("r1"), taken_over=True, **kw).name == "taken-over"
    waiting = resolve(store.hook("r1"), mail_waiting=True, **kw)
    assert waiting.name == "needs-you" and "mail waiting" in waiting.detail
    store.record("r1", "PreToolUse", now=150.0)
    assert resolve(store.hook("r1"), mail_waiting=True, **kw).name == "working"


@pytest.mark.parametrize("ts", [1e300, float("inf"), float("nan"), -1e300, 0.0, None, 1061.0])
def test_reported_times_are_clamped_near_now(ts: float | None) -> None:
    assert clamp_ts(ts, now=1000.0) == 1000.0
    assert clamp_ts(1000.5, now=1000.0) == 1000.5  # a shell's own clock orders its events


@pytest.mark.parametrize(
    ("suffix", "content"),
    [
        (".json", "{not json"),
        (".json", '{"agent": "r2", "state": "working", "ts": "soon"}'),
        (".json", '{"agent": "r2", "state": "rm -rf", "ts": 1}'),
        (".json", "[]"),
        (".proc.json", '{"agent": "r2", "wrapper_pid": "x"}'),
        (
            ".proc.json",
            '{"agent": "r2", "wrapper_pid": -5, "child_pid": 1, "started_at": 1, "provider": "shell"}',
        ),
        (".paused", "garbage"),
        (".takeover", '{"pid": "me"}'),
    ],
)
def test_a_malformed_state_file_reads_as_missing_and_is_reported_once(
    tmp_path: Path, suffix: str, content: str
) -> None:
    store = StateStore(tmp_path)
    (tmp_path / f"r2{suffix}").write_text(content)
    for _ in range(3):
        assert store.hook("r2") is None or suffix != ".json"
        assert store.proc("r2") is None
        assert store.taken_over("r2") is False
        since = store.paused_since("r2")
        assert (since is not None) == (suffix == ".paused")  # unreadable marker: still paused
    if suffix != ".takeover":
        assert len(store.problems) == 1 and f"r2{suffix}" in store.problems[0]


def test_a_state_file_that_is_a_fifo_or_a_link_never_blocks(tmp_path: Path) -> None:
    import os

    store = StateStore(tmp_path)
    os.mkfifo(tmp_path / "r2.json")
    os.symlink("/dev/zero", tmp_path / "r3.json")
    assert store.hook("r2") is None and store.hook("r3") is None
    assert len(store.problems) == 2


def test_state_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        store = StateStore(tmp_path / "state")
        store.record("r1", "working")
        store.set_paused("r1", [1])
    finally:
        os.umask(old)
    for path in (tmp_path / "state").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
