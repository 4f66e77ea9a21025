"""Mail notices for interactive agents: when to type one, and whether it landed.

An agent learns of new mail from a one-line notice typed into its prompt. It is
typed only when the agent is idle (never into one that is working, waiting on a
question, paused or taken over), once per batch of new messages, and confirmed
through the agent's prompt-submit hook; a notice that is not confirmed in time
is forgotten so the same mail is announced again at the next idle moment.

The decisions are pure (`NoticeBook.next_notice`, `NoticeBook.settle`); the
book is persisted per agent so a restarted supervisor does not announce twice.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from missionctl.agents.state import IDLE, WORKING, HookRecord
from missionctl.mailbox import Message

# What every notice tells the agent to run; also how its echo is recognised.
MARKER = "missionctl mail inbox"
CONFIRM_TIMEOUT_S = 20.0
MAX_NOTICE_CHARS = 200
# Mail comes from other agents: nothing in it may act as a key or escape sequence.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Pending:
    """A notice typed into the agent, not yet confirmed."""

    ids: list[str]
    text: str
    sent_at: float


@dataclass
class NoticeBook:
    """Which messages an agent has been told about."""

    agent: str
    notified: list[str] = field(default_factory=list)
    pending: Pending | None = None

    # -- decisions ----------------------------------------------------------------
    def next_notice(self, state: str, unread: Sequence[Message]) -> tuple[list[str], str] | None:
        """The notice to type now, with the ids it announces; None if nothing should be typed."""
        if state != IDLE or self.pending is not None:
            return None
        fresh = [m for m in unread if m.id not in self.notified]
        if not fresh:
            return None
        return [m.id for m in fresh], notice_text(fresh)

    def sent(self, ids: list[str], text: str, now: float) -> None:
        self.pending = Pending(ids, text, now)

    def settle(self, hook: HookRecord | None, has_prompt_hook: bool, now: float) -> str | None:
        """Confirm or expire the pending notice; returns "confirmed", "expired" or None."""
        pending = self.pending
        if pending is None:
            return None
        if hook is not None and _confirms(hook, pending, has_prompt_hook):
            self.notified = (self.notified + pending.ids)[-500:]
            self.pending = None
            return "confirmed"
        if now - pending.sent_at > CONFIRM_TIMEOUT_S:
            self.pending = None  # announce the same mail again at the next idle moment
            return "expired"
        return None

    def forget_read(self, unread_ids: set[str]) -> None:
        """Drop ids of messages that were read: the book stays small."""
        self.notified = [i for i in self.notified if i in unread_ids]

    # -- persistence --------------------------------------------------------------
    @classmethod
    def load(cls, state_dir: Path, agent: str) -> NoticeBook:
        try:
            data = json.loads((state_dir / f"{agent}.notices.json").read_text(encoding="utf-8"))
            pending = Pending(**data["pending"]) if data.get("pending") else None
            return cls(agent, list(data.get("notified", [])), pending)
        except (FileNotFoundError, ValueError, TypeError, KeyError):
            return cls(agent)

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / f"{self.agent}.notices.json"
        fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh)
        os.replace(tmp, path)


def _confirms(hook: HookRecord, pending: Pending, has_prompt_hook: bool) -> bool:
    if has_prompt_hook:
        return hook.prompt_ts >= pending.sent_at and MARKER in hook.prompt
    # Without a prompt hook: any report of work (or a finished turn) after the notice.
    return hook.ts > pending.sent_at and hook.state in (WORKING, IDLE)


def notice_text(messages: Sequence[Message]) -> str:
    """One line, safe to type into a prompt: who wrote, about what, and what to run."""
    senders = list(dict.fromkeys(m.sender for m in messages))
    latest = messages[-1]
    if len(messages) == 1:
        head = f"1 new message from {latest.sender}: {latest.headline}"
    else:
        head = (
            f"{len(messages)} new messages (from {', '.join(senders)}), latest: {latest.headline}"
        )
    head = _UNSAFE.sub(" ", head)
    tail = f" — run `{MARKER}`"
    room = MAX_NOTICE_CHARS - len(tail)
    if len(head) > room:
        head = head[: room - 1] + "…"
    return head + tail
