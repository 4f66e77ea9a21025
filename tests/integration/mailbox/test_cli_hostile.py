"""`missionctl mail` against hostile mail and a tampered mailbox (issue 12, bug 15), through
the real CLI: escape sequences in piped output, symlinked folders, a `cur/` that cannot
take the message."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_missionctl

# Retitle the terminal, clear the screen, write the clipboard (OSC 52), and a C1 CSI.
HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07 \u009b31m done\r\n"
AS_R1 = {"MISSIONCTL_AGENT": "r1"}


def _send(workspace: Path, body: str, *extra: str) -> str:
    proc = run_missionctl(["mail", "send", "--to", "r1", *extra, "-"], workspace, input=body)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[1]


def _no_controls(text: str) -> bool:
    return not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_read_escapes_control_sequences_when_piped(workspace: Path) -> None:
    message_id = _send(workspace, HOSTILE, "--subject", "results")
    proc = run_missionctl(["mail", "read", message_id], workspace, env=AS_R1)
    assert proc.returncode == 0, proc.stderr
    assert _no_controls(proc.stdout), repr(proc.stdout)
    assert "\\x1b]0;pwned\\x07" in proc.stdout and "\\x9b31m" in proc.stdout
    thread = run_missionctl(["mail", "thread", message_id], workspace)
    assert thread.returncode == 0 and _no_controls(thread.stdout)
    as_json = run_missionctl(["mail", "read", "--json", message_id], workspace, env=AS_R1)
    assert as_json.returncode == 0 and _no_controls(as_json.stdout)
    assert json.loads(as_json.stdout)["body"] == HOSTILE  # escaped as JSON, not altered


def test_read_raw_passes_the_body_as_sent(workspace: Path) -> None:
    message_id = _send(workspace, HOSTILE)
    proc = run_missionctl(["mail", "read", "--raw", message_id], workspace, env=AS_R1)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b]0;pwned\x07" in proc.stdout


@pytest.mark.parametrize("linked", ["r1", "r1/new", "r1/tmp"])
def test_send_refuses_a_symlinked_mailbox_folder(
    workspace: Path, tmp_path: Path, linked: str
) -> None:
    _send(workspace, "makes the folders")
    mailbox = workspace / ".missionctl" / "mailbox"
    elsewhere = tmp_path / "elsewhere"
    for sub in ("tmp", "new", "cur"):
        (elsewhere / sub).mkdir(parents=True)
    target = mailbox / linked
    os.rename(target, tmp_path / "moved-away")
    target.symlink_to(elsewhere if linked == "r1" else elsewhere / linked.split("/")[1])
    proc = run_missionctl(["mail", "send", "--to", "r1", "second"], workspace)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "symbolic link" in proc.stderr and str(target) in proc.stderr
    assert not any(p.is_file() for p in elsewhere.rglob("*"))


def test_read_next_says_why_it_cannot_take_a_message(workspace: Path) -> None:
    message_id = _send(workspace, "for r1")
    cur = workspace / ".missionctl" / "mailbox" / "r1" / "cur"
    cur.rmdir()
    cur.write_text("not a folder")  # root can write anywhere: this rename fails for root too
    proc = run_missionctl(["mail", "read", "--next"], workspace, env=AS_R1)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no unread mail" not in proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and message_id in line and str(cur) in line
    assert (workspace / ".missionctl" / "mailbox" / "r1" / "new" / message_id).is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_next_says_cur_is_not_writable(workspace: Path) -> None:
    _send(workspace, "for r1")
    cur = workspace / ".missionctl" / "mailbox" / "r1" / "cur"
    cur.chmod(0o500)
    try:
        proc = run_missionctl(["mail", "read", "--next"], workspace, env=AS_R1)
    finally:
        cur.chmod(0o700)
    assert proc.returncode == 2 and "Permission denied" in proc.stderr
