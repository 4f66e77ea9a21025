"""Agent worktrees with real git: create, list, diff, merge, clean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import git, run_cli, run_missionctl


def _commit_in(tree: Path, name: str, text: str, message: str = "work") -> None:
    (tree / name).write_text(text)
    git(tree, "add", name)
    git(tree, "commit", "-q", "-m", message)


def _list(workspace: Path) -> dict[str, dict[str, object]]:
    code, out, err = run_cli(["worktrees", "list", "--json"], cwd=workspace)
    assert code == 0, err
    return {row["agent"]: row for row in json.loads(out)}


def test_fresh_workspace_lists_eight_agents_without_worktrees(workspace: Path) -> None:
    rows = _list(workspace)
    assert list(rows) == [f"r{i}" for i in range(1, 9)]
    assert all(not r["exists"] and not r["branch_exists"] for r in rows.values())


def test_create_all_makes_eight_real_worktrees_on_eight_branches(workspace: Path) -> None:
    code, out, err = run_cli(["worktrees", "create", "--all"], cwd=workspace)
    assert code == 0, err
    porcelain = git(workspace, "worktree", "list", "--porcelain")
    branches = {
        line.split("refs/heads/")[1]
        for line in porcelain.splitlines()
        if line.startswith("branch ")
    }
    assert branches == {"main"} | {f"lab/r{i}" for i in range(1, 9)}
    for i in range(1, 9):
        tree = workspace / ".missionctl" / "worktrees" / f"r{i}"
        assert git(tree, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"lab/r{i}"
        assert (tree / "org" / "org.toml").is_file()
    # Idempotent: a second create makes nothing and keeps the agents' work.
    (workspace / ".missionctl/worktrees/r1/notes.txt").write_text("keep me")
    code, out, _ = run_cli(["worktrees", "create", "--all"], cwd=workspace)
    assert code == 0 and out.count("already there") == 8
    assert (workspace / ".missionctl/worktrees/r1/notes.txt").read_text() == "keep me"
    # The main checkout does not see the worktrees as untracked files.
    assert git(workspace, "status", "--porcelain") == ""


def test_list_reports_ahead_behind_dirty_and_diffstat(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1", "r2"], cwd=workspace)
    r1 = workspace / ".missionctl/worktrees/r1"
    _commit_in(r1, "a.py", "x = 1\ny = 2\n")
    _commit_in(r1, "b.py", "z = 3\n")
    (r1 / "a.py").write_text("x = 1\n")  # uncommitted: one line removed
    _commit_in(workspace, "base.txt", "moved on\n")
    rows = _list(workspace)
    assert rows["r1"]["ahead"] == 2 and rows["r1"]["behind"] == 1
    assert rows["r1"]["dirty"] is True
    assert (rows["r1"]["files_changed"], rows["r1"]["insertions"], rows["r1"]["deletions"]) == (
        2,
        2,
        0,
    )
    assert rows["r2"]["ahead"] == 0 and rows["r2"]["behind"] == 1 and rows["r2"]["dirty"] is False
    assert rows["r3"]["exists"] is False


def test_diff_shows_commits_and_uncommitted_edits(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1"], cwd=workspace)
    r1 = workspace / ".missionctl/worktrees/r1"
    _commit_in(r1, "model.py", "softcap = 15\n")
    (r1 / "model.py").write_text("softcap = 0\n")
    (r1 / "scratch.txt").write_text("?")
    proc = run_missionctl(["worktrees", "diff", "r1"], cwd=workspace)
    assert proc.returncode == 0
    assert "+softcap = 0" in proc.stdout and "model.py" in proc.stdout
    assert "scratch.txt" in proc.stderr


def test_merge_brings_the_agents_work_into_base(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1"], cwd=workspace)
    _commit_in(workspace / ".missionctl/worktrees/r1", "result.md", "softcap off is fine\n")
    code, _out, err = run_cli(["worktrees", "merge", "r1"], cwd=workspace)
    assert code == 0, err
    assert (workspace / "result.md").read_text() == "softcap off is fine\n"
    assert "Merge r1's work" in git(workspace, "log", "-1", "--format=%s")
    code, _, err = run_cli(["worktrees", "merge", "r1"], cwd=workspace)
    assert code == 2 and "already merged" in err


def test_merge_conflict_aborts_and_keeps_both_branches(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1"], cwd=workspace)
    r1 = workspace / ".missionctl/worktrees/r1"
    _commit_in(r1, "shared.txt", "agent's version\n")
    _commit_in(workspace, "shared.txt", "human's version\n")
    base_before = git(workspace, "rev-parse", "main")
    branch_before = git(workspace, "rev-parse", "lab/r1")
    code, _, err = run_cli(["worktrees", "merge", "r1"], cwd=workspace)
    assert code == 2
    assert "conflicts in shared.txt" in err and "aborted" in err
    assert git(workspace, "rev-parse", "main") == base_before
    assert git(workspace, "rev-parse", "lab/r1") == branch_before
    assert git(workspace, "status", "--porcelain") == ""
    assert (workspace / "shared.txt").read_text() == "human's version\n"


def test_merge_refuses_detached_or_dirty_base(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1"], cwd=workspace)
    _commit_in(workspace / ".missionctl/worktrees/r1", "x.txt", "x\n")
    (workspace / "README.md").write_text("edited\n")
    code, _, err = run_cli(["worktrees", "merge", "r1"], cwd=workspace)
    assert code == 2 and "uncommitted changes" in err
    git(workspace, "checkout", "-q", "README.md")
    git(workspace, "checkout", "-q", "--detach")
    code, _, err = run_cli(["worktrees", "merge", "r1"], cwd=workspace)
    assert code == 2 and "detached HEAD" in err and "git switch main" in err


def test_clean_refuses_unsaved_work_unless_forced(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1", "r2"], cwd=workspace)
    r1 = workspace / ".missionctl/worktrees/r1"
    (r1 / "wip.txt").write_text("not committed\n")
    code, _, err = run_cli(["worktrees", "clean", "r1"], cwd=workspace)
    assert code == 2 and "--force" in err and r1.is_dir()
    git(r1, "add", "wip.txt")
    git(r1, "commit", "-q", "-m", "wip")
    code, _, err = run_cli(["worktrees", "clean", "r1"], cwd=workspace)
    assert code == 2 and "not merged" in err and r1.is_dir()
    code, out, err = run_cli(["worktrees", "clean", "r1", "--force"], cwd=workspace)
    assert code == 0, err
    assert not r1.exists()
    assert git(workspace, "branch", "--list", "lab/r1") == ""
    # A merged, clean worktree goes without --force.
    code, out, err = run_cli(["worktrees", "clean", "r2"], cwd=workspace)
    assert code == 0, err
    assert "removed worktree" in out and "removed branch lab/r2" in out


def test_create_after_clean_and_after_a_deleted_folder(workspace: Path) -> None:
    run_cli(["worktrees", "create", "r1"], cwd=workspace)
    r1 = workspace / ".missionctl/worktrees/r1"
    _commit_in(r1, "keep.txt", "kept on the branch\n")
    shutil.rmtree(r1)  # the folder vanished; the branch did not
    code, _, err = run_cli(["worktrees", "create", "r1"], cwd=workspace)
    assert code == 0, err
    assert (r1 / "keep.txt").read_text() == "kept on the branch\n"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["worktrees", "create", "r9"], "unknown agent 'r9'"),
        (["worktrees", "create", "../evil"], "unknown agent"),
        (["worktrees", "diff", "r1"], "no branch yet"),
        (["worktrees", "clean", "r1"], "nothing to clean"),
        (["worktrees", "create"], "--all"),
    ],
)
def test_worktree_user_errors(workspace: Path, argv: list[str], needle: str) -> None:
    code, _, err = run_cli(argv, cwd=workspace)
    assert code == 2 and needle in err
    assert not (workspace / "evil").exists()


def test_base_branch_without_commits_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    run_cli(["init"], cwd=root)
    code, _, err = run_cli(["worktrees", "create", "r1"], cwd=root)
    assert code == 2 and "no commits yet" in err


def test_missing_git_is_a_clear_error(workspace: Path, tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    proc = run_missionctl(["worktrees", "list"], cwd=workspace, env={"PATH": str(empty_bin)})
    assert proc.returncode == 2
    assert "'git' was not found" in proc.stderr and "install git" in proc.stderr
