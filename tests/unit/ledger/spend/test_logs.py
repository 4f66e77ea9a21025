"""Reading every agent's token counts: byte fixtures captured from the real CLIs
(Claude Code 2.1.197, Codex 0.171, against tests/fakes/), and the incremental tail."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from missionctl import orgfile
from missionctl.ledger.spend import (
    PriceTable,
    SpendReader,
    Tokens,
    UsageLog,
    agent_spend,
    summarise,
)
from missionctl.ledger.spend.logs import CodexRollout, FileTail, claude_record, decoded, parse_ts
from missionctl.ledger.spend.reader import usage_log_path
from tests.helpers import FIXTURES

CLAUDE = FIXTURES / "spend" / "claude-2.1.197-transcript.jsonl"
CODEX = FIXTURES / "spend" / "codex-0.171-rollout.jsonl"


def _lines(path: Path) -> list[tuple[int, bytes]]:
    return list(enumerate(path.read_bytes().splitlines()))


def test_a_claude_transcript_counts_each_message_once() -> None:
    found = dict(r for _, line in decoded(_lines(CLAUDE)) if (r := claude_record(line)))
    # msg_0004 streamed two content blocks: Claude wrote it twice, with the same usage.
    assert len(found) == 2
    records = list(found.values())
    assert {r.model for r in records} == {"claude-opus-4-8"}
    assert sum((r.tokens for r in records), Tokens()) == Tokens(200, 20, 0, 0)
    assert records[0].ts == parse_ts("2026-12-05T22:20:57.928Z")


def test_a_codex_rollout_counts_each_response_once() -> None:
    rollout = CodexRollout()
    for position, line in decoded(_lines(CODEX)):
        rollout.feed(line, position)
    records = list(rollout.usage().records.values())
    # Two responses (token_usage_record); the token_count event repeats the first.
    assert len(records) == 2
    assert {r.model for r in records} == {"gpt-5-codex"}
    assert sum((r.tokens for r in records), Tokens()) == Tokens(200, 20, 0, 0)
    spend = summarise(records, PriceTable())
    assert spend.usd == pytest.approx((200 * 1.25 + 20 * 10) / 1e6)


def test_codex_before_token_usage_records_is_read_from_token_count() -> None:
    rollout = CodexRollout()
    lines = [
        {"timestamp": "2025-10-01T10:00:00Z", "type": "turn_context", "payload": {"model": "gpt-5"}},
        {"timestamp": "2025-10-01T10:00:05Z", "type": "event_msg", "payload": {
            "type": "token_count", "info": {"last_token_usage": {
                "input_tokens": 1000, "cached_input_tokens": 600, "output_tokens": 50}}}},
        {"timestamp": "2025-10-01T10:00:06Z", "type": "event_msg", "payload": {
            "type": "token_count", "info": None}},  # rate limits only: no usage
    ]  # fmt: skip
    for n, line in enumerate(lines):
        rollout.feed(line, n)
    (record,) = rollout.usage().records.values()
    # OpenAI's prompt count includes the cached part.
    assert record.tokens == Tokens(input=400, output=50, cache_read=600) and record.model == "gpt-5"


def test_running_totals_agree_with_the_records_when_messages_are_written_again(
    tmp_path: Path,
) -> None:
    project = tmp_path / "agent-config" / "r1" / "claude" / "projects" / "-lab-r1"
    project.mkdir(parents=True)
    reader = SpendReader(tmp_path, "r1", "claude")
    lines = CLAUDE.read_bytes().splitlines(keepends=True)
    with open(project / "s.jsonl", "wb") as fh:
        for line in lines:  # one line per poll: msg_0004's second copy replaces its first
            fh.write(line)
            fh.flush()
            spend = reader.spend(PriceTable())
            assert spend == summarise(reader.records(), PriceTable())
    assert spend.answers == 2 and spend.tokens == Tokens(200, 20, 0, 0)


def test_the_tail_reads_only_complete_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": ')
    tail = FileTail(path)
    assert tail.read() == (False, [(0, b'{"a": 1}')])
    with open(path, "ab") as fh:
        fh.write(b'2}\n{"c": 3}\n')
    assert tail.read() == (False, [(9, b'{"b": 2}'), (18, b'{"c": 3}')])
    assert tail.read() == (False, [])
    path.write_bytes(b'{"d": 4}\n')  # truncated and rewritten
    assert tail.read() == (True, [(0, b'{"d": 4}')])


def test_the_tail_follows_no_link_and_reads_no_fifo(tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    target.write_text('{"usage": 1}\n')
    (tmp_path / "link.jsonl").symlink_to(target)
    assert FileTail(tmp_path / "link.jsonl").read() == (False, [])
    os.mkfifo(tmp_path / "fifo.jsonl")
    started = time.monotonic()
    assert FileTail(tmp_path / "fifo.jsonl").read() == (False, [])
    assert time.monotonic() - started < 5  # no writer, and it did not wait for one


def _org(provider: str, extra: str = "") -> orgfile.OrgSpec:
    return orgfile.loads(
        f'[org]\nname = "lab"\n\n[[agent]]\nname = "r1"\nprovider = "{provider}"\n{extra}'
    )


def test_an_sdk_agents_log_is_private_and_read_as_it_grows(tmp_path: Path) -> None:
    runtime = tmp_path / ".missionctl"
    log = UsageLog(usage_log_path(runtime, "r1"))
    log.append("claude-sonnet-4-5", Tokens(1000, 100, 5000, 0))
    reader = SpendReader(runtime, "r1", "anthropic")
    assert [r.tokens for r in reader.records()] == [Tokens(1000, 100, 5000, 0)]
    log.append("claude-sonnet-4-5", Tokens(10, 1), estimated=True)
    assert len(reader.records()) == 2
    assert oct(usage_log_path(runtime, "r1").stat().st_mode & 0o777) == "0o600"
    assert oct(usage_log_path(runtime, "r1").parent.stat().st_mode & 0o777) == "0o700"
    spend = agent_spend(tmp_path, _org("anthropic"), "r1")
    assert spend.tokens.total == 6111 and spend.answers == 2
    later = agent_spend(tmp_path, _org("anthropic"), "r1", since=time.time() + 60)
    assert later.answers == 0


def test_claude_transcripts_are_found_in_its_config_and_where_its_hooks_point(
    tmp_path: Path,
) -> None:
    runtime = tmp_path / ".missionctl"
    project = runtime / "agent-config" / "r1" / "claude" / "projects" / "-lab-worktrees-r1"
    project.mkdir(parents=True)
    (project / "s1.jsonl").write_bytes(CLAUDE.read_bytes())
    # prepare_trust = false: the transcript is in the user's own config; the hook says where.
    elsewhere = tmp_path / "home" / ".claude" / "projects" / "-lab-worktrees-r1"
    elsewhere.mkdir(parents=True)
    (elsewhere / "s2.jsonl").write_bytes(CLAUDE.read_bytes().replace(b"msg_000", b"msg_100"))
    (runtime / "state").mkdir()
    (runtime / "state" / "r1.json").write_text(
        json.dumps({"transcript": str(elsewhere / "s2.jsonl")})
    )
    spend = agent_spend(tmp_path, _org("claude"), "r1")
    assert spend.answers == 4 and spend.tokens == Tokens(400, 40, 0, 0)
    # A hook cannot point the reader at any folder: only a `projects/<dir>/` file.
    (runtime / "state" / "r1.json").write_text(
        json.dumps({"transcript": str(tmp_path / "x.jsonl")})
    )
    (tmp_path / "x.jsonl").write_bytes(CLAUDE.read_bytes().replace(b"msg_000", b"msg_200"))
    assert agent_spend(tmp_path, _org("claude"), "r1").answers == 2


def test_codex_sessions_are_read_from_its_own_codex_home(tmp_path: Path) -> None:
    runtime = tmp_path / ".missionctl"
    day = runtime / "agent-config" / "r1" / "codex" / "sessions" / "2026" / "12" / "05"
    day.mkdir(parents=True)
    (day / "rollout-a.jsonl").write_bytes(CODEX.read_bytes())
    spend = agent_spend(tmp_path, _org("codex"), "r1")
    assert spend.tokens == Tokens(200, 20, 0, 0) and spend.unpriced == ()
    # A second session found on a later poll (the reader looks for new files every few s).
    clock = [0.0]
    reader = SpendReader(runtime, "r1", "codex", clock=lambda: clock[0])
    assert len(reader.records()) == 2
    (day / "rollout-b.jsonl").write_bytes(CODEX.read_bytes())
    assert len(reader.records()) == 2
    clock[0] = 10.0
    assert len(reader.records()) == 4


def test_shells_and_scripted_agents_spend_nothing(tmp_path: Path) -> None:
    assert agent_spend(tmp_path, _org("shell"), "r1").answers == 0
