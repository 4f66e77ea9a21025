"""The runtime folder is the user's alone whatever the umask (issue 12, bug 13), through
the real CLI: `init`, mail and a real training run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git


def _as_user(
    cwd: Path, argv: list[str], umask: int, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        preexec_fn=lambda: os.umask(umask),
    )


def _missionctl(*argv: str) -> list[str]:
    return [sys.executable, "-m", "missionctl", *argv]


def _loose(root: Path) -> list[str]:
    """Everything under `root` (itself included) that anyone but the owner may touch."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {mode:04o}")
    return found


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022], ids=lambda m: f"umask{m:03o}")
def test_runtime_files_are_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "lab"
    proc = _as_user(tmp_path, _missionctl("init", "--git-init", str(root)), umask)
    assert proc.returncode == 0, proc.stderr
    runtime = root / ".missionctl"
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
    proc = _as_user(root, _missionctl("mail", "send", "--to", "r1", "hello"), umask)
    assert proc.returncode == 0, proc.stderr
    train = [
        sys.executable, "-m", "missionctl.train", "--preset", "cpu-tiny", "--threads", "1",
        "--budget", "steps=2", "--run-id", "perm-run",
    ]  # fmt: skip
    proc = _as_user(root, train, umask, MISSIONCTL_WORKSPACE=str(root), MISSIONCTL_AGENT="r1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = runtime / "runs" / "perm-run"
    assert {p.name for p in run.iterdir()} >= {"config.json", "metrics.jsonl", "diff.patch"}
    assert _loose(runtime) == []


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757], ids=lambda m: f"{m:04o}")
@pytest.mark.parametrize(
    "argv",
    [["mail", "inbox"], ["mail", "send", "--to", "r1", "hi"], ["runs"], ["init"]],
    ids=["inbox", "send", "runs", "init"],
)
def test_a_runtime_folder_others_can_write_is_refused(
    workspace: Path, argv: list[str], mode: int
) -> None:
    runtime = workspace / ".missionctl"
    os.chmod(runtime, mode)
    proc = _as_user(workspace, _missionctl(*argv), 0o022)
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "can be written by other users" in lines[0] and f"chmod 700 {runtime}" in lines[0]
    assert stat.S_IMODE(runtime.stat().st_mode) == mode  # judged, not silently changed
    assert not (runtime / "mailbox" / "r1" / "new").exists() or not any(
        (runtime / "mailbox" / "r1" / "new").iterdir()
    )


def test_a_runtime_folder_others_can_only_read_is_made_private(workspace: Path) -> None:
    runtime = workspace / ".missionctl"
    os.chmod(runtime, 0o755)  # what an older missionctl left under umask 022
    proc = _as_user(workspace, _missionctl("mail", "inbox"), 0o022)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_init_makes_the_runtime_folder_private_and_ignored(repo: Path) -> None:
    proc = _as_user(repo, _missionctl("init"), 0o000)
    assert proc.returncode == 0, proc.stderr
    assert ".missionctl/ (private to you: mode 0700)" in proc.stdout
    assert stat.S_IMODE((repo / ".missionctl").stat().st_mode) == 0o700
    assert ".missionctl" not in git(repo, "status", "--porcelain")
