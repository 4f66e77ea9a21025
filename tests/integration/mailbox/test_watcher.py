"""The watcher with real watchdog (inotify): events, rescans, bad files, and its lifecycle."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver, EventEmitter

from missionctl.mailbox import Mailbox, MailWatcher, Message, follow
from missionctl.mailbox.message import format_ts, new_id
from tests.integration.mailbox.conftest import Recorder

# Long enough that only watchdog events can deliver within a test's deadline.
NO_RESCAN = 3600.0


def test_events_deliver_each_message_once_in_the_watcher_thread(
    box: Mailbox, recorder: Recorder
) -> None:
    with MailWatcher(box, recorder.on_message, recorder.on_bad, rescan_interval=NO_RESCAN):
        sent = box.send("r1", "chief", "hello") + box.send("chief", "researcher", "go")
        assert recorder.wait_count(4)
    assert sorted(recorder.keys()) == sorted((m.to, m.id) for m in sent)
    assert recorder.threads == {"mail-watcher"}
    assert dict(recorder.messages)["chief"] == sent[0]


def test_mail_waiting_at_start_is_reported_only_when_asked(
    box: Mailbox, recorder: Recorder
) -> None:
    old = box.send("human", "r1", "waiting")[0]
    with MailWatcher(box, recorder.on_message, rescan_interval=NO_RESCAN):
        new = box.send("human", "r1", "fresh")[0]
        assert recorder.wait_count(1)
    assert recorder.keys() == [("r1", new.id)]

    again = Recorder()
    # start() returns after the first scan: existing mail has been reported by then.
    with MailWatcher(box, again.on_message, include_existing=True, rescan_interval=NO_RESCAN):
        assert sorted(again.keys()) == sorted([("r1", old.id), ("r1", new.id)])


def test_the_rescan_finds_mail_when_events_are_lost(box: Mailbox, recorder: Recorder) -> None:
    """Watchdog drops events when the kernel queue overflows: simulate an observer that hears nothing."""

    class DeafEmitter(EventEmitter):
        def queue_events(self, timeout: float) -> None:
            self.stopped_event.wait(timeout)

    watcher = MailWatcher(
        box,
        recorder.on_message,
        rescan_interval=0.1,
        observer_factory=lambda: BaseObserver(DeafEmitter),
    )
    with watcher:
        sent = [box.send("human", "r2", f"n{i}")[0] for i in range(20)]
        assert recorder.wait_count(20, timeout=10)
    assert recorder.keys() == [("r2", m.id) for m in sent]  # oldest first, once each


def test_a_mailbox_folder_created_later_is_watched(root: Path, recorder: Recorder) -> None:
    root.mkdir()
    with MailWatcher(root, recorder.on_message, rescan_interval=NO_RESCAN):
        message = Mailbox(root, ["newcomer"]).send("human", "newcomer", "welcome")[0]
        assert recorder.wait_count(1)
        later = Mailbox(root, ["newcomer"]).send("human", "newcomer", "again")[0]
        assert recorder.wait_count(2)
    assert recorder.keys() == [("newcomer", message.id), ("newcomer", later.id)]


def test_recipients_limit_the_watch(box: Mailbox, recorder: Recorder) -> None:
    with MailWatcher(box, recorder.on_message, recipients=["r3"], rescan_interval=0.1):
        box.send("human", "r1", "not for this watcher")
        mine = box.send("human", "r3", "for r3")[0]
        assert recorder.wait_count(1)
        box.send("human", "chief", "nor this")
        last = box.send("human", "r3", "also r3")[0]
        assert recorder.wait_count(2)
    assert recorder.keys() == [("r3", mine.id), ("r3", last.id)]


def _drop(root: Path, recipient: str, name: str, content: bytes | None) -> None:
    """Put a file into new/ atomically, as a (misbehaving) writer would."""
    tmp = root / recipient / "tmp" / name
    if content is None:
        tmp.mkdir()
    else:
        tmp.write_bytes(content)
    os.rename(tmp, root / recipient / "new" / name)


def _valid(to: str) -> Message:
    now = time.time_ns()
    return Message(
        id=new_id(now), ts=format_ts(now), sender="r1", to=to, kind="note", subject="", body="b"
    )


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("garbage", b"\x00\x01", "not a message id"),
        (None, b'{"v": 1, "id": ', "not valid JSON"),
        (None, b"{}", "missing field(s)"),
        (None, None, "a directory"),
        ("misfiled", b"", "addressed to 'r2'"),
    ],
)
def test_a_malformed_file_goes_to_bad_and_the_watcher_goes_on(
    box: Mailbox,
    root: Path,
    recorder: Recorder,
    name: str | None,
    content: bytes | None,
    reason: str,
) -> None:
    box.ensure()
    with MailWatcher(box, recorder.on_message, recorder.on_bad, rescan_interval=NO_RESCAN):
        if name == "misfiled":
            message = _valid("r2")  # a valid message in the wrong mailbox
            name, content = message.id, message.encode()
        filename = name or new_id(time.time_ns())
        _drop(root, "r1", filename, content)
        assert recorder.wait(lambda r: len(r.bad) == 1)
        good = box.send("human", "r1", "still working")[0]
        assert recorder.wait_count(1)
    [(recipient, path, why)] = recorder.bad
    assert recipient == "r1" and reason in why
    assert path == root / "r1" / "bad" / filename
    assert (root / "r1" / "bad" / f"{filename}.reason").read_text().strip() == why
    assert os.listdir(root / "r1" / "new") == [good.id]
    assert recorder.keys() == [("r1", good.id)]


def test_a_failing_callback_does_not_stop_the_watcher(box: Mailbox, recorder: Recorder) -> None:
    calls: list[str] = []

    def flaky(recipient: str, message: Message) -> None:
        calls.append(message.body)
        if message.body == "boom":
            raise RuntimeError("the app fell over")
        recorder.on_message(recipient, message)

    with MailWatcher(box, flaky, rescan_interval=NO_RESCAN) as watcher:
        box.send("human", "r1", "boom")
        after = box.send("human", "r1", "after")[0]
        assert recorder.wait_count(1)
        assert watcher.running
    assert calls == ["boom", "after"] and recorder.keys() == [("r1", after.id)]


def test_stop_from_inside_a_callback_ends_the_watcher(box: Mailbox) -> None:
    stopped = threading.Event()
    watcher: MailWatcher

    def stop_now(recipient: str, message: Message) -> None:
        watcher.stop()
        stopped.set()

    watcher = MailWatcher(box, stop_now, rescan_interval=NO_RESCAN)
    watcher.start()
    box.send("human", "r1", "please stop")
    assert stopped.wait(20)
    assert watcher._thread is not None
    watcher._thread.join(20)
    assert not watcher.running
    watcher.stop()  # twice is fine


def test_a_watcher_starts_once(box: Mailbox) -> None:
    watcher = MailWatcher(box, lambda r, m: None)
    with watcher, pytest.raises(RuntimeError, match="already started"):
        watcher.start()


def test_mail_read_before_the_watcher_got_to_it_is_still_reported(
    box: Mailbox, recorder: Recorder
) -> None:
    """The app's feed shows every message, even one its agent read within microseconds."""
    gate = threading.Event()
    first_seen = threading.Event()

    def slow(recipient: str, message: Message) -> None:
        first_seen.set()
        gate.wait(20)  # hold the watcher thread while the second message is read
        recorder.on_message(recipient, message)

    with MailWatcher(box, slow, rescan_interval=NO_RESCAN):
        first = box.send("human", "r1", "one")[0]
        assert first_seen.wait(20)
        second = box.send("human", "r1", "two")[0]
        assert box.read("r1", second.id) == second  # moved to cur/ before the watcher looks
        gate.set()
        assert recorder.wait_count(2)
    assert recorder.keys() == [("r1", first.id), ("r1", second.id)]


def test_follow_yields_arrivals_and_stops_at_its_timeout(box: Mailbox) -> None:
    box.send("human", "r1", "already here")
    arrivals = follow(box, recipients=["r1"], include_existing=True, timeout=5)
    recipient, message = next(arrivals)
    assert (recipient, message.body) == ("r1", "already here")
    sent = box.send("human", "r1", "new")[0]
    assert next(arrivals)[1] == sent
    arrivals.close()  # stops its watcher
    assert list(follow(box, recipients=["r1"], timeout=0.3)) == []


def test_reading_mail_does_not_hold_up_the_next_arrival(box: Mailbox, recorder: Recorder) -> None:
    """Watchdog holds a file moved out of a watched folder for 0.5 s to pair the move, and
    queues everything behind it: a read (new/ -> cur/) must not delay the next message.

    Five read-then-send rounds take 2.5 s or more with that delay, and milliseconds without it.
    """
    start = time.monotonic()
    with MailWatcher(box, recorder.on_message, rescan_interval=NO_RESCAN):
        for i in range(5):
            message = box.send("human", "r1", f"n{i}")[0]
            assert recorder.wait_count(i + 1)
            box.read("r1", message.id)
    assert time.monotonic() - start < 2.0
