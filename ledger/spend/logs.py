"""Where each kind of agent's token counts are written, and how to read them.

- SDK agents (`anthropic`, `openai`): missionctl's own log, one JSON line per model
  answer, at `.missionctl/usage/<agent>.jsonl` (0600; written by `UsageLog`).
- Claude Code: its session transcripts (JSONL). Each assistant message carries
  `message.usage`; a streamed message is written once per content block with the
  same `message.id`, so records are keyed by it and the last one wins. Measured
  on Claude Code 2.1.197: transcripts live in `<config dir>/projects/<cwd with
  every non-alphanumeric character as '-'>/<session>.jsonl`.
- Codex: its rollout files, `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`.
  Codex 0.171 writes a `token_usage_record` per model response (`usage`,
  `response_id`) and the model in each `turn_context`; older versions only an
  `event_msg` `token_count` whose `last_token_usage` is the last response's.
  Its input counts include cached input, as OpenAI's do.

The parsers are pure (one decoded line in, a record or nothing out) and the
files are read incrementally: a reader keeps its offset per file, so a poll
costs only the lines written since the last one.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from missionctl.files import NotAPlainFile, make_private_dir, open_private, open_regular
from missionctl.ledger.spend.tokens import Tally, Tokens, UsageRecord, count

# Lines longer than this are not usage lines (a transcript line can hold a whole
# file an agent read); they are skipped unread.
MAX_LINE = 4 * 1024 * 1024
_USAGE_HINTS = (b'"usage"', b'"token_count"', b'"turn_context"', b"token_usage_record")


def parse_ts(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 string ("2026-12-05T22:20:57.374Z")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- missionctl's own log (SDK agents) --------------------------------------------------
def sdk_record(line: dict[str, Any]) -> UsageRecord | None:
    """A record from a line of `.missionctl/usage/<agent>.jsonl`."""
    ts = parse_ts(line.get("ts"))
    if ts is None:
        return None
    tokens = Tokens.read(line, "input", "output", "cache_read", "cache_write")
    return UsageRecord(ts, str(line.get("model") or ""), tokens)


class UsageLog:
    """An SDK agent's usage log: one line per model answer, private to the user."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, model: str, tokens: Tokens, *, estimated: bool = False) -> None:
        """Add one answer's tokens (`estimated`: the server reported none)."""
        make_private_dir(self.path.parent)
        line = {"ts": time.time(), "model": model, **tokens.to_json()}
        if estimated:
            line["estimated"] = True
        data = (json.dumps(line) + "\n").encode()
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, data)  # one write of one line with O_APPEND: never interleaved
        finally:
            os.close(fd)


# -- Claude Code transcripts -------------------------------------------------------------
def claude_record(line: dict[str, Any]) -> tuple[str, UsageRecord] | None:
    """(key, record) from one transcript line, for assistant messages with usage."""
    if line.get("type") != "assistant":
        return None
    message = line.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    ts = parse_ts(line.get("timestamp"))
    if not isinstance(usage, dict) or ts is None:
        return None
    tokens = Tokens.read(
        usage,
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )
    key = f"{message.get('id') or line.get('uuid')}:{line.get('requestId') or ''}"
    return key, UsageRecord(ts, str(message.get("model") or ""), tokens)


# -- Codex rollouts ----------------------------------------------------------------------
def _openai_tokens(usage: dict[str, Any]) -> Tokens:
    prompt = count(usage.get("input_tokens"))
    cached = count(usage.get("cached_input_tokens"))
    written = count(usage.get("cache_write_input_tokens"))
    return Tokens(max(0, prompt - cached - written), count(usage.get("output_tokens")),
                  cached, written)  # fmt: skip


class CodexRollout:
    """The usage in one Codex rollout file, line by line (the model comes from the
    `turn_context` lines before it)."""

    def __init__(self) -> None:
        self.model = ""
        self.records = Tally()  # per response (0.171+)
        self.counts = Tally()  # per token_count event (older)

    def feed(self, line: dict[str, Any], position: int) -> None:
        kind = line.get("type")
        payload = line.get("payload")
        if not isinstance(payload, dict):
            return
        if kind == "turn_context" and isinstance(payload.get("model"), str):
            self.model = payload["model"]
            return
        ts = parse_ts(line.get("timestamp"))
        if ts is None:
            return
        if kind == "token_usage_record" and isinstance(payload.get("usage"), dict):
            key = str(payload.get("response_id") or position)
            self.records.put(key, UsageRecord(ts, self.model, _openai_tokens(payload["usage"])))
        elif kind == "event_msg" and payload.get("type") == "token_count":
            info = payload.get("info")
            last = info.get("last_token_usage") if isinstance(info, dict) else None
            if isinstance(last, dict):
                record = UsageRecord(ts, self.model, _openai_tokens(last))
                self.counts.put(str(position), record)

    def usage(self) -> Tally:
        # Both kinds describe the same responses: the per-response records when there are any.
        return self.records if len(self.records) else self.counts


# -- reading files a line at a time ------------------------------------------------------
class FileTail:
    """The complete lines appended to one file since the last read.

    Files are opened without following links and must be regular files (an agent
    could plant a link to a FIFO or /dev/zero where a log should be): see
    `missionctl.files.open_regular`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.identity: tuple[int, int] | None = None
        self._partial = b""

    def read(self) -> tuple[bool, list[tuple[int, bytes]]]:
        """(restarted, [(offset, line)]): `restarted` when the file was replaced or
        truncated, and what was read from it before no longer holds."""
        try:
            fh = open_regular(self.path)
        except (NotAPlainFile, OSError):
            return False, []
        with fh:
            info = os.fstat(fh.fileno())
            identity = (info.st_dev, info.st_ino)
            restarted = False
            if identity != self.identity or info.st_size < self.offset:
                restarted = self.identity is not None
                self.identity, self.offset, self._partial = identity, 0, b""
            if info.st_size == self.offset:
                return restarted, []
            fh.seek(self.offset)
            data = self._partial + fh.read(info.st_size - self.offset)
        start = self.offset - len(self._partial)
        self.offset = info.st_size
        lines, _, self._partial = data.rpartition(b"\n")
        if len(self._partial) > MAX_LINE:
            self._partial = b""  # an endless line: drop it rather than hold it
        out = []
        position = start
        for raw in lines.split(b"\n") if lines else []:
            out.append((position, raw))
            position += len(raw) + 1
        return restarted, out


def decoded(
    lines: list[tuple[int, bytes]], *, every: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects among `lines` that may carry usage (`every`: all of them);
    a transcript's other lines, most of its bytes, are not decoded at all."""
    for position, raw in lines:
        if len(raw) > MAX_LINE or not (every or any(hint in raw for hint in _USAGE_HINTS)):
            continue
        with contextlib.suppress(ValueError):
            line = json.loads(raw)
            if isinstance(line, dict):
                yield position, line
