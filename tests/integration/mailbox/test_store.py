"""The Maildir store on real files: atomic delivery, read state, threads, safety, cleanup."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from missionctl.errors import UserError
from missionctl.mailbox import Mailbox
from missionctl.mailbox.message import MAX_BODY_BYTES
from missionctl.mailbox.store import clean_stale_tmp, mailbox_names, quarantine
from tests.integration.mailbox.conftest import AGENTS

WRITER = Path(__file__).with_name("writer.py")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_send_writes_one_json_file_into_new_and_nothing_in_tmp(box: Mailbox, root: Path) -> None:
    [message] = box.send("human", "r1", "try softcap 0", kind="task", subject="next", runs=["r9-1"])
    assert _tree(root) == [f"r1/new/{message.id}"]
    path = root / "r1" / "new" / message.id
    data = json.loads(path.read_text())
    assert data["from"] == "human" and data["to"] == "r1" and data["kind"] == "task"
    assert data["refs"] == {"runs": ["r9-1"], "experiment": None} and data["reply_to"] is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {p.name for p in (root / "r1").iterdir()} == {"tmp", "new", "cur"}


def test_broadcast_writes_one_copy_per_recipient_never_to_the_sender(
    box: Mailbox, root: Path
) -> None:
    sent = box.send("r2", "all", "standup at noon", kind="standup")
    assert [m.to for m in sent] == ["chief", "r1", "r3", "human"]
    assert len({m.id for m in sent}) == 1
    assert _tree(root) == sorted(f"{n}/new/{sent[0].id}" for n in ("chief", "r1", "r3", "human"))
    to_role = box.send("chief", "researcher", "everyone: three seeds")
    assert [m.to for m in to_role] == ["r1", "r2", "r3"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"to": "r9", "body": "hi"}, "unknown recipient 'r9'"),
        ({"to": "r1", "body": ""}, "the body is empty"),
        ({"to": "r1", "body": "x" * (MAX_BODY_BYTES + 1)}, "the limit is 262,144"),
        ({"to": "r1", "body": "hi", "kind": "gossip"}, "unknown kind 'gossip'"),
        ({"to": "r1", "body": "hi", "subject": "a\nb"}, "one line"),
        ({"to": "r1", "body": "hi", "reply_to": "../../x"}, "not a message id"),
        ({"to": ["r1", "nobody"], "body": "hi"}, "unknown recipient 'nobody'"),
    ],
)
def test_bad_mail_is_refused_and_nothing_is_written(
    box: Mailbox, root: Path, kwargs: dict[str, object], error: str
) -> None:
    with pytest.raises(UserError, match=error):
        box.send("human", **kwargs)  # type: ignore[arg-type]
    assert _tree(root) == []


def test_a_body_of_exactly_the_limit_is_accepted(box: Mailbox) -> None:
    [message] = box.send("human", "r1", "y" * MAX_BODY_BYTES)
    assert box.read("r1", message.id).body == "y" * MAX_BODY_BYTES


def test_bad_sender_name_is_refused(box: Mailbox, root: Path) -> None:
    with pytest.raises(UserError, match=r"sender '\.\./r1' is not a valid name"):
        box.send("../r1", "r1", "hi")
    assert _tree(root) == []


def test_inbox_read_and_read_state(box: Mailbox, root: Path) -> None:
    first = box.send("r1", "chief", "one")[0]
    second = box.send("r2", "chief", "two")[0]
    assert box.unread_count("chief") == 2
    assert [m.body for m in box.inbox("chief")] == ["one", "two"]
    assert box.read("chief", second.id) == second
    assert (root / "chief" / "cur" / f"{second.id}:2,S").is_file()
    assert not (root / "chief" / "new" / second.id).exists()
    assert box.unread_count("chief") == 1
    assert box.inbox("chief") == [first]
    everything = box.envelopes("chief", include_read=True)
    assert [(e.message.id, e.read) for e in everything] == [(first.id, False), (second.id, True)]
    # Reading again is fine; it stays read.
    assert box.read("chief", second.id) == second
    box.mark_read("chief", first.id)
    assert box.unread_count("chief") == 0 and box.read_next("chief") is None


def test_read_next_takes_the_oldest_first(box: Mailbox) -> None:
    ids = [box.send("human", "r3", f"n{i}")[0].id for i in range(5)]
    assert [box.read_next("r3").id for _ in range(5)] == ids  # type: ignore[union-attr]
    assert box.read_next("r3") is None


def test_a_short_start_or_end_of_the_id_finds_the_message(box: Mailbox) -> None:
    message = box.send("human", "r1", "hello")[0]
    other = box.send("human", "r1", "again")[0]
    assert box.read("r1", message.id[-6:].upper()) == message
    with pytest.raises(UserError, match="matches 2 messages"):
        # Ids made moments apart share their start (the time).
        shared = next(
            i for i, (a, b) in enumerate(zip(message.id, other.id, strict=True)) if a != b
        )
        box.read("r1", message.id[:shared])
    with pytest.raises(UserError, match="no message zzzzzz in r1's mailbox"):
        box.read("r1", "zzzzzz")


@pytest.mark.parametrize("bad", ["../../etc/passwd", "new/x", "", "ABC!"])
def test_ids_from_users_never_make_paths(box: Mailbox, bad: str) -> None:
    box.send("human", "r1", "hello")
    with pytest.raises(UserError, match="is not a message id"):
        box.read("r1", bad)
    with pytest.raises(UserError, match="is not a message id"):
        box.thread(bad)


def test_thread_follows_replies_up_to_the_root_and_down_to_every_reply(box: Mailbox) -> None:
    root_msg = box.send("chief", "researcher", "who takes softcap?", kind="task")[0]
    claim = box.send("r1", "chief", "me", kind="claim", reply_to=root_msg.id)[0]
    done = box.send("chief", "r1", "go", reply_to=claim.id)[0]
    other = box.send("r2", "chief", "me too", reply_to=root_msg.id)[0]
    box.send("r3", "chief", "unrelated")
    box.read("r1", root_msg.id)  # read mail belongs to the thread as well
    thread = box.thread(done.id[-8:])
    task = [(root_msg.id, r) for r in ("r1", "r2", "r3")]  # one copy a researcher
    replies = [(claim.id, "chief"), (done.id, "r1"), (other.id, "chief")]
    assert [(m.id, m.to) for m in thread] == task + replies
    assert box.thread(root_msg.id) == thread


def test_original_finds_the_message_being_answered(box: Mailbox) -> None:
    message = box.send("r1", "r2", "question")[0]
    assert box.original("r2", message.id) == message
    box.read("r2", message.id)
    assert box.original("r2", message.id) == message
    assert box.original("r3", message.id) is None
    assert box.original("r2", "../x") is None


def test_malformed_files_are_skipped_by_listings(box: Mailbox, root: Path) -> None:
    good = box.send("human", "r1", "fine")[0]
    (root / "r1" / "new" / "notes.txt").write_text("not mail")
    (root / "r1" / "new" / ".hidden").write_text("ignored by Maildir")
    assert box.inbox("r1") == [good]
    assert box.unread_count("r1") == 2  # a listdir: the watcher quarantines the junk


def test_quarantine_moves_the_file_to_bad_with_its_reason(box: Mailbox, root: Path) -> None:
    box.ensure(["r1"])
    for _ in range(2):
        (root / "r1" / "new" / "junk").write_text("{")
        quarantine(root, "r1", "junk", "not valid JSON")
    assert sorted(p.name for p in (root / "r1" / "bad").iterdir()) == [
        "junk",
        "junk.1",
        "junk.1.reason",
        "junk.reason",
    ]
    assert (root / "r1" / "bad" / "junk.reason").read_text() == "not valid JSON\n"
    with pytest.raises(FileNotFoundError):
        quarantine(root, "r1", "junk", "gone")
    with pytest.raises(ValueError):
        quarantine(root, "r1", "../r2", "escape")


def test_stale_tmp_files_are_cleaned_after_the_age_limit(box: Mailbox, root: Path) -> None:
    box.ensure()
    stale = root / "r1" / "tmp" / "crashed-writer"
    fresh = root / "r2" / "tmp" / "writing-now"
    stale.write_text("{half")
    fresh.write_text("{half")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert clean_stale_tmp(root, max_age=600) == [stale]
    assert not stale.exists() and fresh.exists()
    assert box.clean_tmp(max_age=0) == [fresh]


def test_a_write_failure_sends_nothing_to_anyone(box: Mailbox, root: Path) -> None:
    box.ensure()
    (root / "r3" / "tmp").rmdir()
    (root / "r3" / "tmp").write_text("not a folder")  # r3's copy cannot be written
    with pytest.raises(UserError, match=r"could not write mail .* nothing was sent"):
        box.send("human", "all", "hello")
    assert _tree(root) == ["r3/tmp"]


def test_a_broken_new_folder_is_reported_with_who_got_the_mail(box: Mailbox, root: Path) -> None:
    box.ensure()
    (root / "r3" / "new").rmdir()
    (root / "r3" / "new").write_text("not a folder")
    with pytest.raises(UserError, match=r"could not deliver mail to r3.*delivered to: chief, r1"):
        box.send("r2", "all", "hello")
    assert [p.split("/")[0] for p in _tree(root) if "/new/" in p] == ["chief", "r1"]
    assert not any("/tmp/" in p for p in _tree(root))


def test_two_readers_of_one_mailbox_never_get_the_same_message(
    box: Mailbox, root: Path, tmp_path: Path
) -> None:
    ids = {m.id for _ in range(300) for m in box.send("human", "r1", "work item")}
    stop = tmp_path / "stop"
    stop.touch()  # nothing more is coming: drain and exit
    outs = [tmp_path / f"reader{i}.txt" for i in range(2)]
    readers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), "reader", str(root), "r1", str(out), str(stop)]
        )
        for out in outs
    ]
    for reader in readers:
        assert reader.wait(60) == 0
    got = [line for out in outs for line in out.read_text().split()]
    assert len(got) == len(set(got)) == 300
    assert set(got) == ids
    assert box.unread_count("r1") == 0 and len(os.listdir(root / "r1" / "cur")) == 300


def test_mailbox_from_a_bare_root_knows_its_folders(root: Path) -> None:
    Mailbox(root, AGENTS).ensure()
    assert Mailbox(root).recipients == ("chief", "human", "r1", "r2", "r3")


def test_a_symlinked_folder_in_the_root_is_not_a_mailbox(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "new").mkdir(parents=True)
    root.mkdir()
    (root / "r9").symlink_to(elsewhere)
    assert mailbox_names(root) == []
    assert Mailbox(root).recipients == ("human",)
