"""`missionctl mail`: the verbs agents and people use, with the CLI's error contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from missionctl.mailbox.message import MAX_BODY_BYTES
from tests.helpers import run_cli, run_missionctl, run_python


def _files(workspace: Path) -> list[str]:
    root = workspace / ".missionctl" / "mailbox"
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def _sent_id(out: str) -> str:
    assert out.startswith("sent "), out
    return out.split()[1]


def test_send_inbox_read_round_trip(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(
        [
            "mail",
            "send",
            "--to",
            "r1",
            "--kind",
            "task",
            "--subject",
            "baseline",
            "--run",
            "r2-0001",
            "run",
            "three",
            "seeds",
        ],
        cwd=workspace,
    )
    assert code == 0, err
    message_id = _sent_id(out)
    assert out.strip().endswith("to r1")

    monkeypatch.setenv("MISSIONCTL_AGENT", "r1")
    code, out, _ = run_cli(["mail", "inbox"], cwd=workspace)
    assert (
        code == 0
        and message_id in out
        and "baseline" in out
        and "human" in out
        and "1 unread" in out
    )
    code, out, _ = run_cli(["mail", "inbox", "--json"], cwd=workspace)
    [row] = json.loads(out)
    assert row["id"] == message_id and row["from"] == "human" and row["body"] == "run three seeds"
    assert row["refs"]["runs"] == ["r2-0001"] and row["read"] is False

    code, out, _ = run_cli(["mail", "read", message_id[-6:]], cwd=workspace)
    assert code == 0
    assert (
        f"id:       {message_id}" in out
        and "kind:     task" in out
        and out.rstrip().endswith("run three seeds")
    )
    code, out, _ = run_cli(["mail", "inbox"], cwd=workspace)
    assert "no unread mail for r1" in out
    code, out, _ = run_cli(["mail", "inbox", "--all", "--json"], cwd=workspace)
    assert [r["read"] for r in json.loads(out)] == [True]


def test_sender_is_the_agent_from_the_environment_else_human(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(["mail", "send", "--to", "r2", "from the human"], cwd=workspace)
    monkeypatch.setenv("MISSIONCTL_AGENT", "r1")
    run_cli(["mail", "send", "--to", "r2", "from r1"], cwd=workspace)
    code, out, _ = run_cli(["mail", "inbox", "--agent", "r2", "--json"], cwd=workspace)
    assert [(r["from"], r["body"]) for r in json.loads(out)] == [
        ("human", "from the human"),
        ("r1", "from r1"),
    ]
    monkeypatch.setenv("MISSIONCTL_AGENT", "../../x")
    code, _, err = run_cli(["mail", "inbox"], cwd=workspace)
    assert code == 2 and "$MISSIONCTL_AGENT '../../x' is not a valid name" in err


def test_broadcast_to_all_and_to_a_role(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISSIONCTL_AGENT", "r3")
    code, out, _ = run_cli(
        ["mail", "send", "--to", "all", "--kind", "standup", "standup: softcap sweep done"],
        cwd=workspace,
    )
    assert code == 0
    assert out.strip().endswith("to r1, r2, r4, r5, r6, r7, r8, human")
    code, out, _ = run_cli(
        ["mail", "send", "--to", "researcher", "three seeds please"], cwd=workspace
    )
    assert out.strip().endswith("to r1, r2, r4, r5, r6, r7, r8")
    assert not any(f.startswith("r3/") for f in _files(workspace))


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--to", "r42", "hi"],
            "unknown recipient 'r42'; send to one of r1, r2, r3, r4, r5, r6, r7, r8, human, a role (researcher), or all",
        ),
        (["--to", "chief", "hi"], "the org has no chief to send to"),
        (["--to", "r1", ""], "the body is empty"),
        (
            ["--to", "r1", "--kind", "rumour", "hi"],
            "unknown kind 'rumour'; use one of note, task, result, claim, standup",
        ),
        (["--to", "r1", "--subject", "a\nb", "hi"], "the subject must be one line"),
        (["--to", "r1", "--run", "has space", "hi"], "'has space' is not a run id"),
        (["--to", "r1", "--reply-to", "nonsense", "hi"], "'nonsense' is not a message id"),
        (["hi"], "say who it is for with --to NAME"),
    ],
)
def test_bad_sends_exit_2_with_one_line_and_write_nothing(
    workspace: Path, argv: list[str], error: str
) -> None:
    code, out, err = run_cli(["mail", "send", *argv], cwd=workspace)
    assert code == 2 and out == ""
    assert error in err and err.count("\n") == 1
    assert _files(workspace) == []


def test_body_from_stdin_and_the_size_limit(workspace: Path) -> None:
    diff = "--- a/model.py\n+++ b/model.py\n-softcap = 15\n+softcap = 0\n"
    proc = subprocess.run(
        [sys.executable, "-m", "missionctl", "mail", "send", "--to", "r1", "--subject", "patch", "-"],
        input=diff, cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run_missionctl(
        ["mail", "read", _sent_id(proc.stdout), "--agent", "r1", "--json"], cwd=workspace
    )
    assert json.loads(proc.stdout)["body"] == diff

    before = _files(workspace)
    proc = subprocess.run(
        [sys.executable, "-m", "missionctl", "mail", "send", "--to", "r1", "-"],
        input="x" * (MAX_BODY_BYTES + 10), cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "the limit is 262,144" in proc.stderr
    assert "Traceback" not in proc.stderr and _files(workspace) == before


def test_reply_to_defaults_to_the_original_sender_and_subject(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISSIONCTL_AGENT", "r1")
    code, out, _ = run_cli(
        ["mail", "send", "--to", "r2", "--subject", "seeds?", "which seeds?"], cwd=workspace
    )
    question = _sent_id(out)
    monkeypatch.setenv("MISSIONCTL_AGENT", "r2")
    code, out, err = run_cli(["mail", "send", "--reply-to", question, "0, 1 and 2"], cwd=workspace)
    assert code == 0, err
    assert out.strip().endswith("to r1")
    monkeypatch.setenv("MISSIONCTL_AGENT", "r1")
    code, out, _ = run_cli(["mail", "read", "--next", "--json"], cwd=workspace)
    answer = json.loads(out)
    assert (
        answer["subject"] == "Re: seeds?"
        and answer["reply_to"] == question
        and answer["from"] == "r2"
    )
    code, out, _ = run_cli(["mail", "thread", question], cwd=workspace)
    assert code == 0 and out.index("which seeds?") < out.index("0, 1 and 2")
    code, out, _ = run_cli(["mail", "thread", answer["id"], "--json"], cwd=workspace)
    assert [m["body"] for m in json.loads(out)] == ["which seeds?", "0, 1 and 2"]


def test_read_next_and_its_exit_code_when_there_is_none(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli(["mail", "send", "--to", "r5", "first"], cwd=workspace)
    run_cli(["mail", "send", "--to", "r5", "second"], cwd=workspace)
    monkeypatch.setenv("MISSIONCTL_AGENT", "r5")
    bodies = [
        run_cli(["mail", "read", "--next"], cwd=workspace)[1].rstrip().rsplit("\n", 1)[-1]
        for _ in range(2)
    ]
    assert bodies == ["first", "second"]
    code, out, err = run_cli(["mail", "read", "--next"], cwd=workspace)
    assert code == 1 and out == "" and "no unread mail for r5" in err
    code, _, err = run_cli(["mail", "read"], cwd=workspace)
    assert code == 2 and "give a message ID, or --next" in err
    code, _, err = run_cli(["mail", "read", "../../etc/passwd"], cwd=workspace)
    assert code == 2 and "is not a message id" in err


def test_thread_groups_a_broadcast_into_one_message_to_many(workspace: Path) -> None:
    code, out, _ = run_cli(["mail", "send", "--to", "r1,r2", "both of you"], cwd=workspace)
    code, out, _ = run_cli(["mail", "thread", _sent_id(out)], cwd=workspace)
    assert code == 0
    assert out.count("both of you") == 1 and "to:       r1, r2" in out


def test_watch_prints_mail_as_it_arrives(workspace: Path) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "missionctl", "mail", "watch", "--agent", "r1", "--existing", "--count", "1", "--timeout", "60", "--json"],
        cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # --existing: whether the send lands before or after the watch starts, it is printed once.
    code, out, _ = run_cli(
        ["mail", "send", "--to", "r1", "--subject", "ping", "are you there"], cwd=workspace
    )
    assert code == 0
    stdout, stderr = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, stderr
    [line] = stdout.splitlines()
    assert json.loads(line)["id"] == _sent_id(out)
    proc = run_missionctl(["mail", "watch", "--timeout", "0.3"], cwd=workspace)
    assert proc.returncode == 1 and proc.stdout == ""


def test_mail_send_imports_neither_textual_nor_torch_nor_watchdog(workspace: Path) -> None:
    code = (
        "import sys\n"
        "from missionctl import cli\n"
        "rc = cli.main(['mail', 'send', '--to', 'r1', 'light'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'torch', 'watchdog', 'rich', 'numpy'})\n"
        "print(rc, heavy)\n"
    )
    proc = run_python(code, cwd=workspace)
    assert proc.stdout.splitlines()[-1] == "0 []"


def test_unknown_agent_for_inbox_lists_the_recipients(workspace: Path) -> None:
    code, _, err = run_cli(["mail", "inbox", "--agent", "r9"], cwd=workspace)
    assert (
        code == 2
        and "'r9' has no mailbox; the recipients are r1, r2, r3, r4, r5, r6, r7, r8, human" in err
    )


def test_reading_someone_elses_mail_leaves_it_unread(workspace: Path) -> None:
    from missionctl.mailbox import Mailbox
    from missionctl.workspace import Workspace

    box = Mailbox.for_workspace(Workspace(workspace))
    box.send("chief", "r2", "run seed 2", subject="task")
    proc = run_missionctl(["mail", "read", "--next", "--agent", "r2"], cwd=workspace,
                          env={"MISSIONCTL_AGENT": "r1"})  # fmt: skip
    assert proc.returncode == 0 and "run seed 2" in proc.stdout
    assert box.unread_count("r2") == 1  # r2 will still be told, and can still read it


def test_send_without_a_body_never_waits_on_stdin(workspace: Path) -> None:
    # A pipe that stays open: reading it would hang until the timeout.
    with subprocess.Popen(
        [sys.executable, "-m", "missionctl", "mail", "send", "--to", "r1"],
        cwd=workspace, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    ) as child:  # fmt: skip
        try:
            _, err = child.communicate(timeout=20)
        finally:
            child.kill()
    assert child.returncode == 2 and "'-'" in err


def test_a_fifo_in_new_is_rejected_not_waited_on(workspace: Path) -> None:
    import os

    from missionctl.mailbox.message import new_id

    fifo_dir = workspace / ".missionctl" / "mailbox" / "r3" / "new"
    fifo_dir.mkdir(parents=True, exist_ok=True)
    name = new_id(1_800_000_000_000_000_000)
    os.mkfifo(fifo_dir / name)
    proc = run_missionctl(["mail", "inbox", "--agent", "r3"], cwd=workspace, timeout=30)
    assert proc.returncode == 0
    assert "no unread mail" in proc.stdout or name not in proc.stdout


def test_control_characters_in_mail_are_shown_not_obeyed() -> None:
    from missionctl.mailbox.cli import _visible

    assert (
        _visible("ok\x1b]0;pwned\x07\x1b[2J\ttab\nline")
        == "ok\\x1b]0;pwned\\x07\\x1b[2J\ttab\nline"
    )
