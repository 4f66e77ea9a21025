"""Issue 4's acceptance: many real writer processes, a SIGKILLed writer, a late watcher.

Every writer is a separate Python process using the real store; the watcher is the
real one with watchdog (inotify). Expected sets come from what the writers report
they sent, and are compared with what is on disk and what the watcher reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from missionctl.mailbox import Mailbox, MailWatcher, Message
from missionctl.mailbox.store import clean_stale_tmp
from tests.integration.mailbox.conftest import Recorder

WRITER = Path(__file__).with_name("writer.py")
RECIPIENTS = ["r1", "r2", "r3", "r4"]


def _start_writers(
    root: Path, out: Path, writers: int, count: int
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    started = []
    for i in range(writers):
        sent = out / f"w{i}.sent"
        cmd = [
            sys.executable,
            str(WRITER),
            "burst",
            str(root),
            f"w{i}",
            str(count),
            str(sent),
            *RECIPIENTS,
        ]
        started.append((subprocess.Popen(cmd), sent))
    return started


def _finish(
    writers: list[tuple[subprocess.Popen[bytes], Path]], timeout: float = 240
) -> set[tuple[str, str]]:
    expected: list[tuple[str, str]] = []
    for proc, sent in writers:
        assert proc.wait(timeout) == 0
        for line in sent.read_text().splitlines():
            recipient, message_id = line.split()
            expected.append((recipient, message_id))
    assert len(expected) == len(set(expected))
    return set(expected)


def _on_disk(root: Path) -> list[tuple[str, str]]:
    return [(name, f) for name in sorted(os.listdir(root)) for f in os.listdir(root / name / "new")]


def _assert_exactly_once(recorder: Recorder, expected: set[tuple[str, str]]) -> None:
    assert recorder.wait(lambda r: len(r.messages) >= len(expected), timeout=60), (
        f"the watcher reported {len(recorder.messages)} of {len(expected)} messages"
    )
    seen = recorder.keys()
    duplicated = [k for k, n in Counter(seen).items() if n > 1]
    assert duplicated == []
    assert set(seen) == expected
    assert recorder.bad == []


@pytest.mark.slow
def test_eight_writers_of_two_thousand_messages_lose_and_duplicate_nothing(
    root: Path, tmp_path: Path
) -> None:
    Mailbox(root, RECIPIENTS).ensure()
    recorder = Recorder()
    with MailWatcher(root, recorder.on_message, recorder.on_bad):
        expected = _finish(_start_writers(root, tmp_path, writers=8, count=2000))
        # 2,000 sends each; every 10th is a broadcast to the four agents and the human.
        assert len(expected) == 8 * (1800 + 200 * 5)
        _assert_exactly_once(recorder, expected)
    on_disk = _on_disk(root)
    assert len(on_disk) == len(set(on_disk)) and set(on_disk) == expected
    assert all(os.listdir(root / name / "tmp") == [] for name in os.listdir(root))


def test_a_watcher_started_while_writers_write_misses_nothing(root: Path, tmp_path: Path) -> None:
    Mailbox(root, RECIPIENTS).ensure()
    writers = _start_writers(root, tmp_path, writers=4, count=600)
    deadline = time.monotonic() + 60
    while len(_on_disk(root)) < 300:  # the writers are well under way
        assert time.monotonic() < deadline, "the writers did not start"
    recorder = Recorder()
    with MailWatcher(root, recorder.on_message, recorder.on_bad, include_existing=True):
        expected = _finish(writers)
        _assert_exactly_once(recorder, expected)


def test_a_late_watcher_without_existing_mail_reports_exactly_what_came_after(
    root: Path, tmp_path: Path
) -> None:
    Mailbox(root, RECIPIENTS).ensure()
    writers = _start_writers(root, tmp_path, writers=4, count=600)
    deadline = time.monotonic() + 60
    while len(_on_disk(root)) < 300:
        assert time.monotonic() < deadline, "the writers did not start"
    recorder = Recorder()
    before = set(_on_disk(root))
    with MailWatcher(root, recorder.on_message, recorder.on_bad, include_existing=False):
        at_start = set(_on_disk(root))
        expected = _finish(writers)
        assert recorder.wait(lambda r: len(r.messages) >= len(expected - at_start), timeout=60)
        reported = recorder.keys()
    assert len(reported) == len(set(reported))
    # What was there before start() is never reported; what was not there once
    # start() had returned always is; the few that landed during start() may go either way.
    assert not set(reported) & before
    assert expected - at_start <= set(reported)
    assert set(reported) <= expected


def test_a_writer_killed_mid_write_never_shows_a_partial_message(
    root: Path, tmp_path: Path
) -> None:
    """SIGKILL a writer of 200 KiB messages while its file is in tmp/, five times over."""
    body_size = 200 * 1024
    Mailbox(root, ["r1"]).ensure()
    tmp_dir = root / "r1" / "tmp"
    recorder = Recorder()
    killed_mid_write = 0
    printed: list[str] = []
    with MailWatcher(root, recorder.on_message, recorder.on_bad):
        for _ in range(5):
            litter = set(os.listdir(tmp_dir))  # earlier rounds' leftovers
            proc = subprocess.Popen(
                [sys.executable, str(WRITER), "forever", str(root), "w0", "r1", str(body_size)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            printed.append(proc.stdout.readline().strip())  # one message fully sent
            deadline = time.monotonic() + 30
            while True:
                assert time.monotonic() < deadline, "never caught the writer mid-write"
                if not set(os.listdir(tmp_dir)) - litter:
                    continue
                # Freeze it, and check it is still mid-write before the kill.
                proc.send_signal(signal.SIGSTOP)
                if set(os.listdir(tmp_dir)) - litter:
                    break
                proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(30)
            printed += proc.stdout.read().split()
            proc.stdout.close()
            killed_mid_write += len(set(os.listdir(tmp_dir)) - litter)
        # Everything renamed into new/ is a complete message, and the watcher saw it whole.
        in_new = os.listdir(root / "r1" / "new")
        assert recorder.wait(lambda r: len(r.messages) >= len(in_new), timeout=30)
    assert killed_mid_write == 5
    for name in in_new:
        message = Message.decode((root / "r1" / "new" / name).read_bytes())
        assert len(message.body) == body_size
    assert recorder.bad == []
    assert {m.id for _, m in recorder.messages} == set(in_new)
    assert all(len(m.body) == body_size for _, m in recorder.messages)
    assert set(printed) <= set(in_new)  # every send that returned was delivered
    # The crashed writers' leftovers are litter for the stale-tmp cleaner.
    leftovers = os.listdir(tmp_dir)
    assert len(leftovers) == 5
    assert len(clean_stale_tmp(root, max_age=0)) == 5 and os.listdir(tmp_dir) == []
