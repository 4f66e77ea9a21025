"""Standups as org code: the request text lives in `org/prompts/standup.md`, and each round
ends with one digest mailed to the human.

A round starts when a standup is called (on schedule, `missionctl standup`, or
`s` in the app): every agent gets the text of `org/prompts/standup.md` (the
org's own, versioned with it; a built-in text when the file is missing). The
supervisor mails the human the digest once every agent asked has replied, or
when `[standup] wait` has passed: each agent's reply or "no reply", and what the
ledger says changed since the last digest.

Two files under `.missionctl/state/`, each with one writer: `standup.json` (the
round, written by whoever calls the standup) and `digest.json` (the last digest,
written by the supervisor).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from missionctl.agents.state.store import read_json
from missionctl.agents.supervision import SENDER
from missionctl.files import write_private
from missionctl.ledger import Ledger
from missionctl.ledger.changes import changes
from missionctl.mailbox import HUMAN, Mailbox, Message
from missionctl.workspace import Workspace

STANDUP_SUBJECT = "standup"
DIGEST_SUBJECT = "standup digest"
PROMPT_FILE = "standup.md"
MAX_PROMPT_BYTES = 16 * 1024
DEFAULT_TEXT = (
    "Standup. Reply to the human in three short lines: what you finished (cite experiment"
    " ids and run ids), what you are doing next, and what blocks you. Send it with:\n"
    "  missionctl mail send --to human --kind standup --subject 'standup <your name>' -"
)


def standup_text(ws: Workspace) -> str:
    """The org's standup request: `org/prompts/standup.md`, else the built-in text."""
    path = ws.prompts_dir / PROMPT_FILE
    try:
        raw = path.read_bytes()[:MAX_PROMPT_BYTES]
    except OSError:
        return DEFAULT_TEXT
    text = raw.decode("utf-8", "replace").strip()
    return text or DEFAULT_TEXT


@dataclass(frozen=True)
class Round:
    """One standup: when it was called, with which message, and whom it asked."""

    asked_at: float
    message: str
    asked: tuple[str, ...]


def call(ws: Workspace, now: float | None = None) -> list[Message]:
    """Ask every agent for a standup; record the round (for the schedule and the digest)."""
    box = Mailbox.for_workspace(ws)
    sent = box.send(SENDER, "all", standup_text(ws), kind="standup", subject=STANDUP_SUBJECT)
    sent = [m for m in sent if m.to != HUMAN]
    when = time.time() if now is None else now
    ws.private_dir("state")
    record: dict[str, object] = {"last": when}
    if sent:
        record["round"] = {"asked_at": when, "message": sent[0].id, "asked": [m.to for m in sent]}
    write_private(ws.state_dir / "standup.json", json.dumps(record))
    return sent


def _state(ws: Workspace, name: str) -> dict[str, Any]:
    try:
        data = read_json(ws.state_dir / name)
    except (FileNotFoundError, ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def last_called(ws: Workspace) -> float | None:
    """When the last standup was called, if ever."""
    last = _state(ws, "standup.json").get("last")
    if isinstance(last, int | float) and not isinstance(last, bool) and math.isfinite(last):
        return float(last)
    return None


def current_round(ws: Workspace) -> Round | None:
    raw = _state(ws, "standup.json").get("round")
    if not isinstance(raw, dict):
        return None
    try:
        return Round(
            asked_at=float(raw["asked_at"]),
            message=str(raw["message"]),
            asked=tuple(str(a) for a in raw["asked"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def replies(box: Mailbox, round_: Round) -> dict[str, Message]:
    """The latest standup reply to the human from each agent asked, since the round began."""
    found: dict[str, Message] = {}
    for envelope in box.envelopes(HUMAN, include_read=True):
        m = envelope.message
        if m.kind == "standup" and m.sender in round_.asked and m.id > round_.message:
            found[m.sender] = m
    return found


class Digests:
    """Mails the human one digest per standup round (the supervisor's loop calls `tick`)."""

    def __init__(self, ws: Workspace, box: Mailbox, wait: float) -> None:
        self.ws = ws
        self.box = box
        self.wait = wait
        self.replied = True  # look at the mailbox on the first tick

    def reply_arrived(self) -> None:
        """A standup reply reached the human (any thread): look again on the next tick."""
        self.replied = True

    def tick(self, now: float) -> Message | None:
        """Mail the digest of the current round if it is due; return it."""
        round_ = current_round(self.ws)
        if round_ is None or _state(self.ws, "digest.json").get("round") == round_.message:
            return None
        overdue = now - round_.asked_at >= self.wait
        if not (overdue or self.replied):
            return None
        self.replied = False
        got = replies(self.box, round_)
        if len(got) < len(round_.asked) and not overdue:
            return None
        return self.send(round_, got, now)

    def send(self, round_: Round, got: dict[str, Message], now: float) -> Message:
        previous = _state(self.ws, "digest.json")
        since = previous.get("at")
        since = float(since) if isinstance(since, int | float) else 0.0
        decisions = previous.get("decisions")
        with Ledger.open(self.ws) as ledger:
            moved = changes(ledger, since, now, decisions if isinstance(decisions, dict) else None)
        body = digest_text(round_, got, moved.lines(), since, now)
        verdicts = len(moved.decided)
        refused = sum(not c.accepted for c in moved.claims)
        subject = (
            f"{DIGEST_SUBJECT}: {len(got)}/{len(round_.asked)} replied;"
            f" {verdicts} verdict{'s' if verdicts != 1 else ''},"
            f" {refused} claim{'s' if refused != 1 else ''} refused"
        )
        sent = self.box.send(SENDER, HUMAN, body, kind="standup", subject=subject)
        self.ws.private_dir("state")
        write_private(
            self.ws.state_dir / "digest.json",
            json.dumps({"round": round_.message, "at": now, "decisions": moved.decisions}),
        )
        return sent[0]


def digest_text(
    round_: Round, got: dict[str, Message], ledger_lines: list[str], since: float, now: float
) -> str:
    """The digest: each agent's reply (or "no reply"), then the ledger's changes."""
    called = time.strftime("%H:%M", time.localtime(round_.asked_at))
    lines = [f"Standup called at {called}: {len(got)} of {len(round_.asked)} agents replied.", ""]
    for agent in round_.asked:
        reply = got.get(agent)
        if reply is None:
            lines.append(f"{agent}: no reply")
            continue
        text = [ln.rstrip() for ln in reply.body.strip().splitlines() if ln.strip()]
        lines.append(f"{agent}: {text[0] if text else ''}")
        lines += [f"  {ln}" for ln in text[1:12]]
    start = "the org began" if since <= 0 else time.strftime("%H:%M", time.localtime(since))
    lines += ["", f"The ledger since {start}:"]
    lines += [ln if ln.startswith(" ") else f"- {ln}" for ln in ledger_lines]
    return "\n".join(lines)


def latest_digest(box: Mailbox) -> Message | None:
    """The newest standup digest in the human's mailbox, read or not."""
    for envelope in reversed(box.envelopes(HUMAN, include_read=True)):
        m = envelope.message
        if m.sender == SENDER and m.kind == "standup" and m.subject.startswith(DIGEST_SUBJECT):
            return m
    return None
