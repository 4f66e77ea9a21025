"""What is worth a notification, the rate limit, and what a notification may say."""

from __future__ import annotations

from missionctl.agents.notify.notices import Notice, RateLimit, Watch, mail_notice
from missionctl.agents.notify.send import fill
from missionctl.agents.state.store import AgentState
from missionctl.mailbox import Message
from missionctl.tui.alerts import terminal_alert


def st(name: str, code: int | None = None, detail: str = "") -> AgentState:
    return AgentState(name, exit_code=code, detail=detail)


def test_the_first_look_is_a_baseline_then_changes_are_news() -> None:
    watch = Watch("softcap")
    assert watch.states({"r1": st("needs-you"), "r2": st("exited(1)", 1)}) == []
    assert watch.states({"r1": st("needs-you"), "r2": st("exited(1)", 1)}) == []
    notices = watch.states(
        {"r1": st("working"), "r2": st("working"), "r3": st("working")}
    ) + watch.states(
        {"r1": st("needs-you", detail="Run `curl -H 'Bearer sk-secret'`?"),
         "r2": st("exited(3)", 3), "r3": st("exited(0)", 0)}
    )  # fmt: skip
    assert [(n.event, n.agent) for n in notices] == [("needs-you", "r1"), ("exit", "r2")]
    assert "code 3" in notices[1].title and notices[0].org == "softcap"
    # The question on screen can hold anything an agent printed: never sent.
    assert all("sk-secret" not in v for n in notices for v in n.fields().values())


def test_a_crashed_run_is_news_once() -> None:
    watch = Watch("softcap")
    assert watch.runs({"r1": ("r1-a", "running"), "r2": ("r2-a", "crash")}) == []
    crashed = watch.runs({"r1": ("r1-a", "crash"), "r2": ("r2-a", "crash")})
    assert [(n.event, n.agent) for n in crashed] == [("run-crash", "r1")]
    assert "r1-a" in crashed[0].message and "crashed" in crashed[0].title
    assert watch.runs({"r1": ("r1-a", "crash")}) == []  # told already
    # A new run that died between two looks, and one that ended well.
    assert [n.agent for n in watch.runs({"r1": ("r1-b", "nan"), "r2": ("r2-b", "ok")})] == ["r1"]


def test_mail_notices_name_who_and_what_never_the_subject_or_body() -> None:
    mail = Message(
        id="01m8660000000000000000000a", ts="2026-11-24T07:01:00.000000Z", sender="chief",
        to="human", kind="result", subject="the key is sk-abc", body="OPENAI_API_KEY=sk-abc",
    )  # fmt: skip
    notice = mail_notice(mail, "softcap")
    assert notice is not None and notice.agent == "chief" and notice.event == "mail"
    assert mail.id in notice.message
    assert all("sk-abc" not in v for v in notice.fields().values())
    note = Message(id="01m8660000000000000000000b", ts=mail.ts, sender="r1", to="human",
                   kind="note", subject="hi", body="hi")  # fmt: skip
    assert mail_notice(note, "softcap") is None


def test_the_rate_limit_holds_back_repeats_and_floods() -> None:
    limit = RateLimit(repeat_after=120.0, burst=3, window=60.0)
    a = Notice("exit", "r1", "t", "m", host="h")
    assert limit.allow(a, 0.0) and not limit.allow(a, 60.0) and limit.allow(a, 121.0)
    others = [Notice("exit", f"r{i}", "t", "m", host="h") for i in range(2, 6)]
    assert [limit.allow(n, 122.0) for n in others] == [True, True, False, False]
    assert limit.allow(others[2], 200.0)  # a minute on, the burst allows again
    assert limit.held_back == 3


def test_fields_are_one_line_each_and_fill_the_command() -> None:
    notice = Notice("exit", "r1", "r1\x1b]0;x\x07 exited", "line\nbreak", "softcap", "box")
    fields = notice.fields()
    assert "\x1b" not in fields["title"] and "\n" not in fields["message"]
    assert fill("{title} [{org}/{agent}] {{literal}}", fields) == (
        f"{fields['title']} [softcap/r1] {{literal}}"
    )


def test_the_terminal_alert_is_a_bell_and_two_notifications() -> None:
    seq = terminal_alert("r1 needs you", "take over; now\x07\x1b[2J")
    assert seq.startswith("\x07")
    assert "\x1b]9;r1 needs you: take over; now  [2J\x07" in seq
    assert "\x1b]777;notify;r1 needs you;take over, now  [2J\x07" in seq
    wrapped = terminal_alert("t", "b", inside_tmux=True)
    assert wrapped.count("\x1bPtmux;") == 2 and "\x1b\x1b]9;t: b" in wrapped
