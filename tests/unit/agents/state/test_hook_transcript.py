"""The hook record keeps the transcript Claude Code's hooks name, for its token counts."""

from __future__ import annotations

from pathlib import Path

from missionctl.agents.state.store import HookRecord, StateStore


def test_the_last_named_transcript_is_kept_across_events(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    first = "/home/me/.claude/projects/-lab-r1/a.jsonl"
    store.record("r1", "SessionStart", {"transcript_path": first}, now=1.0)
    store.record("r1", "working", {}, now=2.0)  # events without one keep it
    record = store.hook("r1")
    assert record is not None and record.transcript == first
    store.record("r1", "Stop", {"transcript_path": "/x/projects/-lab-r1/b.jsonl"}, now=3.0)
    record = store.hook("r1")
    assert record is not None and record.transcript.endswith("b.jsonl")
    # Not a string: ignored, the last good one stays.
    store.record("r1", "Stop", {"transcript_path": ["/etc/passwd"]}, now=4.0)
    assert store.hook("r1") == record._replace(ts=4.0, previous="idle")


def test_records_written_before_the_field_existed_still_load() -> None:
    old = {"agent": "r1", "event": "Stop", "state": "idle", "ts": 5.0}
    assert HookRecord.from_json(old).transcript == ""
