"""Messages: the JSON schema round-trips, bad files say why, ids sort by time and never collide."""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from missionctl.mailbox.message import (
    ID_RE,
    MAX_BODY_BYTES,
    MalformedMessage,
    Message,
    _IdClock,
    content_problem,
    format_ts,
    id_millis,
    new_id,
)

NOW = 1_790_000_000_123_456_789


def _message(**changes: object) -> Message:
    fields: dict[str, object] = {
        "id": new_id(NOW),
        "ts": format_ts(NOW),
        "sender": "r1",
        "to": "chief",
        "kind": "result",
        "subject": "softcap off",
        "body": "val_bpb 1.012 → 1.010 over 3 seeds\n",
        "runs": ("r1-0007", "r1-0008"),
        "experiment": "softcap-off",
        "reply_to": None,
    }
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def test_json_round_trip_keeps_every_field() -> None:
    message = _message(reply_to=new_id(NOW))
    data = json.loads(message.encode())
    assert set(data) == {
        "v",
        "id",
        "ts",
        "from",
        "to",
        "kind",
        "subject",
        "body",
        "refs",
        "reply_to",
    }
    assert data["from"] == "r1" and data["refs"] == {
        "runs": ["r1-0007", "r1-0008"],
        "experiment": "softcap-off",
    }
    assert Message.decode(message.encode()) == message
    assert Message.from_json(message.to_json()) == message


def test_ts_is_utc_iso_with_microseconds() -> None:
    assert format_ts(NOW) == "2026-09-21T14:13:20.123456Z"
    assert _message().time.timestamp() == pytest.approx(NOW / 1e9, abs=1e-6)


def test_headline_is_subject_or_first_body_line_on_one_line() -> None:
    assert _message().headline == "softcap off"
    assert _message(subject="", body="\n  first line\nsecond").headline == "first line"
    assert len(_message(subject="", body="x" * 500).headline) == 72


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("body"), "missing field(s): body"),
        (lambda d: d.update(v=2), "unsupported schema version 2"),
        (lambda d: d.update(v=True), "unsupported schema version"),
        (lambda d: d.update(id="../../etc/passwd"), "is not a message id"),
        (lambda d: d.update(ts="yesterday"), "not an ISO 8601 time"),
        (lambda d: d.update(ts="2026-01-01T00:00:00"), "no time zone"),
        (lambda d: d.update(kind="rant"), "unknown kind 'rant'"),
        (lambda d: d.update(to="../r1"), "'to' is not a valid name"),
        (lambda d: d.update(subject=7), "'subject' must be a string"),
        (lambda d: d.update(body="   "), "the body is empty"),
        (lambda d: d.update(body="x" * (MAX_BODY_BYTES + 1)), "the limit is 262,144"),
        (lambda d: d.update(refs=[]), "'refs' must be an object"),
        (
            lambda d: d.update(refs={"runs": "r1-1", "experiment": None}),
            "'refs.runs' must be a list",
        ),
        (lambda d: d.update(reply_to=5), "'reply_to' must be a message id"),
        (lambda d: d.update(reply_to="nope"), "'nope' is not a message id"),
    ],
)
def test_malformed_json_says_what_is_wrong(mutate: object, reason: str) -> None:
    data = _message().to_json()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MalformedMessage) as err:
        Message.from_json(data)
    assert reason in err.value.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b'{"v": 1,', "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_undecodable_bytes_are_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        Message.decode(raw)


def test_unknown_extra_fields_are_ignored_for_forward_compatibility() -> None:
    data = _message().to_json() | {"priority": "high"}
    assert Message.from_json(data) == _message(id=data["id"])


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("note", "", "hi"), None),
        (("memo", "", "hi"), "unknown kind 'memo'; use one of note, task, result, claim, standup"),
        (("note", "two\nlines", "hi"), "the subject must be one line"),
        (("note", "\x1b[2J", "hi"), "without control characters"),
        (("note", "s" * 201, "hi"), "the limit is 200"),
        (("note", "", " \n\t"), "the body is empty"),
        (("note", "", "é" * (MAX_BODY_BYTES // 2 + 1)), "the body is 262,146 bytes"),
        (("note", "", "\ud800"), "not valid Unicode"),
        (("note", "", "hi", ["bad id with spaces"]), "is not a run id"),
        (("note", "", "hi", [], "../x"), "is not an experiment id"),
    ],
)
def test_content_problem_names_the_fault(args: tuple[object, ...], problem: str | None) -> None:
    found = content_problem(*args)  # type: ignore[arg-type]
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_ids_are_valid_unique_and_strictly_increasing_within_a_millisecond() -> None:
    clock = _IdClock()
    ids = [clock.next(NOW) for _ in range(5000)]
    assert all(ID_RE.match(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {id_millis(i) for i in ids} == {NOW // 1_000_000}


def test_ids_sort_by_time_across_milliseconds() -> None:
    clock, now = _IdClock(), time.time_ns()
    earlier, later = clock.next(now), clock.next(now + 5_000_000)
    assert earlier < later
    assert id_millis(earlier) == now // 1_000_000
    assert id_millis(later) == (now + 5_000_000) // 1_000_000


def test_an_id_made_after_the_clock_stepped_back_still_sorts_last() -> None:
    clock, now = _IdClock(), time.time_ns()
    first = clock.next(now)
    assert clock.next(now - 60_000_000_000) > first


def _ids_in_child(now: int, count: int, out: multiprocessing.Queue[list[str]]) -> None:
    out.put([new_id(now) for _ in range(count)])


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """Both sides of a fork make ids in the same millisecond: none may collide."""
    first = new_id(NOW)
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[list[str]] = ctx.Queue()
    child = ctx.Process(target=_ids_in_child, args=(NOW, 1000, out))
    child.start()
    theirs = out.get(timeout=30)
    child.join(30)
    ours = [new_id(NOW) for _ in range(1000)]
    assert first not in theirs
    assert not set(theirs) & set(ours)
