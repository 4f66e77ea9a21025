"""A mail message: its JSON schema, its validation and its id. Pure: no file I/O.

A message is one JSON object (schema version `v` = 1):

    {"v": 1, "id": "...", "ts": "2026-01-02T03:04:05.678901Z", "from": "r1", "to": "chief",
     "kind": "result", "subject": "...", "body": "...",
     "refs": {"runs": ["..."], "experiment": null}, "reply_to": null}

Ids are ULIDs in lower-case Crockford base32: 48 bits of milliseconds then 80
random bits, so they sort by time, are unique across processes without any
coordination, and are safe as file names.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from missionctl.names import CONTROL_RE, plain
from missionctl.orgfile import NAME_RE

SCHEMA_VERSION = 1
KINDS = ("note", "task", "result", "claim", "standup")
MAX_BODY_BYTES = 256 * 1024
MAX_SUBJECT_CHARS = 200
ID_LENGTH = 26
ID_RE = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}\Z")
# What a person may type instead of the whole id: its start or end (`mail read 7tm94q`).
ID_PART_RE = re.compile(r"^[0-9a-hjkmnp-tv-z]{1,26}\Z")
# Run and experiment ids come from the trainer and the ledger; this keeps them to
# one safe token without tying the mailbox to their exact format.
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}\Z")
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# C0, DEL and C1: a terminal obeys all three (U+009B is a CSI on many).


class MalformedMessage(ValueError):
    """A message file that is not a valid message; `reason` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Message:
    """One message as stored in one recipient's mailbox.

    Copies of one broadcast share their `id` and differ only in `to`.
    """

    id: str
    ts: str
    sender: str
    to: str
    kind: str
    subject: str
    body: str
    runs: tuple[str, ...] = ()
    experiment: str | None = None
    reply_to: str | None = None
    v: int = field(default=SCHEMA_VERSION)

    @property
    def time(self) -> datetime:
        """`ts` as an aware UTC datetime."""
        return datetime.fromisoformat(self.ts)

    @property
    def headline(self) -> str:
        """The subject, or else the first line of the body: one line for lists and notices."""
        text = self.subject or next((ln for ln in self.body.splitlines() if ln.strip()), "")
        text = plain(text).strip()
        return text if len(text) <= 72 else text[:71] + "…"

    def to_json(self) -> dict[str, Any]:
        """The message as the JSON object stored on disk."""
        return {
            "v": self.v,
            "id": self.id,
            "ts": self.ts,
            "from": self.sender,
            "to": self.to,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
            "refs": {"runs": list(self.runs), "experiment": self.experiment},
            "reply_to": self.reply_to,
        }

    def encode(self) -> bytes:
        """The bytes of the message file."""
        return (json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n").encode()

    @classmethod
    def from_json(cls, data: object) -> Message:
        """A message from its JSON object; `MalformedMessage` says what is wrong.

        Checked by hand, not by a msgspec schema: `mail send` runs on nearly every
        agent turn, and importing msgspec alone added 9-17 ms to its 80 ms (measured
        with 25 runs each), for the type checks only; the rest (ids, times, names,
        content) is ours either way.
        """
        if not isinstance(data, Mapping):
            raise MalformedMessage("not a JSON object")
        missing = [
            k
            for k in ("v", "id", "ts", "from", "to", "kind", "subject", "body", "refs", "reply_to")
            if k not in data
        ]
        if missing:
            raise MalformedMessage("missing field(s): " + ", ".join(missing))
        if data["v"] != SCHEMA_VERSION or isinstance(data["v"], bool):
            raise MalformedMessage(f"unsupported schema version {data['v']!r}")
        text = {k: data[k] for k in ("id", "ts", "from", "to", "kind", "subject", "body")}
        for key, value in text.items():
            if not isinstance(value, str):
                raise MalformedMessage(f"{key!r} must be a string, not {type(value).__name__}")
        if not ID_RE.match(data["id"]):
            raise MalformedMessage(f"id {data['id']!r} is not a message id")
        try:
            stamp = datetime.fromisoformat(data["ts"])
        except ValueError:
            raise MalformedMessage(f"ts {data['ts']!r} is not an ISO 8601 time") from None
        if stamp.tzinfo is None:
            raise MalformedMessage(f"ts {data['ts']!r} has no time zone")
        for key in ("from", "to"):
            if not NAME_RE.match(data[key]):
                raise MalformedMessage(f"{key!r} is not a valid name: {data[key]!r}")
        refs = data["refs"]
        if not isinstance(refs, Mapping):
            raise MalformedMessage("'refs' must be an object")
        runs = refs.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise MalformedMessage("'refs.runs' must be a list of strings")
        experiment = refs.get("experiment")
        if experiment is not None and not isinstance(experiment, str):
            raise MalformedMessage("'refs.experiment' must be a string or null")
        reply_to = data["reply_to"]
        if reply_to is not None and not isinstance(reply_to, str):
            raise MalformedMessage("'reply_to' must be a message id or null")
        problem = content_problem(
            data["kind"], data["subject"], data["body"], runs, experiment, reply_to
        )
        if problem:
            raise MalformedMessage(problem)
        return cls(
            id=data["id"],
            ts=data["ts"],
            sender=data["from"],
            to=data["to"],
            kind=data["kind"],
            subject=data["subject"],
            body=data["body"],
            runs=tuple(runs),
            experiment=experiment,
            reply_to=reply_to,
        )

    @classmethod
    def decode(cls, raw: bytes) -> Message:
        """A message from the bytes of its file; `MalformedMessage` says what is wrong."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise MalformedMessage("not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise MalformedMessage(f"not valid JSON ({exc.msg} at byte {exc.pos})") from None
        return cls.from_json(data)


def content_problem(
    kind: str,
    subject: str,
    body: str,
    runs: Iterable[str] = (),
    experiment: str | None = None,
    reply_to: str | None = None,
) -> str | None:
    """What is wrong with a message's content, in one phrase; None when it is fine."""
    if kind not in KINDS:
        return f"unknown kind {kind!r}; use one of {', '.join(KINDS)}"
    if CONTROL_RE.search(subject):
        return "the subject must be one line without control characters"
    if len(subject) > MAX_SUBJECT_CHARS:
        return f"the subject has {len(subject)} characters; the limit is {MAX_SUBJECT_CHARS}"
    if not body.strip():
        return "the body is empty; write what you want to say"
    try:
        subject.encode("utf-8")
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError:
        return "the message is not valid Unicode text (it has lone surrogates)"
    if size > MAX_BODY_BYTES:
        return (
            f"the body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,}"
            " (put large results in a file or a run and refer to it)"
        )
    for run in runs:
        if not REF_RE.match(run):
            return f"{run!r} is not a run id"
    if experiment is not None and not REF_RE.match(experiment):
        return f"{experiment!r} is not an experiment id"
    if reply_to is not None and not ID_RE.match(reply_to):
        return f"{reply_to!r} is not a message id"
    return None


def format_ts(ns: int) -> str:
    """A `time.time_ns()` value as the `ts` field: ISO 8601, UTC, microseconds, 'Z'."""
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(
        microsecond=(ns // 1_000) % 1_000_000
    )
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def id_millis(message_id: str) -> int:
    """The Unix time in milliseconds encoded at the front of a message id."""
    value = 0
    for char in message_id[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value  # 10 characters are the top 50 of 130 bits: two zero bits, then the 48-bit time


class _IdClock:
    """Makes ids that increase strictly within a process, even within one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._last_ms = -1
        self._last_random = 0

    def next(self, now_ns: int) -> str:
        ms = now_ns // 1_000_000
        with self._lock:
            if ms <= self._last_ms:
                # Same millisecond (or the clock stepped back): count up from the last id.
                ms, rand = self._last_ms, self._last_random + 1
                if rand >> 80:
                    ms, rand = ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # The top bit stays clear so counting up within a millisecond never overflows.
                rand = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms, self._last_random = ms, rand
        value = (ms << 80) | rand
        chars = []
        for _ in range(ID_LENGTH):
            chars.append(_CROCKFORD[value & 31])
            value >>= 5
        return "".join(reversed(chars))


_CLOCK = _IdClock()
# A forked child must not continue its parent's counter: both would make the same ids.
os.register_at_fork(after_in_child=_CLOCK.reset)


def new_id(now_ns: int) -> str:
    """A fresh message id for the time `now_ns` (from `time.time_ns()`)."""
    return _CLOCK.next(now_ns)
