"""When a mail notice is typed, what it says, and when it counts as delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl.agents.providers import provider_for
from missionctl.agents.state.store import HookRecord, StateStore
from missionctl.agents.supervision.notices import (
    CONFIRM_TIMEOUT_S,
    MARKER,
    NoticeBook,
    may_type,
    notice_text,
)
from missionctl.mailbox import Message
from tests.helpers import SCREENS


def _msg(i: int, sender: str = "chief", subject: str = "run the baseline") -> Message:
    return Message(id=f"0000000000000000000000000{i}", ts="2026-11-24T07:00:00.000000Z",
                   sender=sender, to="r1", kind="task", subject=subject, body="details")  # fmt: skip


def test_notice_only_when_idle_and_nothing_pending() -> None:
    book = NoticeBook("r1")
    unread = [_msg(1)]
    for state in ("working", "needs-you", "paused", "starting", "unknown", "exited(0)"):
        assert book.next_notice(state, unread) is None
    ids, text = book.next_notice("idle", unread) or ([], "")
    assert ids == [unread[0].id]
    assert text == "1 new message from chief: run the baseline — run `missionctl mail inbox`"
    book.sent(ids, text, now=100.0)
    assert book.next_notice("idle", [*unread, _msg(2)]) is None  # one notice at a time


def test_confirmed_by_the_prompt_hook_then_never_repeated() -> None:
    book = NoticeBook("r1")
    unread = [_msg(1)]
    ids, text = book.next_notice("idle", unread) or ([], "")
    book.sent(ids, text, now=100.0)
    typed_before = HookRecord(
        "r1", "UserPromptSubmit", "working", 99.0, prompt=text, prompt_ts=99.0
    )
    assert book.settle(typed_before, has_prompt_hook=True, now=101.0) is None
    echoed = HookRecord("r1", "UserPromptSubmit", "working", 100.2, prompt=text, prompt_ts=100.2)
    assert book.settle(echoed, has_prompt_hook=True, now=101.0) == "confirmed"
    assert book.next_notice("idle", unread) is None
    new = _msg(2, sender="r2", subject="my result")
    ids, text = book.next_notice("idle", [*unread, new]) or ([], "")
    assert ids == [new.id] and "from r2: my result" in text


def test_an_unconfirmed_notice_is_never_retyped_it_waits() -> None:
    book = NoticeBook("r1")
    unread = [_msg(1)]
    ids, text = book.next_notice("idle", unread) or ([], "")
    book.sent(ids, text, now=100.0)
    assert book.settle(None, has_prompt_hook=True, now=100.0 + CONFIRM_TIMEOUT_S / 2) is None
    assert book.settle(None, True, now=100.0 + CONFIRM_TIMEOUT_S + 1) == "waiting"
    assert book.waiting and book.pending is not None
    assert book.settle(None, True, now=100.0 + 10 * CONFIRM_TIMEOUT_S) is None  # said once
    # Nothing more is typed, however long it waits, and however much mail comes.
    assert book.next_notice("idle", [*unread, _msg(2)]) is None


def test_a_waiting_notice_clears_when_the_mail_is_read_or_confirmed_late() -> None:
    book = NoticeBook("r1")
    book.sent([_msg(1).id], "t", now=100.0)
    book.settle(None, True, now=200.0, unread_ids={_msg(1).id})
    assert book.waiting
    assert book.settle(None, True, now=201.0, unread_ids=set()) == "read"
    assert not book.waiting and book.pending is None

    late = NoticeBook("r1")
    late.sent(["x"], f"... {MARKER}", now=100.0)
    late.settle(None, True, now=200.0, unread_ids={"x"})
    echoed = HookRecord("r1", "UserPromptSubmit", "working", 210.0, prompt=f"... {MARKER}",
                        prompt_ts=210.0)  # fmt: skip
    assert late.settle(echoed, True, now=211.0, unread_ids={"x"}) == "confirmed"
    assert not late.waiting and late.notified == ["x"]


def test_a_fast_prompt_hook_counts_even_if_its_clock_is_a_little_behind() -> None:
    # The notice is stamped before it is typed; a hook a few ms "earlier" by another
    # process's clock is still its echo (before: 26 of 203 notices retyped).
    book = NoticeBook("r1")
    book.sent(["x"], f"1 new — run `{MARKER}`", now=100.0)
    echoed = HookRecord("r1", "UserPromptSubmit", "working", 99.99, prompt=f"1 new — run `{MARKER}`",
                        prompt_ts=99.99)  # fmt: skip
    assert book.settle(echoed, True, now=100.1) == "confirmed"


def test_many_unread_messages_are_announced_once() -> None:
    # A fixed cap of 500 remembered ids once re-announced mail 501+ every 2 s.
    book = NoticeBook("r1")
    unread = [_msg(i) for i in range(1, 10)] + [
        Message(
            id=f"{i:026d}",
            ts="2026-11-24T07:00:00.000000Z",
            sender="r2",
            to="r1",
            kind="note",
            subject=f"n{i}",
            body="b",
        )
        for i in range(100, 800)
    ]
    ids, text = book.next_notice("idle", unread) or ([], "")
    assert len(ids) == 709
    book.sent(ids, text, now=1.0)
    book.settle(HookRecord("r1", "UserPromptSubmit", "working", 2.0, prompt=text, prompt_ts=2.0),
                True, now=2.0)  # fmt: skip
    book.forget_read({m.id for m in unread})
    assert book.next_notice("idle", unread) is None


def test_a_printed_notice_is_delivered_at_once() -> None:
    book = NoticeBook("r1")
    ids, _ = book.next_notice("idle", [_msg(1)]) or ([], "")
    book.printed(ids)
    assert book.pending is None and book.next_notice("idle", [_msg(1)]) is None


def test_without_a_prompt_hook_any_later_report_confirms() -> None:
    book = NoticeBook("r1")
    book.sent(["x"], "t", now=100.0)
    assert book.settle(HookRecord("r1", "idle", "idle", 99.0), False, now=100.5) is None
    assert (
        book.settle(HookRecord("r1", "working", "working", 100.1), False, now=100.5) == "confirmed"
    )


def test_notice_text_is_one_safe_line_of_bounded_length() -> None:
    evil = _msg(1, sender="r2", subject="ok\x1b[2J\r\nrm -rf ~\x9b31m" + "x" * 500)
    text = notice_text([evil])
    assert "\x1b" not in text and "\n" not in text and "\r" not in text and "\x9b" not in text
    assert len(text) <= 200 and text.endswith(f"run `{MARKER}`")
    several = notice_text([_msg(1), _msg(2, sender="r2"), _msg(3, subject="latest one")])
    assert several.startswith("3 new messages (from chief, r2), latest: latest one")


def test_book_survives_a_supervisor_restart(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    book = NoticeBook("r1", notified=["a"])
    book.sent(["b"], "text", now=5.0)
    book.save(store)
    again = NoticeBook.load(store, "r1")
    assert again.notified == ["a"] and again.pending is not None and again.pending.ids == ["b"]
    assert NoticeBook.load(store, "nobody").notified == []
    assert (tmp_path / "r1.notices.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", ['{"pending": {"ids": 3}}', "[1, 2]", "{", '{"notified": 7}'])
def test_a_malformed_book_starts_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "r1.notices.json").write_text(content)
    book = NoticeBook.load(StateStore(tmp_path), "r1")
    assert book.notified == [] and book.pending is None


IDLE_HOOK = HookRecord("r1", "Stop", "idle", 1.0)


@pytest.mark.parametrize(
    ("provider", "fixture", "hook", "allowed"),
    [
        ("claude", "claude-idle", IDLE_HOOK, True),
        ("claude", "claude-permission", IDLE_HOOK, False),
        ("claude", "claude-trust", None, False),
        ("claude", "claude-idle", HookRecord("r1", "PreToolUse", "working", 1.0), False),
        ("claude", "claude-idle", None, False),  # no hook has said idle
        ("codex", "codex-idle", IDLE_HOOK, True),
        # The bug: an idle notify record, and an approval question on screen.
        ("codex", "codex-approval", IDLE_HOOK, False),
        ("scripted", "line-prompt", IDLE_HOOK, True),
        ("scripted", "line-typed", IDLE_HOOK, False),  # a person's half-typed line
        ("scripted", "line-question", IDLE_HOOK, False),
    ],
)
def test_may_type_only_into_an_empty_prompt_with_no_question(
    provider: str, fixture: str, hook: HookRecord | None, allowed: bool
) -> None:
    screens = {
        "line-prompt": "working on it\ndone.\nr1> ",
        "line-typed": "done.\nr1> touch CANARY ",
        "line-question": "overwrite runs/? [y/N]",
    }
    screen = screens.get(fixture) or (SCREENS / f"{fixture}.txt").read_text()
    veto = may_type(provider_for(provider), hook, screen)
    assert (veto is None) == allowed, veto
