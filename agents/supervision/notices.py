"""Mail notices for interactive agents: when one may be given, and whether it landed.

An agent learns of new mail from a one-line notice. Two channels:
- typed (`type`): pasted into the agent's prompt and submitted, for agents whose
  prompt is a conversation (Claude Code, Codex, the scripted agent). Typed only
  when it is safe by construction (see `may_type`), once per batch of new mail,
  and confirmed through the agent's prompt-submit hook. A notice that is not
  confirmed is never retyped blind: it waits, and the agent shows `needs-you`
  ("mail waiting") until the mail is read or the notice confirmed.
- printed (`print`): written to the agent's terminal as output, never as input,
  for shells, where anything typed could run (a half-typed line, an open quote).

The decisions are pure (`NoticeBook`, `may_type`); the book is kept in the
agent's state files so a restarted supervisor does not announce twice, and so
every state reader sees "mail waiting".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from missionctl.agents.state.onscreen import ScreenReader
from missionctl.agents.state.store import IDLE, WORKING, HookRecord, StateStore
from missionctl.mailbox import Message
from missionctl.names import plain

# What every notice tells the agent to run; also how its echo is recognised.
MARKER = "missionctl mail inbox"
# After this long without a confirmation the agent shows "mail waiting".
CONFIRM_TIMEOUT_S = 20.0
MAX_NOTICE_CHARS = 200
# Mail comes from other agents: nothing in it may act as a key or escape sequence.
# Stamped this much before a notice is typed: a prompt hook's clock may read
# slightly behind ours (another process, a shell's $EPOCHREALTIME).
SENT_SLACK_S = 0.05


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
    # The pending notice went unconfirmed past CONFIRM_TIMEOUT_S: mail is waiting.
    waiting: bool = False

    # -- decisions ----------------------------------------------------------------
    def next_notice(self, state: str, unread: Sequence[Message]) -> tuple[list[str], str] | None:
        """The notice to give now, with the ids it announces; None if nothing should be."""
        if state != IDLE or self.pending is not None:
            return None
        told = set(self.notified)
        fresh = [m for m in unread if m.id not in told]
        if not fresh:
            return None
        return [m.id for m in fresh], notice_text(fresh)

    def sent(self, ids: list[str], text: str, now: float) -> None:
        """A notice is about to be typed (stamped before it is: a fast hook must count)."""
        self.pending = Pending(ids, text, now - SENT_SLACK_S)
        self.waiting = False

    def printed(self, ids: list[str]) -> None:
        """A notice was printed to the agent's terminal: delivered, nothing to confirm."""
        self.notified = [*self.notified, *ids]

    def settle(
        self,
        hook: HookRecord | None,
        has_prompt_hook: bool,
        now: float,
        unread_ids: Collection[str] | None = None,
    ) -> str | None:
        """Confirm the pending notice, or mark it waiting; returns "confirmed", "read",
        "waiting" (the first time the limit passes) or None."""
        pending = self.pending
        if pending is None:
            return None
        if hook is not None and _confirms(hook, pending, has_prompt_hook):
            outcome = "confirmed"
        elif unread_ids is not None and not set(pending.ids) & set(unread_ids):
            outcome = "read"  # the agent read the mail anyway: nothing waits
        else:
            if now - pending.sent_at > CONFIRM_TIMEOUT_S and not self.waiting:
                self.waiting = True
                return "waiting"
            return None
        self.notified = [*self.notified, *pending.ids]
        self.pending = None
        self.waiting = False
        return outcome

    def forget_read(self, unread_ids: Collection[str]) -> None:
        """Drop ids of messages that were read: the book holds only unread mail, however
        much of it there is (a fixed cap would re-announce the rest)."""
        keep = set(unread_ids)
        self.notified = [i for i in self.notified if i in keep]

    # -- persistence --------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        pending = self.pending
        return {
            "notified": self.notified,
            "pending": None if pending is None else
            {"ids": pending.ids, "text": pending.text, "sent_at": pending.sent_at},
            "waiting": self.waiting,
        }  # fmt: skip

    @classmethod
    def load(cls, store: StateStore, agent: str) -> NoticeBook:
        """The agent's book; a missing or malformed one starts empty."""
        data = store.notices(agent)
        try:
            pending = None
            if data.get("pending"):
                raw = data["pending"]
                pending = Pending([str(i) for i in raw["ids"]], str(raw["text"]),
                                  float(raw["sent_at"]))  # fmt: skip
            notified = [str(i) for i in data.get("notified", [])]
            return cls(agent, notified, pending, bool(data.get("waiting")))
        except (AttributeError, TypeError, KeyError, ValueError):
            return cls(agent)

    def save(self, store: StateStore) -> None:
        store.set_notices(self.agent, self.to_json())


def _confirms(hook: HookRecord, pending: Pending, has_prompt_hook: bool) -> bool:
    if has_prompt_hook:
        return hook.prompt_ts >= pending.sent_at and MARKER in hook.prompt
    # Without a prompt hook: any report of work (or a finished turn) after the notice.
    return hook.ts > pending.sent_at and hook.state in (WORKING, IDLE)


class TypingTraits(ScreenReader, Protocol):
    """What `may_type` needs to know of a provider."""

    @property
    def has_hooks(self) -> bool: ...

    @property
    def line_program(self) -> bool: ...


def may_type(provider: TypingTraits, hook: HookRecord | None, screen: str) -> str | None:
    """None if a notice may be typed into the agent now; else why not.

    The caller has already found the agent idle (one state reader for all). On
    top: its own hooks say so (agents without hooks: the screen must show its
    prompt), a fresh look at the screen finds no question, dialog or menu
    anywhere, and a line program's prompt has nothing typed after it.
    """
    reason = provider.question(screen)
    if reason is not None:
        return reason
    if provider.has_hooks and (hook is None or hook.state != IDLE):
        return "its hooks do not say it is idle"
    if (provider.line_program or not provider.has_hooks) and not provider.prompt_ready(screen):
        return "its prompt is not on screen, or has text typed after it"
    return None


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
    head = plain(head)
    tail = f" — run `{MARKER}`"
    room = MAX_NOTICE_CHARS - len(tail)
    if len(head) > room:
        head = head[: room - 1] + "…"
    return head + tail
