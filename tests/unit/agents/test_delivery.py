"""When a mail notice is typed, what it says, and when it counts as delivered."""

from __future__ import annotations

from pathlib import Path

from missionctl.agents.delivery import CONFIRM_TIMEOUT_S, MARKER, NoticeBook, notice_text
from missionctl.agents.state import HookRecord
from missionctl.mailbox import Message


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


def test_unconfirmed_notice_expires_and_is_sent_again() -> None:
    book = NoticeBook("r1")
    unread = [_msg(1)]
    ids, text = book.next_notice("idle", unread) or ([], "")
    book.sent(ids, text, now=100.0)
    assert book.settle(None, has_prompt_hook=True, now=100.0 + CONFIRM_TIMEOUT_S / 2) is None
    assert book.settle(None, has_prompt_hook=True, now=100.0 + CONFIRM_TIMEOUT_S + 1) == "expired"
    assert book.next_notice("idle", unread) is not None


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
    book = NoticeBook("r1", notified=["a"])
    book.sent(["b"], "text", now=5.0)
    book.save(tmp_path)
    again = NoticeBook.load(tmp_path, "r1")
    assert again.notified == ["a"] and again.pending is not None and again.pending.ids == ["b"]
    assert NoticeBook.load(tmp_path, "nobody").notified == []
